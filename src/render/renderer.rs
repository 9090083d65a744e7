//! Draws a frame. The chain, each stage skipped when it has nothing to do:
//! 1. the performance's preset (two during a crossfade, blended) — its layer shader fed the
//!    standard uniforms (clock, tempo, analysis) and its named parameters;
//! 2. the dream mosaic: each dreamer's layer, composed over (1) by `unity`, blend mode and
//!    opacity;
//! 3. the post chain (glitch, glow, trails, grade);
//! 4. the flash guard, last, on unless turned off.

use bytemuck::{Pod, Zeroable};

use super::flash_guard::FlashGuard;
use super::gpu::Gpu;
use super::isf_layer::{AudioTextures, IsfClock, IsfImages, IsfLayer};
use super::join_code::JoinCodePass;
use super::mosaic::MosaicPass;
use super::passes::{begin_pass, fullscreen_pipeline, intermediate_texture, uniform_entry};
use super::post::PostPass;
use super::shader;
use super::text::{Anchor, TextItem, TextPainter};
use crate::bridge::{Analysis, Crowd};
use crate::clock::Musical;
use crate::show::Diagnostic;
use crate::show::look::MAX_DREAMERS;
use crate::show::look::MAX_LAYER_PARAMS;
use crate::show::preset::{Preset, is_isf};
use crate::show::timeline::{CaptionPlace, Timeline, VisualState};

/// The `Somnia` struct of `common.wgsl`, byte for byte.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SomniaUniforms {
    pub resolution: [f32; 2],
    pub time_s: f32,
    pub beat: f32,
    pub bar: f32,
    pub tempo_bpm: f32,
    pub rms: f32,
    pub peak: f32,
    pub bands: [f32; 8],
    pub onset_age_s: f32,
    pub onsets: f32,
    pub detected_bpm: f32,
    pub crowd_energy: f32,
    pub crowd_agreement: f32,
    pub crowd_size: f32,
    pub _pad: [f32; 2],
}

/// A caption as one frame shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ShownCaption {
    pub text: String,
    pub place: CaptionPlace,
    pub size: f32,
    /// 0..1, from its fades.
    pub alpha: f32,
    /// How long ago it started: the newest of a place is the one shown.
    pub age_s: f64,
}

impl ShownCaption {
    /// What `timeline` shows at `span_s` with what was steered live over it (`live`): the
    /// visual state and the captions, the file's and the live ones. The live window and a
    /// journal's re-render draw the same from these.
    pub fn live_visual(
        timeline: &Timeline,
        live: &crate::show::live_look::LiveLook,
        span_s: f64,
    ) -> (crate::show::timeline::VisualState, Vec<Self>) {
        let mut visual = timeline.visual_state_at(span_s);
        live.overlay(&mut visual, span_s, timeline);
        let mut captions = Self::at(timeline, span_s);
        captions.extend(live.captions_at(span_s).map(|(c, alpha)| Self {
            text: c.text.clone(),
            place: c.place,
            size: c.size,
            alpha,
            age_s: span_s - c.start_s,
        }));
        (visual, captions)
    }

    /// The captions `timeline` shows at `time_s` (with those of a kiosk's item fading out).
    pub fn at(timeline: &Timeline, time_s: f64) -> Vec<Self> {
        let mut shown = Self::own(timeline, time_s, 1.0);
        if let Some((before, weight)) = timeline.outgoing_at(time_s) {
            shown.extend(Self::own(before, time_s, weight));
        }
        shown
    }

    fn own(timeline: &Timeline, time_s: f64, weight: f32) -> Vec<Self> {
        let score_s = timeline.score_time(time_s);
        timeline
            .captions_at(time_s)
            .map(|(c, alpha)| Self {
                text: c.text.clone(),
                place: c.place,
                size: c.size,
                alpha: alpha * weight,
                age_s: score_s - c.start_s,
            })
            .filter(|c| c.alpha > 0.0)
            .collect()
    }

    /// One caption to a place: a newer caption replaces the older ones there, which fade out
    /// as it fades in (two texts drawn over each other are unreadable). Removes what no longer
    /// shows.
    pub fn one_per_place(captions: &mut Vec<Self>) {
        let newest = |place: CaptionPlace, captions: &[Self]| {
            captions
                .iter()
                .filter(|c| c.place == place)
                .min_by(|a, b| a.age_s.total_cmp(&b.age_s))
                .map(|c| (c.age_s, c.alpha))
        };
        let winners: Vec<(CaptionPlace, f64, f32)> = [
            CaptionPlace::Top,
            CaptionPlace::Center,
            CaptionPlace::Bottom,
        ]
        .into_iter()
        .filter_map(|p| newest(p, captions).map(|(age, alpha)| (p, age, alpha)))
        .collect();
        for c in captions.iter_mut() {
            if let Some((_, age, alpha)) = winners.iter().find(|(p, ..)| *p == c.place) {
                if c.age_s > *age {
                    c.alpha *= 1.0 - alpha;
                }
            }
        }
        captions.retain(|c| c.alpha > 0.0);
    }
}

/// Everything a frame depends on. A frame is a pure function of this, which is what makes
/// offline frames reproducible.
#[derive(Clone, Debug)]
pub struct FrameInputs {
    pub time_s: f64,
    /// How long this frame stands for (1 / fps offline, the frame interval live): the flash
    /// guard's time step.
    pub dt_s: f32,
    /// Beat, bar and tempo at `time_s`.
    pub musical: Musical,
    pub analysis: Analysis,
    pub visual: VisualState,
    /// Narrative captions, drawn over the picture (under the flash guard).
    pub captions: Vec<ShownCaption>,
    /// The audience's crowd (none offline: renders do not depend on who was in the room).
    pub crowd: Crowd,
    /// The audience page's join code, where one is shown (live only: an offline render has
    /// no page to join, and must not depend on the machine's address).
    pub join_code: Option<JoinCodeShown>,
    /// ISF's `DATE` (year, month, day, seconds into the day): the wall clock's live; offline,
    /// counted from 1970-01-01 by the show's time, so a render does not depend on its day.
    pub date: [f32; 4],
}

