//! An ISF shader drawn as a layer (render thread): its passes in order, each into its
//! target or, last, the layer's picture; persistent targets kept from frame to frame (two
//! textures each, one read while the other is written, so a pass can feed back on itself);
//! `FLOAT` targets in half floats (values above 1 survive); pass sizes from their
//! expressions; image inputs reading the layers beneath; imported images from the shader's
//! own folder.
//!
//! A layer may be drawn in several places in one frame (the performance's preset and a
//! dreamer's): each place (slot) has its own targets, frame count and uniform blocks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use wgpu::naga;

use super::gpu::Gpu;
use super::isf::IsfShader;
use super::isf_size;
use super::passes::{begin_pass, sampler_entry, texture_entry};
use crate::show::Diagnostic;
use crate::show::isf_inputs;
use crate::show::preset::ParamDef;

/// Bytes per uniform block slot: the largest dynamic-offset alignment a device may ask for.
const BLOCK_BYTES: u64 = 256;

/// Most passes an ISF layer may have.
pub const MAX_PASSES: usize = 16;

/// A persistent or intermediate target's format: 8 bits unless the pass asks for `FLOAT`.
const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
const FLOAT_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;

/// The `IsfBuiltins` block, as the translation declares it (std140).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Builtins {
    time: f32,
    time_delta: f32,
    frame_index: i32,
    pass_index: i32,
    render_size: [f32; 2],
    _pad: [f32; 2],
    date: [f32; 4],
}

/// Where one input's value goes in the `IsfInputs` block and which parameters make it.
#[derive(Clone, Debug)]
struct InputSlot {
    /// The input's name (its value may size a pass: `$name`).
    name: String,
    offset: u32,
    kind: InputKind,
    /// Indices into the preset's parameters, one per component.
    params: Vec<usize>,
    /// Each component's value when the preset has no such parameter.
    defaults: Vec<f32>,
}

#[derive(Clone, Debug)]
enum InputKind {
    Floats,
    /// A bool (or event) as the float the block holds: 1 above a half.
    Bool,
    /// A long: the nearest of its `VALUES` (any, if it lists none), as an int.
    Long(Vec<i32>),
}

/// The time a frame gives an ISF layer.
#[derive(Clone, Copy, Debug)]
pub struct IsfClock {
    /// Seconds since the layer's show started.
    pub time_s: f64,
    pub dt_s: f32,
    /// ISF's `DATE`: year, month, day, seconds into the day.
    pub date: [f32; 4],
}

/// The pictures an ISF layer's image inputs read: `startImage` and `endImage` a transition's
/// two sides, any other image input the picture beneath the layer (black where a picture is
/// not given).
#[derive(Clone, Copy, Debug, Default)]
pub struct IsfImages<'a> {
    pub beneath: Option<&'a wgpu::TextureView>,
    pub start: Option<&'a wgpu::TextureView>,
    pub end: Option<&'a wgpu::TextureView>,
    /// The sound's waveform and spectrum ([`AudioTextures`]), for `audio` and `audioFFT`.
    pub audio: Option<&'a AudioTextures>,
}

impl<'a> IsfImages<'a> {
    /// The picture beneath only (a layer or a filter).
    pub fn beneath(view: Option<&'a wgpu::TextureView>) -> Self {
        Self {
            beneath: view,
            ..Self::default()
        }
    }

    fn for_input(&self, input: Option<&isf::Input>, name: &str) -> Option<&'a wgpu::TextureView> {
        match (input.map(|i| &i.ty), name) {
            (Some(isf::InputType::Audio(_)), _) => self.audio.map(|a| &a.waveform),
            (Some(isf::InputType::AudioFft(_)), _) => self.audio.map(|a| &a.spectrum),
            (_, "startImage") => self.start,
            (_, "endImage") => self.end,
            _ => self.beneath,
        }
    }
}

/// The views a texture bind group was made with: a group is reused while they are the same
/// (the audio textures are the renderer's, the same every frame: not part of it).
type GroupKey = (usize, u64, [Option<wgpu::TextureView>; 3]);

