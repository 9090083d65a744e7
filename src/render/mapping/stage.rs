//! The output stage on the render thread: the canvas the renderer composes the show on, and
//! for each output of the map its baked remap, its own flash guard (each projector's picture
//! is guarded as that projector shows it: a flash in one slice is a full-field flash for the
//! projector showing it) and, while calibrating, the test card with the output's name.

use super::bake::bake;
use super::output_pass::{OutputPass, OutputPipeline};
use super::test_card::{TestCard, name_item};
use crate::bridge::OutputAdjust;
use crate::render::flash_guard::FlashGuard;
use crate::render::gpu::Gpu;
use crate::render::passes::intermediate_texture;
use crate::render::text::TextPainter;
use crate::show::outputs::{OutputMap, apply, save_outputs};

struct StageOutput {
    pass: OutputPass,
    pipeline: usize,
    guard: Option<FlashGuard>,
    /// Made the first time the test card shows.
    name: Option<TextPainter>,
    /// Its mapping changed since it was baked: baked again before it is next drawn, once
    /// however many changes came in between (a calibration dragging a corner sends dozens).
    stale: bool,
}

pub struct OutputStage {
    map: OutputMap,
    canvas: wgpu::Texture,
    canvas_view: wgpu::TextureView,
    card: TestCard,
    pipelines: Vec<OutputPipeline>,
    outputs: Vec<StageOutput>,
}

/// Why the stage could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// The test card's text could not be drawn (a GPU without room for its atlas).
    #[error("the test card cannot be drawn: {0}")]
    TestCard(String),
}

impl OutputStage {
    /// A stage for `map`: the canvas in `canvas_format` (the renderer's), output `i` drawn
    /// into targets of `formats[i]`, each guarded unless `flash_guard` is false.
    pub fn new(
        gpu: &Gpu,
        map: &OutputMap,
        canvas_format: wgpu::TextureFormat,
        formats: &[wgpu::TextureFormat],
        flash_guard: bool,
    ) -> Result<Self, StageError> {
        let canvas = intermediate_texture(&gpu.device, "canvas", map.canvas, canvas_format);
        let canvas_view = canvas.create_view(&Default::default());
        let card = TestCard::new(&gpu.device, &gpu.queue, canvas_format, map.canvas)
            .map_err(StageError::TestCard)?;
        let mut pipelines: Vec<OutputPipeline> = Vec::new();
        let mut outputs = Vec::new();
        for (i, def) in map.outputs.iter().enumerate() {
            let format = formats.get(i).copied().unwrap_or(canvas_format);
            let pipeline = match pipelines.iter().position(|p| p.format == format) {
                Some(p) => p,
                None => {
                    pipelines.push(OutputPipeline::new(&gpu.device, format));
                    pipelines.len() - 1
                }
            };
            let remap = bake(def, map.canvas);
            let mut pass = OutputPass::new(
                &gpu.device,
                &gpu.queue,
                &pipelines[pipeline],
                &remap,
                def.blend.gamma,
                &canvas_view,
                Some(&card.view),
            );
            pass.set_lift(&gpu.queue, def.blend.black_lift);
            outputs.push(StageOutput {
                pass,
                pipeline,
                guard: flash_guard.then(|| FlashGuard::new(&gpu.device, format)),
                name: None,
                stale: false,
            });
        }
        Ok(Self {
            map: map.clone(),
            canvas,
            canvas_view,
            card,
            pipelines,
            outputs,
        })
    }

    pub fn map(&self) -> &OutputMap {
        &self.map
    }

    /// The outputs as the console lists them.
    pub fn report(&self) -> Vec<crate::bridge::OutputReport> {
        self.map
            .outputs
            .iter()
            .map(|o| crate::bridge::OutputReport {
                name: o.name.clone(),
                size: o.size,
                test_card: o.test_card,
                corners: o.corners,
            })
            .collect()
    }

    /// What the renderer draws the show into.
    pub fn canvas_view(&self) -> &wgpu::TextureView {
        &self.canvas_view
    }

    pub fn canvas_size(&self) -> (u32, u32) {
        (self.canvas.width(), self.canvas.height())
    }

    /// The test card's texture (for tests of the card itself).
    pub fn test_card(&self) -> &wgpu::Texture {
        &self.card.texture
    }

    /// The flash guard of output `i`, for the picture meter (the first output's stands for
    /// the show's).
    pub fn guard(&self, i: usize) -> Option<&FlashGuard> {
        self.outputs.get(i).and_then(|o| o.guard.as_ref())
    }