/// The join code as a frame shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinCodeShown {
    /// The page's address (`http://192.168.1.20:9080/join`).
    pub url: std::sync::Arc<str>,
    /// 0..1, from its fades.
    pub opacity: f32,
}

/// How a layer draws: one WGSL pipeline, or an ISF shader's passes (shared where one
/// shader is built for several presets; its state is kept per slot).
#[derive(Clone)]
enum Drawn {
    Wgsl(wgpu::RenderPipeline),
    Isf(std::sync::Arc<std::sync::Mutex<IsfLayer>>),
}

/// What a layer was built from: after a lost GPU device, a layer whose file is mid-edit
/// (broken) is built again from this, its last good version.
#[derive(Clone)]
enum LayerSource {
    /// The assembled WGSL.
    Wgsl(String),
    /// The ISF shader's text and its custom vertex stage's.
    Isf { fs: String, vs: Option<String> },
}

struct Layer {
    drawn: Drawn,
    /// The ISF filter its picture goes through (`[post] filter`), if any.
    filter: Option<std::sync::Arc<std::sync::Mutex<IsfLayer>>>,
    shader_path: std::path::PathBuf,
    source: LayerSource,
    /// The preset it was built for: a new list of presets that still has it keeps the
    /// pipeline (a kiosk's next item comes with the last one's presets).
    preset: Preset,
}

/// Which block of the parameter buffer a draw reads: every draw of a frame has its own, so one
/// preset may show twice (as the performance's preset and as a dreamer) with other values.
const SLOT_BASE: usize = 0;
const SLOT_FADE: usize = 1;
const SLOT_DREAMER: usize = 2;
const SLOTS: usize = SLOT_DREAMER + MAX_DREAMERS;
/// Bytes per slot: the largest dynamic-offset alignment wgpu allows a device to ask for.
const SLOT_BYTES: usize = 256;

pub struct Renderer {
    format: wgpu::TextureFormat,
    somnia_buf: wgpu::Buffer,
    params_buf: wgpu::Buffer,
    layer_bind_group: wgpu::BindGroup,
    layers: Vec<Layer>,
    blend: BlendPass,
    fade: Option<FadeTargets>,
    mosaic: MosaicPass,
    post: PostPass,
    /// Made the first time a join code shows.
    join_code: Option<JoinCodePass>,
    /// An address no QR code could hold was said once.
    join_code_refused: bool,
    /// On by default; off only when explicitly asked for.
    guard: Option<FlashGuard>,
    /// Whether targets may be viewed as sRGB (lets the flash guard work in place).
    srgb_views: bool,
    /// Rehearsal mode: errors are shown on the picture, not only logged.
    rehearsal: bool,
    /// The errors the overlay shows (rehearsal mode only).
    errors: Vec<String>,
    /// Made the first time there is text to draw. Two, because each painter's vertex buffer
    /// holds one set of text per frame.
    caption_text: Option<TextPainter>,
    overlay_text: Option<TextPainter>,
    layer_layout: wgpu::PipelineLayout,
    pipelines: PipelineCache,
    /// What a layer with a filter draws into before the filter reads it (made when one has).
    filter_input: Option<((u32, u32), wgpu::TextureView)>,
    /// The sound's shape for ISF `audio` and `audioFFT` inputs, written each frame.
    audio: AudioTextures,
    /// The crossfade styles (ISF transitions) of the timeline, each with its layer (none if
    /// it failed to build: that fade is a plain mix).
    fade_styles: Vec<(Preset, Option<std::sync::Arc<std::sync::Mutex<IsfLayer>>>)>,
    /// ISF layers built recently, by their translated GLSL and file (as `pipelines`).
    isf_layers: Vec<(String, std::sync::Arc<std::sync::Mutex<IsfLayer>>)>,
    /// Each slot's clock and parameter values this frame (ISF layers write their own blocks).
    slot_time_s: [f64; SLOTS],
    slot_params: [[f32; MAX_LAYER_PARAMS]; SLOTS],
    /// This frame's time step and date, for ISF layers.
    frame_dt_s: f32,
    frame_date: [f32; 4],
}

/// Most layer pipelines kept for reuse.
const PIPELINES_KEPT: usize = 32;

/// Layer pipelines built recently, by the WGSL that built them: a kiosk going round its
/// playlist (or a show coming back to a preset) finds its pipeline again instead of compiling
/// the shader anew, so an item change costs no compile and the driver's memory stays flat.
/// Bounded: the least recently used goes first.
#[derive(Default)]
struct PipelineCache {
    /// (hash of the source, the source, the pipeline, when last used).
    entries: Vec<(u64, String, wgpu::RenderPipeline, u64)>,
    clock: u64,
}

impl PipelineCache {
    fn hash(source: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        source.hash(&mut h);
        h.finish()
    }

    fn get(&mut self, source: &str) -> Option<wgpu::RenderPipeline> {
        let hash = Self::hash(source);
        self.clock += 1;
        let clock = self.clock;
        self.entries
            .iter_mut()
            .find(|e| e.0 == hash && e.1 == source)
            .map(|e| {
                e.3 = clock;
                e.2.clone()
            })
    }