/// The sound's shape as two textures, 256 × 1, grey: the waveform (ISF `audio`) and the
/// spectrum (`audioFFT`), written each frame from the analysis.
#[derive(Debug)]
pub struct AudioTextures {
    waveform_texture: wgpu::Texture,
    spectrum_texture: wgpu::Texture,
    shadertoy_texture: wgpu::Texture,
    pub waveform: wgpu::TextureView,
    pub spectrum: wgpu::TextureView,
    /// Shadertoy's audio channel: 256 × 2, the spectrum in row 0 (read at y 0.25), the
    /// waveform in row 1 (0.75).
    pub shadertoy: wgpu::TextureView,
}

impl AudioTextures {
    pub fn new(device: &wgpu::Device) -> Self {
        let make = |label, height| {
            sampled_texture(device, label, (crate::bridge::SHAPE_LEN as u32, height))
        };
        let (waveform_texture, spectrum_texture, shadertoy_texture) = (
            make("audio waveform", 1),
            make("audio spectrum", 1),
            make("shadertoy audio", 2),
        );
        Self {
            waveform: waveform_texture.create_view(&Default::default()),
            spectrum: spectrum_texture.create_view(&Default::default()),
            shadertoy: shadertoy_texture.create_view(&Default::default()),
            waveform_texture,
            spectrum_texture,
            shadertoy_texture,
        }
    }

    /// Uploads `shape` (before the frame's commands run).
    pub fn write(&self, queue: &wgpu::Queue, shape: &crate::bridge::AudioShape) {
        let grey =
            |values: &[u8]| -> Vec<u8> { values.iter().flat_map(|v| [*v, *v, *v, 255]).collect() };
        for (texture, values) in [
            (&self.waveform_texture, &shape.waveform),
            (&self.spectrum_texture, &shape.spectrum),
        ] {
            queue.write_texture(
                texture.as_image_copy(),
                &grey(values),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(4 * crate::bridge::SHAPE_LEN as u32),
                    rows_per_image: Some(1),
                },
                texture.size(),
            );
        }
        let both = [grey(&shape.spectrum), grey(&shape.waveform)].concat();
        queue.write_texture(
            self.shadertoy_texture.as_image_copy(),
            &both,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * crate::bridge::SHAPE_LEN as u32),
                rows_per_image: Some(2),
            },
            self.shadertoy_texture.size(),
        );
    }
}

/// One target's two textures (one is read while the other is written) and which holds the
/// latest picture.
struct Target {
    name: String,
    float: bool,
    size: (u32, u32),
    views: [wgpu::TextureView; 2],
    latest: usize,
}

/// What one slot (a place the layer is drawn in a frame) keeps between frames.
struct SlotState {
    /// The output size the targets were made for.
    size: (u32, u32),
    targets: Vec<Target>,
    frame: u64,
    /// Texture bind groups by (pass, which texture of each target is latest, the picture
    /// beneath).
    groups: HashMap<GroupKey, wgpu::BindGroup>,
}

/// An ISF shader's pipelines and what its draws need.
pub struct IsfLayer {
    header: isf::Isf,
    /// Set 1's textures by binding.
    images: Vec<String>,
    /// Each pass's own, where they differ (Shadertoy's channels).
    pass_images: Vec<Vec<String>>,
    inputs: Vec<InputSlot>,
    /// Bytes per slot of the inputs buffer.
    inputs_stride: u64,
    builtins_buf: wgpu::Buffer,
    inputs_buf: wgpu::Buffer,
    group0: wgpu::BindGroup,
    bgl1: wgpu::BindGroupLayout,
    layout: wgpu::PipelineLayout,
    vertex: wgpu::ShaderModule,
    /// The fragment stage for each pass (one for all when it was not specialised).
    fragments: Vec<wgpu::ShaderModule>,
    /// (fragment module, target format, pipeline).
    pipelines: Vec<(usize, wgpu::TextureFormat, wgpu::RenderPipeline)>,
    blit: Option<(wgpu::TextureFormat, Blit)>,
    black: wgpu::TextureView,
    /// Imported images by name.
    imported: HashMap<String, wgpu::TextureView>,
    slots: HashMap<usize, SlotState>,
    /// Places a frame may draw the layer in (the renderer's slots).
    slot_count: usize,
    path: PathBuf,
}

