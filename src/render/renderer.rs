//! Draws a frame: the active preset's layer shader over the whole target, fed the standard
//! uniforms (clock, tempo, analysis) and the layer's named parameters.

use bytemuck::{Pod, Zeroable};

use super::flash_guard::FlashGuard;
use super::gpu::Gpu;
use super::passes::{
    FULLSCREEN_VS_WGSL, clear_attachment, fullscreen_pipeline, intermediate_texture,
};
use super::shader;
use crate::bridge::Analysis;
use crate::clock::Tempo;
use crate::show::Diagnostic;
use crate::show::preset::{MAX_LAYER_PARAMS, Preset};
use crate::show::timeline::VisualState;

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
    pub _pad: f32,
}

/// Everything a frame depends on. A frame is a pure function of this, which is what makes
/// offline frames reproducible.
#[derive(Clone, Copy, Debug)]
pub struct FrameInputs {
    pub time_s: f64,
    /// How long this frame stands for (1 / fps offline, the frame interval live): the flash
    /// guard's time step.
    pub dt_s: f32,
    pub tempo: Tempo,
    pub analysis: Analysis,
    pub visual: VisualState,
}

struct Layer {
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    params_buf: wgpu::Buffer,
    param_count: usize,
    shader_path: std::path::PathBuf,
}

pub struct Renderer {
    format: wgpu::TextureFormat,
    somnia_buf: wgpu::Buffer,
    layers: Vec<Layer>,
    blend: BlendPass,
    fade: Option<FadeTargets>,
    /// On by default; off only when explicitly asked for.
    guard: Option<FlashGuard>,
    layer_bgl: wgpu::BindGroupLayout,
    layer_layout: wgpu::PipelineLayout,
}