    /// Draws output `i` into `target`, guarded. `srgb_views`: the target may be viewed as
    /// sRGB (the guard then works in place). `dt_s` is the time this frame stands for.
    pub fn encode(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        i: usize,
        target: &wgpu::Texture,
        srgb_views: bool,
        dt_s: f32,
    ) {
        let Some(out) = self.outputs.get_mut(i) else {
            return;
        };
        let def = &self.map.outputs[i];
        if out.stale {
            out.stale = false;
            let remap = bake(def, self.map.canvas);
            out.pass.upload(&gpu.queue, &remap, def.blend.gamma);
        }
        let pipeline = &self.pipelines[out.pipeline];
        let view = target.create_view(&Default::default());
        out.pass
            .set_target(&gpu.queue, (target.width(), target.height()));
        let in_place = out
            .guard
            .as_ref()
            .is_some_and(|g| g.can_work_in_place(target.usage(), srgb_views));
        match out.guard.as_mut() {
            Some(guard) if !in_place => {
                let scene = guard
                    .scene_view(&gpu.device, &gpu.queue, (target.width(), target.height()))
                    .clone();
                out.pass.encode(pipeline, encoder, &scene, def.test_card);
                guard.present(&gpu.queue, encoder, &view, dt_s);
            }
            _ => {
                out.pass.encode(pipeline, encoder, &view, def.test_card);
                if let Some(guard) = out.guard.as_mut() {
                    guard.apply_in_place(&gpu.device, &gpu.queue, encoder, target, dt_s);
                }
            }
        }
        if def.test_card {
            let size = (target.width(), target.height());
            let painter = out
                .name
                .get_or_insert_with(|| TextPainter::new(&gpu.device, &gpu.queue, pipeline.format));
            if let Err(e) = painter.draw(
                &gpu.device,
                &gpu.queue,
                encoder,
                &view,
                size,
                &[name_item(&def.name, size)],
            ) {
                tracing::warn!(
                    "somnia: output `{}`: its name cannot be drawn: {e}",
                    def.name
                );
            }
        }
    }

    /// Carries out a live calibration change: the map changes, the outputs it touched are
    /// baked again before their next frame (or only regraded), and a save is written on a thread of its own (never
    /// half-written; the file as it was is backed up first). Refused changes change nothing
    /// and say why.
    pub fn adjust(&mut self, gpu: &Gpu, adjust: &OutputAdjust) -> Result<(), String> {
        let done = apply(&mut self.map, adjust)?;
        for &i in &done.rebake {
            self.outputs[i].stale = true;
        }
        for &i in done.rebake.iter().chain(&done.regrade) {
            let def = &self.map.outputs[i];
            self.outputs[i]
                .pass
                .set_lift(&gpu.queue, def.blend.black_lift);
        }
        if done.save {
            let map = self.map.clone();
            let spawned = std::thread::Builder::new()
                .name("somnia-save-outputs".into())
                .spawn(move || match save_outputs(&map) {
                    Ok(backup) => tracing::info!(
                        "somnia: saved the output map to {} (the old one is in {})",
                        map.path.display(),
                        backup.display()
                    ),
                    Err(e) => tracing::warn!("somnia: {e}"),
                });
            if let Err(e) = spawned {
                return Err(format!("cannot start saving: {e}"));
            }
        }
        Ok(())
    }

    /// Takes a map read again from its file (saved by hand): the values change as a
    /// calibration would. Outputs added, removed, renamed or resized, or a new canvas size,
    /// need the show started again (their windows and targets are made at the start):
    /// refused, with why, and the last good mapping stays.
    pub fn reload(&mut self, gpu: &Gpu, map: OutputMap) -> Result<(), String> {
        let same_shape = map.canvas == self.map.canvas
            && map.outputs.len() == self.map.outputs.len()
            && map
                .outputs
                .iter()
                .zip(&self.map.outputs)
                .all(|(a, b)| a.name == b.name && a.size == b.size && a.kind == b.kind);
        if !same_shape {
            return Err(
                "outputs, sizes or the canvas changed: start the show again to use them".into(),
            );
        }
        for (i, def) in map.outputs.iter().enumerate() {
            let old = &self.map.outputs[i];
            let baked = (
                &old.slices,
                &old.corners,
                &old.mesh,
                &old.blend.edges,
                &old.blend.gamma,
                &old.masks,
            ) != (
                &def.slices,
                &def.corners,
                &def.mesh,
                &def.blend.edges,
                &def.blend.gamma,
                &def.masks,
            );
            if baked {
                self.outputs[i].stale = true;
            }
            self.outputs[i]
                .pass
                .set_lift(&gpu.queue, def.blend.black_lift);
        }
        self.map = map;
        Ok(())
    }
}