impl IsfLayer {
    /// Builds the layer's pipelines from a translated, validated shader, for `params` (the
    /// preset's, by name) and `slot_count` places a frame may draw it in. Errors (a driver
    /// refusing the shader, an import that is missing or leaves the shader's folder) name
    /// the file.
    pub fn new(
        gpu: &Gpu,
        path: &Path,
        shader: IsfShader,
        params: &[ParamDef],
        format: wgpu::TextureFormat,
        slot_count: usize,
    ) -> Result<Self, Diagnostic> {
        let device = &gpu.device;
        if shader.header.passes.len() > MAX_PASSES {
            return Err(Diagnostic::file(
                path,
                format!("an ISF layer may have at most {MAX_PASSES} passes"),
            ));
        }
        let inputs = input_slots(&shader, params);
        let (_, block_bytes) = shader.input_layout();
        let inputs_stride = u64::from(block_bytes.max(16)).div_ceil(BLOCK_BYTES) * BLOCK_BYTES;
        let passes = shader.header.passes.len().max(1) as u64;
        let builtins_buf = super::passes::uniform_buffer(
            device,
            "isf builtins",
            slot_count as u64 * passes * BLOCK_BYTES,
        );
        let inputs_buf =
            super::passes::uniform_buffer(device, "isf inputs", slot_count as u64 * inputs_stride);
        let dynamic = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: true,
                min_binding_size: None,
            },
            count: None,
        };
        let mut sampler = sampler_entry(2);
        sampler.visibility = wgpu::ShaderStages::VERTEX_FRAGMENT;
        let bgl0 = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("isf uniforms"),
            entries: &[dynamic(0), dynamic(1), sampler],
        });
        let bound = shader
            .pass_images
            .iter()
            .map(Vec::len)
            .chain([shader.images.len()])
            .max()
            .unwrap_or(0);
        let textures: Vec<_> = (0..bound as u32)
            .map(|b| {
                texture_entry(
                    b,
                    wgpu::ShaderStages::VERTEX_FRAGMENT,
                    wgpu::TextureViewDimension::D2,
                    true,
                )
            })
            .collect();
        let bgl1 = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("isf images"),
            entries: &textures,
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("isf"),
            bind_group_layouts: &[Some(&bgl0), Some(&bgl1)],
            immediate_size: 0,
        });
        let linear = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("isf"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        fn block(buffer: &wgpu::Buffer, size: u64) -> wgpu::BindingResource<'_> {
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer,
                offset: 0,
                size: wgpu::BufferSize::new(size),
            })
        }
        let group0 = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("isf uniforms"),
            layout: &bgl0,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: block(&builtins_buf, std::mem::size_of::<Builtins>() as u64),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: block(&inputs_buf, u64::from(block_bytes.max(4))),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&linear),
                },
            ],
        });
        let imported = import_images(gpu, path, &shader.header)?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = |label: &str, m: naga::Module| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Naga(std::borrow::Cow::Owned(m)),
            })
        };
        let vertex = module("isf vertex", shader.vertex);
        let fragments = match shader.pass_fragments.is_empty() {
            true => vec![module("isf fragment", shader.fragment)],
            false => shader
                .pass_fragments
                .into_iter()
                .map(|m| module("isf pass fragment", m))
                .collect(),
        };
        let mut layer = Self {
            header: shader.header,
            images: shader.images,
            pass_images: shader.pass_images,
            inputs,
            inputs_stride,
            builtins_buf,
            inputs_buf,
            group0,
            bgl1,
            layout,
            vertex,
            fragments,
            pipelines: Vec::new(),
            blit: None,
            black: black_texture(gpu),
            imported,
            slots: HashMap::new(),
            slot_count,
            path: path.to_path_buf(),
        };
        // Every format it draws in, now: the driver's refusal is an error here, not a
        // black picture later.
        let passes = layer.header.passes.clone();
        if passes.is_empty() {
            layer.pipeline(device, 0, format);
        }
        for (k, pass) in passes.iter().enumerate() {
            // A pass with a target draws there; the last draws the picture when it has none.
            if pass.target.is_some() {
                layer.pipeline(device, k, target_format(pass.float));
            } else if k + 1 == passes.len() {
                layer.pipeline(device, k, format);
            }
        }
        if let Some(err) = pollster::block_on(scope.pop()) {
            return Err(Diagnostic::file(
                path,
                format!("the graphics driver rejected the shader: {err}"),
            ));
        }
        Ok(layer)
    }

    /// The pipeline of pass `pass` drawing into `format`, made the first time.
    fn pipeline(
        &mut self,
        device: &wgpu::Device,
        pass: usize,
        format: wgpu::TextureFormat,
    ) -> usize {
        let module = pass.min(self.fragments.len() - 1);
        if let Some(i) = self
            .pipelines
            .iter()
            .position(|(m, f, _)| *m == module && *f == format)
        {
            return i;
        }
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("isf"),
            layout: Some(&self.layout),
            vertex: wgpu::VertexState {
                module: &self.vertex,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &self.fragments[module],
                entry_point: Some("main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        self.pipelines.push((module, format, pipeline));
        self.pipelines.len() - 1
    }

    /// Draws the layer into `out` (of `format` and `size`) for slot `slot`, with the
    /// preset's parameter values `params` and, for its image inputs, `images`.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        out: &wgpu::TextureView,
        format: wgpu::TextureFormat,
        size: (u32, u32),
        slot: usize,
        clock: IsfClock,
        params: &[f32],
        images: IsfImages<'_>,
    ) {
        if slot >= self.slot_count {
            return;
        }
        self.write_inputs(gpu, slot, params);
        let sizes = self.pass_sizes(size, params);
        self.prepare_slot(gpu, slot, size, &sizes);
        let passes = self.header.passes.len().max(1);
        let frame = self.slots.get(&slot).map_or(0, |s| s.frame);
        for k in 0..passes {
            let pass = self.header.passes.get(k);
            let target = pass
                .and_then(|p| p.target.as_deref())
                .and_then(|name| self.target_index(slot, name));
            let render_size = match target {
                Some(t) => self.slots[&slot].targets[t].size,
                None => size,
            };
            let builtins = Builtins {
                time: clock.time_s as f32,
                time_delta: clock.dt_s,
                frame_index: frame.min(i32::MAX as u64) as i32,
                pass_index: k as i32,
                render_size: [render_size.0 as f32, render_size.1 as f32],
                _pad: [0.0; 2],
                date: clock.date,
            };
            let block = (slot * passes + k) as u64 * BLOCK_BYTES;
            gpu.queue
                .write_buffer(&self.builtins_buf, block, bytemuck::bytes_of(&builtins));
            let group1 = self.texture_group(&gpu.device, slot, k, images);
            let pipeline = match target {
                Some(t) => {
                    let float = self.slots[&slot].targets[t].float;
                    self.pipeline(&gpu.device, k, target_format(float))
                }
                None => self.pipeline(&gpu.device, k, format),
            };
            let into = match target {
                Some(t) => {
                    let tg = &self.slots[&slot].targets[t];
                    tg.views[1 - tg.latest].clone()
                }
                None => out.clone(),
            };
            {
                let mut rp = begin_pass(encoder, &into, "isf pass");
                rp.set_pipeline(&self.pipelines[pipeline].2);
                rp.set_bind_group(
                    0,
                    &self.group0,
                    &[block as u32, (slot as u64 * self.inputs_stride) as u32],
                );
                rp.set_bind_group(1, &group1, &[]);
                rp.draw(0..3, 0..1);
            }
            if let Some(t) = target {
                let state = self.slots.get_mut(&slot).expect("prepared");
                let tg = &mut state.targets[t];
                tg.latest = 1 - tg.latest;
                // The last pass drew into its target: the picture is that target's.
                if k + 1 == passes {
                    let latest = tg.views[tg.latest].clone();
                    self.blit(&gpu.device, encoder, &latest, out, format);
                }
            }
        }
        if let Some(s) = self.slots.get_mut(&slot) {
            s.frame += 1;
        }
    }

    /// Writes slot `slot`'s input block from the preset's parameter values.
    fn write_inputs(&self, gpu: &Gpu, slot: usize, params: &[f32]) {
        let mut bytes = vec![0u8; self.inputs_stride as usize];
        for input in &self.inputs {
            let value = |i: usize| {
                input
                    .params
                    .get(i)
                    .and_then(|p| params.get(*p))
                    .copied()
                    .filter(|v| v.is_finite())
                    .unwrap_or(input.defaults[i])
            };
            let at = input.offset as usize;
            match &input.kind {
                InputKind::Floats => {
                    for i in 0..input.defaults.len() {
                        put(&mut bytes, at + 4 * i, value(i).to_ne_bytes());
                    }
                }
                InputKind::Bool => {
                    let v: f32 = if value(0) > 0.5 { 1.0 } else { 0.0 };
                    put(&mut bytes, at, v.to_ne_bytes());
                }
                InputKind::Long(values) => {
                    let v = value(0);
                    let chosen = values
                        .iter()
                        .min_by(|a, b| (**a as f32 - v).abs().total_cmp(&(**b as f32 - v).abs()))
                        .copied()
                        .unwrap_or(v.round() as i32);
                    put(&mut bytes, at, chosen.to_ne_bytes());
                }
            }
        }
        gpu.queue
            .write_buffer(&self.inputs_buf, slot as u64 * self.inputs_stride, &bytes);
    }

    /// Each target's size this frame (pass order), from the passes' expressions.
    fn pass_sizes(&self, size: (u32, u32), params: &[f32]) -> Vec<(String, bool, (u32, u32))> {
        let var = |name: &str| -> Option<f64> {
            match name {
                "WIDTH" => Some(f64::from(size.0)),
                "HEIGHT" => Some(f64::from(size.1)),
                _ => {
                    let input = self.inputs.iter().find(|i| i.name == name)?;
                    let value = input.params.first().and_then(|p| params.get(*p));
                    value.or(input.defaults.first()).map(|v| f64::from(*v))
                }
            }
        };
        let mut out: Vec<(String, bool, (u32, u32))> = Vec::new();
        for pass in &self.header.passes {
            let Some(name) = &pass.target else { continue };
            let w = isf_size::pixels(pass.width.as_deref(), size.0, &var).unwrap_or(size.0);
            let h = isf_size::pixels(pass.height.as_deref(), size.1, &var).unwrap_or(size.1);
            match out.iter_mut().find(|(n, ..)| n == name) {
                // A target drawn by two passes keeps the first's size and takes FLOAT from
                // either.
                Some(t) => t.1 |= pass.float,
                None => out.push((name.clone(), pass.float, (w, h))),
            }
        }
        out
    }

    /// Makes slot `slot`'s targets, again when the output's size or a target's changed
    /// (what persistent targets held is lost then, as in other ISF hosts).
    fn prepare_slot(
        &mut self,
        gpu: &Gpu,
        slot: usize,
        size: (u32, u32),
        sizes: &[(String, bool, (u32, u32))],
    ) {
        let current = self.slots.get(&slot).is_some_and(|s| {
            s.size == size
                && s.targets.len() == sizes.len()
                && s.targets
                    .iter()
                    .zip(sizes)
                    .all(|(t, (n, f, sz))| t.name == *n && t.float == *f && t.size == *sz)
        });
        if current {
            return;
        }
        let frame = self.slots.get(&slot).map_or(0, |s| s.frame);
        let targets = sizes
            .iter()
            .map(|(name, float, sz)| {
                let make = || {
                    gpu.device
                        .create_texture(&wgpu::TextureDescriptor {
                            label: Some("isf target"),
                            size: wgpu::Extent3d {
                                width: sz.0,
                                height: sz.1,
                                depth_or_array_layers: 1,
                            },
                            mip_level_count: 1,
                            sample_count: 1,
                            dimension: wgpu::TextureDimension::D2,
                            format: target_format(*float),
                            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                                | wgpu::TextureUsages::TEXTURE_BINDING,
                            view_formats: &[],
                        })
                        .create_view(&Default::default())
                };
                Target {
                    name: name.clone(),
                    float: *float,
                    size: *sz,
                    views: [make(), make()],
                    latest: 0,
                }
            })
            .collect();
        self.slots.insert(
            slot,
            SlotState {
                size,
                targets,
                frame,
                groups: HashMap::new(),
            },
        );
    }

    fn target_index(&self, slot: usize, name: &str) -> Option<usize> {
        self.slots
            .get(&slot)?
            .targets
            .iter()
            .position(|t| t.name == name)
    }

    /// Set 1 for pass `k` of slot `slot`: each target's latest picture (a pass reading its
    /// own target reads the last frame's), the picture beneath for image inputs, imports.
    fn texture_group(
        &mut self,
        device: &wgpu::Device,
        slot: usize,
        k: usize,
        images: IsfImages<'_>,
    ) -> wgpu::BindGroup {
        let state = self.slots.get_mut(&slot).expect("prepared");
        let mask = state
            .targets
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, t)| m | ((t.latest as u64) << (i % 64)));
        let key = (
            k,
            mask,
            [images.beneath, images.start, images.end].map(|v| v.cloned()),
        );
        if let Some(g) = state.groups.get(&key) {
            return g.clone();
        }
        let names = self
            .pass_images
            .get(k)
            .or(self.pass_images.last())
            .unwrap_or(&self.images);
        let views: Vec<&wgpu::TextureView> = names
            .iter()
            .map(|name| {
                if let Some(t) = state.targets.iter().find(|t| t.name == *name) {
                    &t.views[t.latest]
                } else if let Some(v) = self.imported.get(name) {
                    v
                } else if let Some(special) = name.strip_prefix("isf:") {
                    match special {
                        "audio" => images.audio.map_or(&self.black, |a| &a.shadertoy),
                        "beneath" => images.beneath.unwrap_or(&self.black),
                        _ => &self.black,
                    }
                } else {
                    let input = self.header.inputs.iter().find(|i| i.name == *name);
                    images.for_input(input, name).unwrap_or(&self.black)
                }
            })
            .collect();
        let entries: Vec<wgpu::BindGroupEntry> = views
            .iter()
            .enumerate()
            .map(|(b, v)| wgpu::BindGroupEntry {
                binding: b as u32,
                resource: wgpu::BindingResource::TextureView(v),
            })
            .collect();
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("isf images"),
            layout: &self.bgl1,
            entries: &entries,
        });
        // Bounded: a picture beneath that changes every frame must not pile groups up.
        if state.groups.len() >= 64 {
            state.groups.clear();
        }
        state.groups.insert(key, group.clone());
        group
    }

    /// Copies a target's picture to the layer's output (the last pass drew into a target).
    fn blit(
        &mut self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        from: &wgpu::TextureView,
        out: &wgpu::TextureView,
        format: wgpu::TextureFormat,
    ) {
        if self.blit.as_ref().is_none_or(|(f, _)| *f != format) {
            self.blit = Some((format, Blit::new(device, format)));
        }
        let (_, blit) = self.blit.as_ref().expect("just made");
        blit.draw(device, encoder, from, out);
    }

    /// The index of parameter `name` among those it was built for (a transition's
    /// `progress`).
    pub fn param_index(&self, name: &str) -> Option<usize> {
        let input = self.inputs.iter().find(|i| i.name == name)?;
        input.params.first().copied().filter(|p| *p != usize::MAX)
    }

    /// The shader file this layer draws.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn put<const N: usize>(bytes: &mut [u8], at: usize, v: [u8; N]) {
    if let Some(dst) = bytes.get_mut(at..at + N) {
        dst.copy_from_slice(&v);
    }
}