impl Renderer {
    /// Builds one pipeline per preset, drawing into targets of `format`. Every shader is
    /// validated first; all the failures are returned together.
    pub fn new(
        gpu: &Gpu,
        format: wgpu::TextureFormat,
        presets: &[Preset],
    ) -> Result<Self, Vec<Diagnostic>> {
        let device = &gpu.device;
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("layer uniforms"),
            entries: &[
                uniform_entry(0, wgpu::ShaderStages::VERTEX_FRAGMENT),
                uniform_entry(1, wgpu::ShaderStages::FRAGMENT),
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("layer"),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let somnia_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("somnia uniforms"),
            size: std::mem::size_of::<SomniaUniforms>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let blend = BlendPass::new(device, format);
        let guard = Some(FlashGuard::new(device, format));
        let mut r = Self {
            format,
            somnia_buf,
            layers: Vec::new(),
            blend,
            fade: None,
            guard,
            layer_bgl: bgl,
            layer_layout: layout,
        };
        let mut diags = Vec::new();
        for preset in presets {
            match r.build_layer(gpu, preset) {
                Ok(layer) => r.layers.push(layer),
                Err(d) => diags.push(d),
            }
        }
        if diags.is_empty() { Ok(r) } else { Err(diags) }
    }

    /// Validates a preset's shader and builds its pipeline. Errors are diagnostics, never a
    /// panic: naga checks the source first, and an error scope catches what the driver rejects.
    fn build_layer(&self, gpu: &Gpu, preset: &Preset) -> Result<Layer, Diagnostic> {
        let device = &gpu.device;
        let params = &preset.layer.params;
        let assembled = shader::load_and_validate(&preset.layer.shader_path, params)?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&preset.name),
            source: wgpu::ShaderSource::Wgsl(assembled.source.into()),
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
        let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("layer params"),
            size: (4 * params.len().max(1)) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("layer uniforms"),
            layout: &self.layer_bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.somnia_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: params_buf.as_entire_binding(),
                },
            ],
        });
        Ok(Layer {
            pipeline,
            bind_group,
            params_buf,
            param_count: params.len(),
            shader_path: preset.layer.shader_path.clone(),
        })
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
            if i >= self.layers.len() || !same(&self.layers[i].shader_path) {
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

    /// The shader files the layers were built from.
    pub fn shader_paths(&self) -> Vec<std::path::PathBuf> {
        self.layers.iter().map(|l| l.shader_path.clone()).collect()
    }

    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// Records the drawing of one frame into `view` (of `size` pixels). The uniform
    /// uploads are queued on the queue and land before the encoder's commands run. During a
    /// crossfade both presets are drawn into textures and blended into `view`; otherwise the
    /// one preset draws straight into `view`.
    pub fn encode(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        inputs: &FrameInputs,
    ) {
        match self.guard.as_mut() {
            Some(guard) => {
                let scene = guard.scene_view(&gpu.device, &gpu.queue, size).clone();
                self.draw_scene(gpu, encoder, &scene, size, inputs);
                if let Some(guard) = self.guard.as_mut() {
                    guard.apply(&gpu.queue, encoder, view, inputs.dt_s);
                }
            }
            None => self.draw_scene(gpu, encoder, view, size, inputs),
        }
    }

    /// Turns the flash guard on or off (it is on unless this turns it off).
    pub fn set_flash_guard(&mut self, device: &wgpu::Device, on: bool) {
        self.guard = on.then(|| FlashGuard::new(device, self.format));
    }

    /// Draws the presets (one, or two in a crossfade) into `view`.
    fn draw_scene(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        size: (u32, u32),
        inputs: &FrameInputs,
    ) {
        let t = inputs.time_s;
        let u = SomniaUniforms {
            resolution: [size.0 as f32, size.1 as f32],
            time_s: t as f32,
            beat: inputs.tempo.beats_at(t) as f32,
            bar: inputs.tempo.bars_at(t) as f32,
            tempo_bpm: inputs.tempo.bpm as f32,
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
            _pad: 0.0,
        };
        gpu.queue
            .write_buffer(&self.somnia_buf, 0, bytemuck::bytes_of(&u));
        let v = &inputs.visual;
        self.write_params(gpu, v.preset, &v.params);
        let Some(fade) = v.fade else {
            self.draw_layer(encoder, view, v.preset);
            return;
        };
        self.write_params(gpu, fade.preset, &fade.params);
        let targets = self.fade_targets(gpu, size);
        let (old_view, new_view) = (
            targets.old.create_view(&Default::default()),
            targets.new.create_view(&Default::default()),
        );
        self.draw_layer(encoder, &old_view, fade.preset);
        self.draw_layer(encoder, &new_view, v.preset);
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

    fn write_params(&self, gpu: &Gpu, preset: usize, params: &[f32; MAX_LAYER_PARAMS]) {
        if let Some(layer) = self.layers.get(preset) {
            let n = layer.param_count.clamp(1, MAX_LAYER_PARAMS);
            gpu.queue
                .write_buffer(&layer.params_buf, 0, bytemuck::cast_slice(&params[..n]));
        }
    }

    fn draw_layer(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        preset: usize,
    ) {
        let mut pass = begin_pass(encoder, view, "layer");
        if let Some(layer) = self.layers.get(preset) {
            pass.set_pipeline(&layer.pipeline);
            pass.set_bind_group(0, &layer.bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
    }

    /// The two textures a crossfade draws into, (re)made for `size`.
    fn fade_targets(&mut self, gpu: &Gpu, size: (u32, u32)) -> &FadeTargets {
        if self.fade.as_ref().is_none_or(|t| t.size != size) {
            let make = |label| intermediate_texture(&gpu.device, label, size, self.format);
            let (old, new) = (make("fade old"), make("fade new"));
            let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("crossfade"),
                layout: &self.blend.bgl,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(
                            &old.create_view(&Default::default()),
                        ),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(
                            &new.create_view(&Default::default()),
                        ),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: self.blend.weight_buf.as_entire_binding(),
                    },
                ],
            });
            self.fade = Some(FadeTargets {
                size,
                old,
                new,
                bind_group,
            });
        }
        self.fade.as_ref().expect("just made")
    }
}

fn begin_pass<'e>(
    encoder: &'e mut wgpu::CommandEncoder,
    view: &wgpu::TextureView,
    label: &str,
) -> wgpu::RenderPass<'e> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[clear_attachment(view)],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

/// Textures a crossfade draws the two presets into.
struct FadeTargets {
    size: (u32, u32),
    old: wgpu::Texture,
    new: wgpu::Texture,
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
        let tex = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("crossfade"),
            entries: &[
                tex(0),
                tex(1),
                uniform_entry(2, wgpu::ShaderStages::FRAGMENT),
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("crossfade"),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("crossfade"),
            source: wgpu::ShaderSource::Wgsl(format!("{FULLSCREEN_VS_WGSL}{BLEND_WGSL}").into()),
        });
        let pipeline =
            fullscreen_pipeline(device, "crossfade", &layout, &module, "fs_main", format, 1);
        let weight_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("crossfade weight"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            pipeline,
            bgl,
            weight_buf,
        }
    }
}

fn uniform_entry(binding: u32, visibility: wgpu::ShaderStages) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
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
        let offsets: Vec<u32> = members.iter().map(|m| m.offset).collect();
        assert_eq!(offsets, [0, 8, 12, 16, 20, 24, 28, 32, 64, 68, 72, 76]);
        assert_eq!(std::mem::offset_of!(SomniaUniforms, peak), 28);
        assert_eq!(std::mem::offset_of!(SomniaUniforms, bands), 32);
        assert_eq!(std::mem::offset_of!(SomniaUniforms, detected_bpm), 72);
    }
}