    fn put(&mut self, source: &str, pipeline: &wgpu::RenderPipeline) {
        if self.entries.len() >= PIPELINES_KEPT {
            if let Some(oldest) = (0..self.entries.len()).min_by_key(|i| self.entries[*i].3) {
                self.entries.swap_remove(oldest);
            }
        }
        self.clock += 1;
        self.entries.push((
            Self::hash(source),
            source.to_owned(),
            pipeline.clone(),
            self.clock,
        ));
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

impl Renderer {
    /// Builds one pipeline per preset, drawing into targets of `format`. Every shader is
    /// validated first; all the failures are returned together.
    pub fn new(
        gpu: &Gpu,
        format: wgpu::TextureFormat,
        presets: &[Preset],
    ) -> Result<Self, Vec<Diagnostic>> {
        let mut r = Self::without_layers(gpu, format);
        let mut diags = Vec::new();
        for preset in presets {
            match r.build_layer(gpu, preset) {
                Ok(layer) => r.layers.push(layer),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() { Ok(r) } else { Err(diags) }
    }

    /// [`Renderer::new`] on a new device after `lost`'s device was lost: a layer whose shader
    /// file does not build now (it is being edited) is built from the source `lost` last drew
    /// it with, so the picture comes back whole. Those layers' errors are returned with it.
    pub fn after_loss(
        gpu: &Gpu,
        format: wgpu::TextureFormat,
        presets: &[Preset],
        lost: &Renderer,
    ) -> Result<(Self, Vec<Diagnostic>), Vec<Diagnostic>> {
        let mut r = Self::without_layers(gpu, format);
        let (mut kept, mut failed) = (Vec::new(), Vec::new());
        for (i, preset) in presets.iter().enumerate() {
            let layer = match (r.build_layer(gpu, preset), lost.layers.get(i)) {
                (Ok(layer), _) => Ok(layer),
                (Err(d), Some(last)) => {
                    kept.push(d);
                    r.pipeline_for(gpu, preset, last.source.clone())
                }
                (Err(d), None) => Err(d),
            };
            match layer {
                Ok(layer) => r.layers.push(layer),
                Err(d) => failed.push(d),
            }
        }
        if failed.is_empty() {
            Ok((r, kept))
        } else {
            Err(failed)
        }
    }

    /// Everything but the layers' pipelines.
    fn without_layers(gpu: &Gpu, format: wgpu::TextureFormat) -> Self {
        let device = &gpu.device;
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("layer uniforms"),
            entries: &[
                // Both per draw (dynamic offsets): each layer has its own clock as well as its
                // own parameters, so a kiosk item fading out keeps its time.
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("layer"),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let somnia_buf =
            super::passes::uniform_buffer(device, "somnia uniforms", (SLOTS * SLOT_BYTES) as u64);
        let params_buf =
            super::passes::uniform_buffer(device, "layer params", (SLOTS * SLOT_BYTES) as u64);
        let layer_bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("layer uniforms"),
            layout: &bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &somnia_buf,
                        offset: 0,
                        size: wgpu::BufferSize::new(std::mem::size_of::<SomniaUniforms>() as u64),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params_buf,
                        offset: 0,
                        size: wgpu::BufferSize::new((4 * MAX_LAYER_PARAMS) as u64),
                    }),
                },
            ],
        });
        Self {
            format,
            somnia_buf,
            params_buf,
            layer_bind_group,
            layers: Vec::new(),
            blend: BlendPass::new(device, format),
            fade: None,
            mosaic: MosaicPass::new(device, format),
            post: PostPass::new(device, format),
            guard: Some(FlashGuard::new(device, format)),
            srgb_views: false,
            rehearsal: false,
            errors: Vec::new(),
            caption_text: None,
            overlay_text: None,
            join_code: None,
            join_code_refused: false,
            layer_layout: layout,
            pipelines: PipelineCache::default(),
            isf_layers: Vec::new(),
            audio: AudioTextures::new(device),
            filter_input: None,
            fade_styles: Vec::new(),
            slot_time_s: [0.0; SLOTS],
            slot_params: [[0.0; MAX_LAYER_PARAMS]; SLOTS],
            frame_dt_s: 0.0,
            frame_date: [0.0; 4],
        }
    }

    /// Validates a preset's shader and builds its pipeline. Errors are diagnostics, never a
    /// panic: naga checks the source first, and an error scope catches what the driver rejects.
    fn build_layer(&mut self, gpu: &Gpu, preset: &Preset) -> Result<Layer, Diagnostic> {
        let path = &preset.layer.shader_path;
        if is_isf(path) || super::shadertoy::is_shadertoy(path) {
            let read = |p: &std::path::Path| std::fs::read_to_string(p);
            let fs = read(path)
                .map_err(|e| Diagnostic::file(path, format!("cannot read shader: {e}")))?;
            let vs = read(&path.with_extension("vs")).ok();
            return self.pipeline_for(gpu, preset, LayerSource::Isf { fs, vs });
        }
        let params = &preset.layer.params;
        let assembled = shader::load_and_validate(path, params)?;
        self.pipeline_for(gpu, preset, LayerSource::Wgsl(assembled.source))
    }

    /// An ISF layer from its shader's text: translated and validated, then found among
    /// those built recently or built.
    fn isf_layer(
        &mut self,
        gpu: &Gpu,
        path: &std::path::Path,
        params: &[crate::show::preset::ParamDef],
        fs: &str,
        vs: Option<&str>,
    ) -> Result<std::sync::Arc<std::sync::Mutex<IsfLayer>>, Diagnostic> {
        let shader = super::isf::translate_any(path, fs, vs)?;
        // Which parameter feeds which input depends on the preset's list (a filter's inputs
        // follow its layer's parameters): that is part of what is reused.
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        let key = format!("{}\n{}\n{}", path.display(), names.join(","), shader.glsl);
        if let Some((_, layer)) = self.isf_layers.iter().find(|(k, _)| *k == key) {
            return Ok(layer.clone());
        }
        let layer = IsfLayer::new(gpu, path, shader, params, self.format, SLOTS)?;
        let layer = std::sync::Arc::new(std::sync::Mutex::new(layer));
        if self.isf_layers.len() >= PIPELINES_KEPT {
            self.isf_layers.remove(0);
        }
        self.isf_layers.push((key, layer.clone()));
        Ok(layer)
    }

    /// `preset`'s layer from its validated `source`, with its filter.
    fn pipeline_for(
        &mut self,
        gpu: &Gpu,
        preset: &Preset,
        source: LayerSource,
    ) -> Result<Layer, Diagnostic> {
        let drawn = self.drawn_for(gpu, preset, &source)?;
        let filter = match &preset.layer.filter {
            Some(path) => {
                let read = |p: &std::path::Path| std::fs::read_to_string(p);
                let fs = read(path)
                    .map_err(|e| Diagnostic::file(path, format!("cannot read the filter: {e}")))?;
                let vs = read(&path.with_extension("vs")).ok();
                Some(self.isf_layer(gpu, path, &preset.layer.params, &fs, vs.as_deref())?)
            }
            None => None,
        };
        Ok(Layer {
            drawn,
            filter,
            shader_path: preset.layer.shader_path.clone(),
            source,
            preset: preset.clone(),
        })
    }

    /// How `preset`'s layer draws, from its validated `source`.
    fn drawn_for(
        &mut self,
        gpu: &Gpu,
        preset: &Preset,
        source: &LayerSource,
    ) -> Result<Drawn, Diagnostic> {
        let wgsl = match source {
            LayerSource::Wgsl(wgsl) => wgsl,
            LayerSource::Isf { fs, vs } => {
                let isf = self.isf_layer(
                    gpu,
                    &preset.layer.shader_path,
                    &preset.layer.params,
                    fs,
                    vs.as_deref(),
                )?;
                return Ok(Drawn::Isf(isf));
            }
        };
        if let Some(pipeline) = self.pipelines.get(wgsl) {
            return Ok(Drawn::Wgsl(pipeline));
        }
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&preset.name),
            source: wgpu::ShaderSource::Wgsl(wgsl.as_str().into()),
        });
        let pipeline = fullscreen_pipeline(
            device,
            &preset.name,
            &self.layer_layout,
            &module,
            "fs_main",
            self.format,
            1,
        );
        if let Some(err) = pollster::block_on(scope.pop()) {
            return Err(Diagnostic::file(
                &preset.layer.shader_path,
                format!("the graphics driver rejected the shader: {err}"),
            ));
        }
        self.pipelines.put(wgsl, &pipeline);
        Ok(Drawn::Wgsl(pipeline))
    }

    /// Rebuilds every layer whose shader is `path`, after the file changed. A layer whose new
    /// shader fails keeps its last good pipeline: the picture never goes down. Returns, per
    /// affected layer, the preset's name or the error (with file:line:col).
    pub fn reload_shader(
        &mut self,
        gpu: &Gpu,
        path: &std::path::Path,
        presets: &[Preset],
    ) -> Vec<Result<String, Diagnostic>> {
        let same = |a: &std::path::Path| {
            a == path
                || (a
                    .canonicalize()
                    .ok()
                    .is_some_and(|c| Some(c) == path.canonicalize().ok()))
        };
        let mut results = Vec::new();
        for (i, preset) in presets.iter().enumerate() {
            let uses = |l: &Layer| {
                same(&l.shader_path) || l.preset.layer.filter.as_deref().is_some_and(same)
            };
            if i >= self.layers.len() || !uses(&self.layers[i]) {
                continue;
            }
            match self.build_layer(gpu, preset) {
                Ok(layer) => {
                    self.layers[i] = layer;
                    results.push(Ok(preset.name.clone()));
                }
                Err(d) => results.push(Err(d)),
            }
        }
        results
    }

    /// Rebuilds the layers for a new list of presets (a preset file changed). Layers whose
    /// shader fails keep their last good pipeline where there is one; the failures are
    /// returned.
    pub fn rebuild(&mut self, gpu: &Gpu, presets: &[Preset]) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        let mut layers = Vec::with_capacity(presets.len());
        for (i, preset) in presets.iter().enumerate() {
            // Shader edits reach the layers through `reload_shader`, so a layer built for an
            // equal preset is current.
            if let Some(same) = self.layers.iter().find(|l| l.preset == *preset) {
                layers.push(Layer {
                    drawn: same.drawn.clone(),
                    filter: same.filter.clone(),
                    shader_path: same.shader_path.clone(),
                    source: same.source.clone(),
                    preset: preset.clone(),
                });
                continue;
            }
            match self.build_layer(gpu, preset) {
                Ok(layer) => layers.push(layer),
                Err(d) => {
                    diags.push(d);
                    match self.layers.get(i) {
                        Some(old) => layers.push(Layer {
                            drawn: old.drawn.clone(),
                            filter: old.filter.clone(),
                            shader_path: preset.layer.shader_path.clone(),
                            source: old.source.clone(),
                            preset: preset.clone(),
                        }),
                        None => return diags,
                    }
                }
            }
        }
        self.layers = layers;
        diags
    }

    /// Builds the crossfade styles `styles` (a timeline's `fade_styles`); one already built
    /// for an equal preset is kept. One that fails is reported and its fades are plain mixes.
    pub fn set_fade_styles(&mut self, gpu: &Gpu, styles: &[Preset]) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        let mut built = Vec::with_capacity(styles.len());
        for style in styles {
            if let Some((_, layer)) = self.fade_styles.iter().find(|(p, _)| p == style) {
                built.push((style.clone(), layer.clone()));
                continue;
            }
            let path = &style.layer.shader_path;
            let layer = std::fs::read_to_string(path)
                .map_err(|e| Diagnostic::file(path, format!("cannot read shader: {e}")))
                .and_then(|fs| {
                    let vs = std::fs::read_to_string(path.with_extension("vs")).ok();
                    self.isf_layer(
                        gpu,
                        &style.layer.shader_path,
                        &style.layer.params,
                        &fs,
                        vs.as_deref(),
                    )
                });
            match layer {
                Ok(layer) => built.push((style.clone(), Some(layer))),
                Err(d) => {
                    diags.push(d);
                    built.push((style.clone(), None));
                }
            }
        }
        self.fade_styles = built;
        diags
    }

    /// The time this frame gives an ISF layer drawn in `slot`.
    fn isf_clock(&self, slot: usize) -> IsfClock {
        IsfClock {
            time_s: self.slot_time_s[slot],
            dt_s: self.frame_dt_s,
            date: self.frame_date,
        }
    }

    /// Whether any layer or fade style is an ISF shader (only they read the audio textures).
    fn has_isf_layers(&self) -> bool {
        self.layers.iter().any(|l| matches!(l.drawn, Drawn::Isf(_)))
            || self.fade_styles.iter().any(|(_, l)| l.is_some())
    }

    /// Layer pipelines kept for reuse (at most 32).
    pub fn pipelines_kept(&self) -> usize {
        self.pipelines.len()
    }

    /// The shader files the layers were built from.
    pub fn shader_paths(&self) -> Vec<std::path::PathBuf> {
        self.layers.iter().map(|l| l.shader_path.clone()).collect()
    }

    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// Says that targets were made with an sRGB twin in their view formats, so the flash guard
    /// may work on them in place (if they can also be sampled).
    pub fn set_srgb_views(&mut self, allowed: bool) {
        self.srgb_views = allowed;
    }

    /// Rehearsal mode shows errors (a shader that failed to reload, a broken preset) in a small
    /// overlay on the picture. Off for shows and for `somnia render`: there they are only
    /// logged.
    pub fn set_rehearsal(&mut self, on: bool) {
        self.rehearsal = on;
    }

    /// The errors for the rehearsal overlay (empty: none shown).
    pub fn set_errors(&mut self, errors: Vec<String>) {
        self.errors = errors;
    }

    /// Records the drawing of one frame into `target`. The uniform uploads are queued on the
    /// queue and land before the encoder's commands run.
    pub fn encode(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::Texture,
        inputs: &FrameInputs,
    ) {
        let size = (target.width(), target.height());
        let view = target.create_view(&Default::default());
        let in_place = self
            .guard
            .as_ref()
            .is_some_and(|g| g.can_work_in_place(target.usage(), self.srgb_views));
        match self.guard.as_mut() {
            Some(guard) if !in_place => {
                let scene = guard.scene_view(&gpu.device, &gpu.queue, size).clone();
                self.draw_picture(gpu, encoder, &scene, size, inputs);
                if let Some(guard) = self.guard.as_mut() {
                    guard.present(&gpu.queue, encoder, &view, inputs.dt_s);
                }
            }
            _ => {
                self.draw_picture(gpu, encoder, &view, size, inputs);
                if let Some(guard) = self.guard.as_mut() {
                    guard.apply_in_place(&gpu.device, &gpu.queue, encoder, target, inputs.dt_s);
                }
            }
        }
        self.encode_overlay(gpu, encoder, &view, size);
    }

    /// Records the drawing of one frame's canvas into `view` (`size` pixels): the picture
    /// before any flash guard, for an output stage that cuts it up and guards each output.
    pub fn encode_canvas(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        inputs: &FrameInputs,
    ) {
        self.draw_picture(gpu, encoder, view, size, inputs);
    }

    /// The rehearsal overlay over an output's finished picture (nothing outside rehearsal
    /// mode, or without errors).
    pub fn encode_overlay(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
    ) {
        if self.rehearsal && !self.errors.is_empty() {
            self.draw_errors(gpu, encoder, view, size);
        }
    }

    /// The rehearsal overlay: the errors, small, top left, over the (guarded) picture. Steady
    /// text, so it needs no guarding.
    fn draw_errors(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
    ) {
        let format = self.format;
        let painter = self
            .overlay_text
            .get_or_insert_with(|| TextPainter::new(&gpu.device, &gpu.queue, format));
        let size_px = (size.1 as f32 / 40.0).clamp(9.0, 22.0);
        let item = TextItem {
            text: self.errors.join("\n"),
            left_px: size_px,
            y_px: size_px,
            anchor: Anchor::Top,
            centered: false,
            size_px,
            max_width_px: size.0 as f32 - 2.0 * size_px,
            rgba: [255, 120, 100, 255],
            shadow: true,
        };
        if let Err(e) = painter.draw(&gpu.device, &gpu.queue, encoder, view, size, &[item]) {
            tracing::warn!("somnia: the rehearsal overlay failed: {e}");
            self.rehearsal = false;
        }
    }

    /// Copies the frame just encoded's mean relative luminance (an `f32`) to the start of
    /// `dst`, after the commands of [`Renderer::encode`]; false when nothing measures it (the
    /// flash guard is off).
    pub fn copy_output_luminance(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        dst: &wgpu::Buffer,
    ) -> bool {
        self.guard
            .as_ref()
            .map(|g| g.copy_output_luminance(encoder, dst))
            .is_some()
    }

    /// Turns the flash guard on or off (it is on unless this turns it off).
    pub fn set_flash_guard(&mut self, device: &wgpu::Device, on: bool) {
        self.guard = on.then(|| FlashGuard::new(device, self.format));
    }

    /// Everything before the flash guard: the scene, then the post chain if it has work.
    fn draw_picture(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        inputs: &FrameInputs,
    ) {
        let post = inputs.visual.post;
        if post.is_neutral() {
            self.post.skip();
            self.draw_scene(gpu, encoder, view, size, inputs);
        } else {
            let input = self.post.input_view(&gpu.device, size).clone();
            self.draw_scene(gpu, encoder, &input, size, inputs);
            self.post
                .apply(gpu, encoder, view, &post, inputs.time_s, inputs.dt_s);
        }
        let mut text = Vec::new();
        if let Some(join) = inputs.join_code.as_ref().filter(|j| j.opacity > 0.0) {
            text.extend(self.draw_join_code(gpu, encoder, view, size, join));
        }
        if !inputs.captions.is_empty() {
            let mut captions = inputs.captions.clone();
            ShownCaption::one_per_place(&mut captions);
            text.extend(Self::caption_items(size, &captions));
        }
        if !text.is_empty() {
            self.draw_text(gpu, encoder, view, size, &text);
        }
    }

    /// The join code in the bottom-right corner; the address in words above it, to draw.
    fn draw_join_code(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        join: &JoinCodeShown,
    ) -> Option<TextItem> {
        let format = self.format;
        let pass = self
            .join_code
            .get_or_insert_with(|| JoinCodePass::new(&gpu.device, format));
        let Some((left, top, side)) = pass.draw(
            &gpu.device,
            &gpu.queue,
            encoder,
            view,
            size,
            &join.url,
            join.opacity,
        ) else {
            if !std::mem::replace(&mut self.join_code_refused, true) {
                tracing::warn!(
                    "somnia: the join address is too long for a QR code ({} characters); shorten --join-url",
                    join.url.len()
                );
            }
            return None;
        };
        let (w, h) = (size.0 as f32, size.1 as f32);
        // The address without its scheme: what a person types.
        let words = join
            .url
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        let size_px = (h / 28.0).max(6.0);
        // Centred over the code where the words fit there (about 0.6 em a character in
        // DejaVu Sans); else as close as the picture's edge allows, never wrapped.
        let centre = left as f32 + side as f32 / 2.0;
        let needed = 0.62 * size_px * words.chars().count() as f32 + size_px;
        let room = 2.0 * centre.min(w - centre);
        let width = needed.max(room.min(needed)).min(w);
        Some(TextItem {
            text: words.to_string(),
            left_px: (centre - width / 2.0).min(w - width).max(0.0),
            y_px: top as f32 - 0.01 * h,
            anchor: Anchor::Bottom,
            centered: true,
            size_px,
            max_width_px: width,
            rgba: [255, 255, 255, (join.opacity.clamp(0.0, 1.0) * 255.0) as u8],
            shadow: true,
        })
    }

    /// Text over the picture (captions, the join address): one painter, one draw a frame.
    fn draw_text(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        items: &[TextItem],
    ) {
        let format = self.format;
        let painter = self
            .caption_text
            .get_or_insert_with(|| TextPainter::new(&gpu.device, &gpu.queue, format));
        if let Err(e) = painter.draw(&gpu.device, &gpu.queue, encoder, view, size, items) {
            tracing::warn!("somnia: a caption could not be drawn: {e}");
        }
    }

    /// Narrative captions: white with a soft shadow, centred, a twentieth of the height.
    fn caption_items(size: (u32, u32), captions: &[ShownCaption]) -> Vec<TextItem> {
        let (w, h) = (size.0 as f32, size.1 as f32);
        captions
            .iter()
            .map(|c| {
                let (y_px, anchor) = match c.place {
                    CaptionPlace::Top => (0.08 * h, Anchor::Top),
                    CaptionPlace::Center => (0.5 * h, Anchor::Middle),
                    CaptionPlace::Bottom => (0.92 * h, Anchor::Bottom),
                };
                TextItem {
                    text: c.text.clone(),
                    left_px: 0.1 * w,
                    y_px,
                    anchor,
                    centered: true,
                    size_px: (h / 20.0 * c.size).max(6.0),
                    max_width_px: 0.8 * w,
                    rgba: [255, 255, 255, (c.alpha.clamp(0.0, 1.0) * 255.0) as u8],
                    shadow: true,
                }
            })
            .collect()
    }

    /// The performance's preset (with its crossfade) and, over it, the dream mosaic.
    fn draw_scene(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        inputs: &FrameInputs,
    ) {
        self.write_uniforms(gpu, size, inputs);
        let filtered = self.layers.iter().any(|l| l.filter.is_some());
        if filtered && self.filter_input.as_ref().is_none_or(|(s, _)| *s != size) {
            let texture = intermediate_texture(&gpu.device, "filter input", size, self.format);
            self.filter_input = Some((size, texture.create_view(&Default::default())));
        }
        let mut mosaic = inputs.visual.mosaic;
        mosaic.unity = mosaic.unity_with(inputs.crowd.agreement);
        let mosaic = &mosaic;
        if mosaic.count == 0 {
            self.draw_base(gpu, encoder, view, size, inputs);
            return;
        }
        self.mosaic.prepare(&gpu.device, size, mosaic.count);
        let base = self.mosaic.base_view().cloned();
        if let Some(base) = &base {
            self.draw_base(gpu, encoder, base, size, inputs);
        }
        for (i, d) in mosaic.dreamers().iter().enumerate() {
            // A withdrawn dreamer costs nothing.
            if d.presence <= 0.0 {
                continue;
            }
            if let Some(layer_view) = self.mosaic.layer_view(i).cloned() {
                // A dreamer's ISF filter reads the performance's picture beneath it.
                let beneath = base.as_ref();
                self.draw_layer(
                    gpu,
                    encoder,
                    &layer_view,
                    size,
                    d.preset,
                    SLOT_DREAMER + i,
                    beneath,
                );
            }
        }
        self.mosaic.compose(&gpu.queue, encoder, view, mosaic);
    }

    /// Uploads this frame's standard uniforms and every draw's parameters.
    fn write_uniforms(&mut self, gpu: &Gpu, size: (u32, u32), inputs: &FrameInputs) {
        let t = inputs.time_s;
        let u = SomniaUniforms {
            resolution: [size.0 as f32, size.1 as f32],
            time_s: t as f32,
            beat: inputs.musical.beat as f32,
            bar: inputs.musical.bar as f32,
            tempo_bpm: inputs.musical.bpm as f32,
            rms: inputs.analysis.rms,
            peak: inputs.analysis.peak,
            bands: inputs.analysis.bands,
            onset_age_s: if inputs.analysis.onsets == 0 {
                1e6
            } else {
                (t - inputs.analysis.last_onset_s).max(0.0) as f32
            },
            onsets: inputs.analysis.onsets as f32,
            detected_bpm: inputs.analysis.bpm,
            crowd_energy: inputs.crowd.energy,
            crowd_agreement: inputs.crowd.agreement,
            crowd_size: inputs.crowd.size as f32,
            _pad: [0.0; 2],
        };
        let v = &inputs.visual;
        // Each draw's clock counts from its show's origin (0 but in a kiosk).
        let mut clocks = [[0u8; SLOT_BYTES]; SLOTS];
        let mut slot_time_s = [0.0; SLOTS];
        let mut clock_at = |slot: usize, origin_s: f64| {
            slot_time_s[slot] = t - origin_s;
            let own = SomniaUniforms {
                time_s: (t - origin_s) as f32,
                ..u
            };
            clocks[slot][..std::mem::size_of::<SomniaUniforms>()]
                .copy_from_slice(bytemuck::bytes_of(&own));
        };
        clock_at(SLOT_BASE, v.origin_s);
        clock_at(SLOT_FADE, v.fade.map_or(v.origin_s, |f| f.origin_s));
        for i in 0..MAX_DREAMERS {
            clock_at(SLOT_DREAMER + i, v.mosaic.origin_s);
        }
        gpu.queue
            .write_buffer(&self.somnia_buf, 0, bytemuck::cast_slice(&clocks));
        let mut slots = [[0.0f32; SLOT_BYTES / 4]; SLOTS];
        slots[SLOT_BASE][..MAX_LAYER_PARAMS].copy_from_slice(&v.params);
        if let Some(fade) = &v.fade {
            slots[SLOT_FADE][..MAX_LAYER_PARAMS].copy_from_slice(&fade.params);
        }
        for (i, d) in v.mosaic.dreamers().iter().enumerate() {
            slots[SLOT_DREAMER + i][..MAX_LAYER_PARAMS].copy_from_slice(&d.params);
        }
        gpu.queue
            .write_buffer(&self.params_buf, 0, bytemuck::cast_slice(&slots));
        self.slot_time_s = slot_time_s;
        for (own, slot) in self.slot_params.iter_mut().zip(&slots) {
            own.copy_from_slice(&slot[..MAX_LAYER_PARAMS]);
        }
        self.frame_dt_s = inputs.dt_s;
        self.frame_date = inputs.date;
        if self.has_isf_layers() {
            self.audio.write(&gpu.queue, &inputs.analysis.shape);
        }
    }

    /// The performance's preset into `view`: one layer, or two blended during a crossfade.
    fn draw_base(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        inputs: &FrameInputs,
    ) {
        let v = &inputs.visual;
        let Some(fade) = v.fade else {
            self.draw_layer(gpu, encoder, view, size, v.preset, SLOT_BASE, None);
            return;
        };
        let targets = self.fade_targets(gpu, size);
        let (old_view, new_view) = (targets.old_view.clone(), targets.new_view.clone());
        self.draw_layer(gpu, encoder, &old_view, size, fade.preset, SLOT_FADE, None);
        self.draw_layer(gpu, encoder, &new_view, size, v.preset, SLOT_BASE, None);
        let style = fade
            .style
            .and_then(|k| self.fade_styles.get(k))
            .and_then(|(p, l)| Some((p, l.as_ref()?)));
        if let Some((preset, layer)) = style {
            // The transition: its own values, `progress` the fade's weight.
            let mut values = [0.0f32; MAX_LAYER_PARAMS];
            for (v, p) in values.iter_mut().zip(&preset.layer.params) {
                *v = p.default;
            }
            let progress = lock(layer).param_index("progress");
            if let Some(v) = progress.and_then(|i| values.get_mut(i)) {
                *v = fade.weight_new;
            }
            let images = IsfImages {
                start: Some(&old_view),
                end: Some(&new_view),
                ..IsfImages::default()
            };
            let at = (view, size, SLOT_BASE);
            self.draw_isf(layer, gpu, encoder, at, &values, images);
            return;
        }
        gpu.queue.write_buffer(
            &self.blend.weight_buf,
            0,
            bytemuck::cast_slice(&[fade.weight_new, 0.0, 0.0, 0.0]),
        );
        let bind_group = self
            .fade
            .as_ref()
            .map(|t| &t.bind_group)
            .expect("fade targets were just made");
        let mut pass = begin_pass(encoder, view, "crossfade");
        pass.set_pipeline(&self.blend.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
    }

    /// Draws layer `preset` into `view` with slot `slot`'s clock and values; an ISF layer's
    /// image inputs read `beneath` (black where there is nothing beneath).
    #[allow(clippy::too_many_arguments)]
    fn draw_layer(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        preset: usize,
        slot: usize,
        beneath: Option<&wgpu::TextureView>,
    ) {
        let layer = self.layers.get(preset);
        // A layer with a filter draws into the filter's input, and the filter into `view`.
        let filter = layer
            .and_then(|l| l.filter.as_ref())
            .zip(self.filter_input.as_ref().map(|(_, v)| v));
        let (out, view) = (view, filter.map_or(view, |(_, input)| input));
        let params = &self.slot_params[slot];
        match layer.map(|l| &l.drawn) {
            Some(Drawn::Isf(isf)) => {
                let images = IsfImages::beneath(beneath);
                self.draw_isf(isf, gpu, encoder, (view, size, slot), params, images);
            }
            Some(Drawn::Wgsl(pipeline)) => {
                let mut pass = begin_pass(encoder, view, "layer");
                pass.set_pipeline(pipeline);
                let offset = (slot * SLOT_BYTES) as u32;
                pass.set_bind_group(0, &self.layer_bind_group, &[offset, offset]);
                pass.draw(0..3, 0..1);
            }
            // No such layer: the picture is black.
            None => drop(begin_pass(encoder, view, "layer")),
        }
        if let Some((filter, input)) = filter {
            let images = IsfImages::beneath(Some(input));
            self.draw_isf(filter, gpu, encoder, (out, size, slot), params, images);
        }
    }

    /// Draws ISF layer `isf` at `(view, size, slot)` with `values`, the slot's clock, and
    /// `images` (with the sound's textures).
    fn draw_isf(
        &self,
        isf: &std::sync::Mutex<IsfLayer>,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        (view, size, slot): (&wgpu::TextureView, (u32, u32), usize),
        values: &[f32],
        images: IsfImages<'_>,
    ) {
        let images = IsfImages {
            audio: Some(&self.audio),
            ..images
        };
        let clock = self.isf_clock(slot);
        lock(isf).draw(
            gpu,
            encoder,
            view,
            self.format,
            size,
            slot,
            clock,
            values,
            images,
        );
    }

    /// The two textures a crossfade draws into, (re)made for `size`.
    fn fade_targets(&mut self, gpu: &Gpu, size: (u32, u32)) -> &FadeTargets {
        if self.fade.as_ref().is_none_or(|t| t.size != size) {
            let make = |label| {
                intermediate_texture(&gpu.device, label, size, self.format)
                    .create_view(&Default::default())
            };
            let (old_view, new_view) = (make("fade old"), make("fade new"));
            let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("crossfade"),
                layout: &self.blend.bgl,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(&old_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&new_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: self.blend.weight_buf.as_entire_binding(),
                    },
                ],
            });
            self.fade = Some(FadeTargets {
                size,
                old_view,
                new_view,
                bind_group,
            });
        }
        self.fade.as_ref().expect("just made")
    }
}