fn target_format(float: bool) -> wgpu::TextureFormat {
    if float { FLOAT_FORMAT } else { TARGET_FORMAT }
}

/// Each value input's place in the block and the parameters (by name) that make it.
fn input_slots(shader: &IsfShader, params: &[ParamDef]) -> Vec<InputSlot> {
    let (fields, _) = shader.input_layout();
    let own = isf_inputs::params(&shader.header);
    let mut out = Vec::new();
    for input in &shader.header.inputs {
        let names = isf_inputs::components(input);
        if names.is_empty() {
            continue;
        }
        let member = match input.ty {
            isf::InputType::Bool(_) | isf::InputType::Event => format!("isf_bool_{}", input.name),
            _ => input.name.clone(),
        };
        let Some((_, offset)) = fields.iter().find(|(n, _)| *n == member) else {
            continue;
        };
        let kind = match &input.ty {
            isf::InputType::Bool(_) | isf::InputType::Event => InputKind::Bool,
            isf::InputType::Long(l) => InputKind::Long(l.values.clone()),
            _ => InputKind::Floats,
        };
        let index = |n: &String| params.iter().position(|p| p.name == *n);
        let default = |n: &String| own.iter().find(|p| p.name == *n).map_or(0.0, |p| p.default);
        out.push(InputSlot {
            name: input.name.clone(),
            offset: *offset,
            kind,
            params: names
                .iter()
                .map(|n| index(n).unwrap_or(usize::MAX))
                .collect(),
            defaults: names.iter().map(default).collect(),
        });
    }
    out
}

