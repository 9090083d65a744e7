//! Offline frame capture: frame i shows time i / fps, drawn from the timeline and the audio
//! analysis of that moment. Shared by `somnia render`, the tests and the benchmarks.

use super::gpu::{Gpu, RenderError};
use super::mapping::stage::OutputStage;
use super::offscreen::Offscreen;
use super::renderer::{FrameInputs, Renderer, ShownCaption};
use crate::bridge::AnalysisTrack;
use crate::show::outputs::OutputMap;
use crate::show::{Diagnostic, Timeline};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// The photosensitive flash guard; on unless explicitly turned off.
    pub flash_guard: bool,
}

/// How many frames `seconds` of video has at `fps`: frame i covers [i/fps, (i+1)/fps).
pub fn frame_count(seconds: f64, fps: u32) -> u64 {
    (seconds * f64::from(fps) - 1e-9).ceil().max(0.0) as u64
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Shaders(Vec<Diagnostic>),
    #[error("writing frames failed: {0}")]
    Io(#[from] std::io::Error),
    /// The output map's stage could not be made.
    #[error(transparent)]
    Outputs(#[from] crate::render::mapping::stage::StageError),
}

/// Everything needed to draw offline frames of one timeline.
pub struct FrameRenderer {
    pub gpu: Gpu,
    renderer: Renderer,
    target: Offscreen,
    frame_interval_s: f32,
}

impl FrameRenderer {
    pub fn new(timeline: &Timeline, width: u32, height: u32) -> Result<Self, CaptureError> {
        let gpu = Gpu::headless()?;
        let mut renderer = Renderer::new(&gpu, Offscreen::FORMAT, &timeline.presets)
            .map_err(CaptureError::Shaders)?;
        // A render does not quietly swap a transition for a mix: its failure is the render's.
        let broken = renderer.set_fade_styles(&gpu, &timeline.fade_styles);
        if !broken.is_empty() {
            return Err(CaptureError::Shaders(broken));
        }
        // Offscreen targets have an sRGB twin: the flash guard works on them in place.
        renderer.set_srgb_views(true);
        let target = Offscreen::new(&gpu, width, height);
        Ok(Self {
            gpu,
            renderer,
            target,
            frame_interval_s: 1.0 / 30.0,
        })
    }

    /// The time between frames (1 / fps): the flash guard's step. Default 1/30 s.
    pub fn set_frame_interval(&mut self, seconds: f32) {
        self.frame_interval_s = seconds;
    }

    pub fn set_flash_guard(&mut self, on: bool) {
        self.renderer.set_flash_guard(&self.gpu.device, on);
    }

    /// Shows `errors` in the rehearsal overlay (empty: no overlay).
    pub fn show_errors(&mut self, errors: Vec<String>) {
        self.renderer.set_rehearsal(!errors.is_empty());
        self.renderer.set_errors(errors);
    }

    /// False makes the flash guard use its own full pass, as on a window surface that cannot
    /// be sampled (for testing that path).
    pub fn set_guard_in_place(&mut self, in_place: bool) {
        self.renderer.set_srgb_views(in_place);
    }

    /// Rebuilds the layers that use shader `path` (see [`Renderer::reload_shader`]).
    pub fn reload_shader(
        &mut self,
        timeline: &Timeline,
        path: &std::path::Path,
    ) -> Vec<Result<String, Diagnostic>> {
        self.renderer
            .reload_shader(&self.gpu, path, &timeline.presets)
    }

    /// The inputs of the frame at `time_s`.
    fn inputs(&self, timeline: &Timeline, track: &AnalysisTrack, time_s: f64) -> FrameInputs {
        let span_s = Timeline::frame_time(time_s, f64::from(self.frame_interval_s));
        FrameInputs {
            time_s,
            dt_s: self.frame_interval_s,
            musical: timeline.musical_at(time_s),
            analysis: track.at(time_s),
            visual: timeline.visual_state_at(span_s),
            captions: ShownCaption::at(timeline, span_s),
            crowd: Default::default(),
            join_code: None,
            date: crate::render::isf_layer::date_at(time_s),
        }
    }

    /// Takes `timeline` from here on (a live show's next timeline: a GO, a saved file): the
    /// layers of presets it already has are kept. Its shaders' problems, if any.
    pub fn adopt(&mut self, timeline: &Timeline) -> Vec<Diagnostic> {
        let mut broken = self.renderer.rebuild(&self.gpu, &timeline.presets);
        broken.extend(
            self.renderer
                .set_fade_styles(&self.gpu, &timeline.fade_styles),
        );
        broken
    }

    /// A live show's frame drawn again (from its journal): `timeline` at show time `show_s`,
    /// with what was steered live over it, the sound's analysis and the audience's crowd then,
    /// and the join code where the show had one (`url`, and whether always shown), as RGBA8.
    pub fn frame_replayed(
        &mut self,
        timeline: &Timeline,
        live: &crate::show::live_look::LiveLook,
        analysis: crate::bridge::Analysis,
        crowd: crate::bridge::Crowd,
        join: Option<(&std::sync::Arc<str>, bool)>,
        show_s: f64,
    ) -> Result<Vec<u8>, RenderError> {
        let span_s = Timeline::frame_time(show_s, f64::from(self.frame_interval_s));
        let (visual, captions) = ShownCaption::live_visual(timeline, live, span_s);
        // As the window has it: shown always, or as the cues fade it.
        let join_code = join.map(|(url, always)| super::renderer::JoinCodeShown {
            url: url.clone(),
            opacity: if always { 1.0 } else { visual.join_code },
        });
        let inputs = FrameInputs {
            time_s: show_s,
            dt_s: self.frame_interval_s,
            musical: timeline.musical_at(show_s),
            analysis,
            visual,
            captions,
            crowd,
            join_code,
            date: crate::render::isf_layer::date_at(show_s),
        };
        self.target.render(&self.gpu, &mut self.renderer, &inputs)
    }

    /// The frame at `time_s`, as RGBA8.
    pub fn frame_at(
        &mut self,
        timeline: &Timeline,
        track: &AnalysisTrack,
        time_s: f64,
    ) -> Result<Vec<u8>, RenderError> {
        let inputs = self.inputs(timeline, track, time_s);
        self.target.render(&self.gpu, &mut self.renderer, &inputs)
    }
}

/// Offline frames through an output map: the canvas drawn once a frame, then each output's
/// picture as its projector would show it (sliced, warped, blended, masked, guarded).
pub struct MappedFrames {
    frames: FrameRenderer,
    stage: OutputStage,
    targets: Vec<Offscreen>,
}

impl MappedFrames {
    pub fn new(
        timeline: &Timeline,
        map: &OutputMap,
        flash_guard: bool,
    ) -> Result<Self, CaptureError> {
        let (cw, ch) = map.canvas;
        let mut frames = FrameRenderer::new(timeline, cw, ch)?;
        // Each output is guarded as its projector shows it; the canvas is not.
        frames.set_flash_guard(false);
        let formats = vec![Offscreen::FORMAT; map.outputs.len()];
        let stage = OutputStage::new(&frames.gpu, map, Offscreen::FORMAT, &formats, flash_guard)?;
        let targets = map
            .outputs
            .iter()
            .map(|o| Offscreen::new(&frames.gpu, o.size.0, o.size.1))
            .collect();
        Ok(Self {
            frames,
            stage,
            targets,
        })
    }

    pub fn set_frame_interval(&mut self, seconds: f32) {
        self.frames.set_frame_interval(seconds);
    }

    /// The stage, for calibration changes between frames.
    pub fn stage_mut(&mut self) -> (&Gpu, &mut OutputStage) {
        (&self.frames.gpu, &mut self.stage)
    }

    /// Every output's frame at `time_s`, as RGBA8, in the map's order.
    pub fn frames_at(
        &mut self,
        timeline: &Timeline,
        track: &AnalysisTrack,
        time_s: f64,
    ) -> Result<Vec<Vec<u8>>, RenderError> {
        let inputs = self.frames.inputs(timeline, track, time_s);
        let gpu = &self.frames.gpu;
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        let size = self.stage.canvas_size();
        let canvas = self.stage.canvas_view().clone();
        self.frames
            .renderer
            .encode_canvas(gpu, &mut encoder, &canvas, size, &inputs);
        gpu.queue.submit([encoder.finish()]);
        let mut out = Vec::with_capacity(self.targets.len());
        for (i, target) in self.targets.iter().enumerate() {
            let stage = &mut self.stage;
            let dt_s = inputs.dt_s;
            out.push(target.render_with(gpu, |encoder, texture| {
                stage.encode(gpu, encoder, i, texture, true, dt_s);
            })?);
        }
        Ok(out)
    }
}

/// Renders every frame of `seconds` and hands each (index, RGBA8) to `sink`.
pub fn render_frames(
    timeline: &Timeline,
    track: &AnalysisTrack,
    video: VideoSettings,
    seconds: f64,
    mut sink: impl FnMut(u64, Vec<u8>) -> std::io::Result<()>,
) -> Result<(), CaptureError> {
    let mut fr = FrameRenderer::new(timeline, video.width, video.height)?;
    fr.set_frame_interval(1.0 / video.fps.max(1) as f32);
    fr.set_flash_guard(video.flash_guard);
    for i in 0..frame_count(seconds, video.fps) {
        let t = i as f64 / f64::from(video.fps);
        sink(i, fr.frame_at(timeline, track, t)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_covers_the_duration_without_an_extra_frame() {
        assert_eq!(frame_count(2.0, 30), 60);
        assert_eq!(frame_count(2.01, 30), 61);
        assert_eq!(frame_count(0.0, 30), 0);
    }
}