/// An ISF layer to draw. Only the render thread draws, so the lock is never contended; a
/// poisoned one (a panic mid-draw) still holds a usable layer.
fn lock(isf: &std::sync::Mutex<IsfLayer>) -> std::sync::MutexGuard<'_, IsfLayer> {
    isf.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Textures a crossfade draws the two presets into.
struct FadeTargets {
    size: (u32, u32),
    old_view: wgpu::TextureView,
    new_view: wgpu::TextureView,
    bind_group: wgpu::BindGroup,
}

/// The pass that blends two drawn layers: out = mix(old, new, weight).
struct BlendPass {
    pipeline: wgpu::RenderPipeline,
    bgl: wgpu::BindGroupLayout,
    weight_buf: wgpu::Buffer,
}

const BLEND_WGSL: &str = r#"
@group(0) @binding(0) var old_tex: texture_2d<f32>;
@group(0) @binding(1) var new_tex: texture_2d<f32>;
@group(0) @binding(2) var<uniform> weight: vec4<f32>;

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(pos.xy);
    return mix(textureLoad(old_tex, p, 0), textureLoad(new_tex, p, 0), weight.x);
}
"#;

impl BlendPass {
    fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let tex = |binding| {
            super::passes::texture_entry(
                binding,
                wgpu::ShaderStages::FRAGMENT,
                wgpu::TextureViewDimension::D2,
                false,
            )
        };
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("crossfade"),
            entries: &[
                tex(0),
                tex(1),
                uniform_entry(2, wgpu::ShaderStages::FRAGMENT),
            ],
        });
        let (layout, module) =
            super::passes::fullscreen_program(device, "crossfade", &bgl, BLEND_WGSL);
        let pipeline =
            fullscreen_pipeline(device, "crossfade", &layout, &module, "fs_main", format, 1);
        let weight_buf = super::passes::uniform_buffer(device, "crossfade weight", 16);
        Self {
            pipeline,
            bgl,
            weight_buf,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::naga;

    #[test]
    fn rust_uniforms_match_the_wgsl_struct_layout() {
        let module = naga::front::wgsl::parse_str(shader::COMMON_WGSL).unwrap();
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).unwrap();
        let (handle, ty) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some("Somnia"))
            .unwrap();
        let naga::TypeInner::Struct { members, span } = &ty.inner else {
            panic!("Somnia is not a struct")
        };
        assert_eq!(*span as usize, std::mem::size_of::<SomniaUniforms>());
        assert_eq!(
            layouter[handle].size as usize,
            std::mem::size_of::<SomniaUniforms>()
        );
        // Every field, by name, where the shader reads it and where Rust writes it.
        let wgsl: Vec<(&str, usize)> = members
            .iter()
            .map(|m| (m.name.as_deref().unwrap_or("?"), m.offset as usize))
            .collect();
        use std::mem::offset_of;
        assert_eq!(
            wgsl,
            [
                ("resolution", offset_of!(SomniaUniforms, resolution)),
                ("time_s", offset_of!(SomniaUniforms, time_s)),
                ("beat", offset_of!(SomniaUniforms, beat)),
                ("bar", offset_of!(SomniaUniforms, bar)),
                ("tempo_bpm", offset_of!(SomniaUniforms, tempo_bpm)),
                ("rms", offset_of!(SomniaUniforms, rms)),
                ("peak", offset_of!(SomniaUniforms, peak)),
                ("bands", offset_of!(SomniaUniforms, bands)),
                ("onset_age_s", offset_of!(SomniaUniforms, onset_age_s)),
                ("onsets", offset_of!(SomniaUniforms, onsets)),
                ("detected_bpm", offset_of!(SomniaUniforms, detected_bpm)),
                ("crowd_energy", offset_of!(SomniaUniforms, crowd_energy)),
                (
                    "crowd_agreement",
                    offset_of!(SomniaUniforms, crowd_agreement)
                ),
                ("crowd_size", offset_of!(SomniaUniforms, crowd_size)),
                ("_pad", offset_of!(SomniaUniforms, _pad)),
            ]
        );
    }
}