/// A 1×1 transparent black texture: an image input with nothing beneath it.
fn black_texture(gpu: &Gpu) -> wgpu::TextureView {
    gpu.device
        .create_texture(&wgpu::TextureDescriptor {
            label: Some("isf black"),
            size: wgpu::Extent3d {
                width: 1,
                height: 1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: TARGET_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        })
        .create_view(&Default::default())
}

/// The shader's IMPORTED images, read from its own folder (PNG or JPEG): a name that leaves the
/// folder, or a file that cannot be read, is an error naming the shader.
fn import_images(
    gpu: &Gpu,
    shader_path: &Path,
    header: &isf::Isf,
) -> Result<HashMap<String, wgpu::TextureView>, Diagnostic> {
    let mut out = HashMap::new();
    for (name, file) in super::isf::imports(shader_path, header)? {
        let (w, h, rgba) = read_image(&file).map_err(|e| {
            Diagnostic::file(
                shader_path,
                format!("IMPORTED `{name}`: cannot read {}: {e}", file.display()),
            )
        })?;
        out.insert(name.clone(), upload_rgba(gpu, "isf import", (w, h), &rgba));
    }
    Ok(out)
}

/// An RGBA8 texture of `size` pixels that shaders sample and the CPU writes.
fn sampled_texture(device: &wgpu::Device, label: &str, size: (u32, u32)) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: size.0,
            height: size.1,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: TARGET_FORMAT,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

/// A texture holding `rgba` (RGBA8, `size` pixels, top row first), to sample.
pub fn upload_rgba(gpu: &Gpu, label: &str, size: (u32, u32), rgba: &[u8]) -> wgpu::TextureView {
    let texture = sampled_texture(&gpu.device, label, size);
    gpu.queue.write_texture(
        texture.as_image_copy(),
        rgba,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(4 * size.0),
            rows_per_image: Some(size.1),
        },
        texture.size(),
    );
    texture.create_view(&Default::default())
}

/// A PNG or JPEG (told by its first bytes, not its name) as RGBA8, top row first.
fn read_image(path: &Path) -> Result<(u32, u32, Vec<u8>), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return read_jpeg(&bytes);
    }
    if !bytes.starts_with(b"\x89PNG") {
        return Err("not a PNG or JPEG image (ISF imports are read as PNG or JPEG)".into());
    }
    read_png(&bytes)
}

fn usable(w: u32, h: u32) -> Result<(), String> {
    if w == 0 || h == 0 || w > 8192 || h > 8192 {
        return Err(format!("{w}×{h} is not a usable size (1 to 8192 a side)"));
    }
    Ok(())
}

/// A JPEG as RGBA8.
fn read_jpeg(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    // The size first: a header claiming 65535 × 65535 is refused before anything is decoded.
    decoder.read_info().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no image information")?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    usable(w, h)?;
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let rgba = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|g| [*g, *g, *g, 255]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks(2)
            .flat_map(|c| [c[0], c[0], c[0], 255])
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks(4)
            .flat_map(|c| {
                let k = 255 - u16::from(c[3]);
                let ch = |v: u8| ((255 - u16::from(v)) * k / 255) as u8;
                [ch(c[0]), ch(c[1]), ch(c[2]), 255]
            })
            .collect(),
    };
    Ok((w, h, rgba))
}