#[cfg(test)]
mod caption_tests {
    use super::*;

    fn caption(text: &str, place: CaptionPlace, alpha: f32, age_s: f64) -> ShownCaption {
        ShownCaption {
            text: text.into(),
            place,
            size: 1.0,
            alpha,
            age_s,
        }
    }

    #[test]
    fn a_newer_caption_replaces_the_older_one_at_its_place_as_it_fades_in() {
        let mut shown = vec![
            caption("old", CaptionPlace::Top, 1.0, 3.0),
            caption("new", CaptionPlace::Top, 0.25, 0.1),
            caption("below", CaptionPlace::Bottom, 1.0, 5.0),
        ];
        ShownCaption::one_per_place(&mut shown);
        let alpha = |t: &str, s: &[ShownCaption]| s.iter().find(|c| c.text == t).map(|c| c.alpha);
        assert_eq!(alpha("old", &shown), Some(0.75));
        assert_eq!(alpha("new", &shown), Some(0.25));
        assert_eq!(
            alpha("below", &shown),
            Some(1.0),
            "another place is untouched"
        );
        let mut shown = vec![
            caption("old", CaptionPlace::Top, 1.0, 3.0),
            caption("new", CaptionPlace::Top, 1.0, 0.5),
        ];
        ShownCaption::one_per_place(&mut shown);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].text, "new");
    }
}