/// A PNG as RGBA8.
fn read_png(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let (w, h) = (info.width, info.height);
    usable(w, h)?;
    let px = (w * h) as usize;
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf[..px * 4].to_vec(),
        png::ColorType::Rgb => buf[..px * 3]
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf[..px * 2]
            .chunks(2)
            .flat_map(|c| [c[0], c[0], c[0], c[1]])
            .collect(),
        png::ColorType::Grayscale => buf[..px].iter().flat_map(|g| [*g, *g, *g, 255]).collect(),
        png::ColorType::Indexed => return Err("an indexed PNG was not expanded".into()),
    };
    Ok((w, h, rgba))
}

/// Draws a texture over a whole target, scaled with bilinear filtering.
struct Blit {
    pipeline: wgpu::RenderPipeline,
    bgl: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

const BLIT_WGSL: &str = r#"
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(1) var smp: sampler;

struct Out {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
}

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> Out {
    let x = f32((i << 1u) & 2u);
    let y = f32(i & 2u);
    return Out(vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0), vec2<f32>(x, y));
}

@fragment
fn fs_main(in: Out) -> @location(0) vec4<f32> {
    return textureSample(src, smp, in.uv);
}
"#;

impl Blit {
    fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("isf blit"),
            entries: &[
                texture_entry(
                    0,
                    wgpu::ShaderStages::FRAGMENT,
                    wgpu::TextureViewDimension::D2,
                    true,
                ),
                sampler_entry(1),
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("isf blit"),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("isf blit"),
            source: wgpu::ShaderSource::Wgsl(BLIT_WGSL.into()),
        });
        let pipeline = super::passes::fullscreen_pipeline(
            device, "isf blit", &layout, &module, "fs_main", format, 1,
        );
        Self {
            pipeline,
            bgl,
            sampler: super::passes::linear_sampler(device),
        }
    }

    fn draw(
        &self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        from: &wgpu::TextureView,
        out: &wgpu::TextureView,
    ) {
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("isf blit"),
            layout: &self.bgl,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(from),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
            ],
        });
        let mut rp = begin_pass(encoder, out, "isf blit");
        rp.set_pipeline(&self.pipeline);
        rp.set_bind_group(0, &group, &[]);
        rp.draw(0..3, 0..1);
    }
}

/// ISF's `DATE` now, on the UTC calendar: year, month, day, seconds into the day.
pub fn date_now() -> [f32; 4] {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    date_at(secs)
}

/// [`date_now`] at `secs` seconds after 1970-01-01 UTC (offline renders count from there,
/// so their frames do not depend on the day they were made).
pub fn date_at(secs: f64) -> [f32; 4] {
    let days = (secs / 86_400.0).floor() as i64;
    let into_day = secs - days as f64 * 86_400.0;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    [year as f32, month as f32, day as f32, into_day as f32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_read_on_the_civil_calendar() {
        assert_eq!(date_at(0.0), [1970.0, 1.0, 1.0, 0.0]);
        // 2026-12-02 10:30:00 UTC.
        assert_eq!(date_at(1_796_207_400.0), [2026.0, 12.0, 2.0, 37_800.0]);
        // 2024-02-29 (a leap day), noon.
        assert_eq!(date_at(1_709_208_000.0), [2024.0, 2.0, 29.0, 43_200.0]);
    }
}
