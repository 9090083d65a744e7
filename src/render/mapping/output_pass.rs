//! One output's full-screen pass on the render thread: each output pixel loads its texel of
//! the baked remap and samples the canvas there, scaled by the blend's gain through the
//! projector's gamma and lifted by the black level outside the overlaps. One texel load and
//! one bilinear sample a pixel, whatever the mapping holds.
//!
//! The remap's third channel is uploaded already through the projector's gamma when its three
//! channels share one (the usual case): the pass then multiplies, with no `pow` a pixel (on a
//! CPU rasteriser that `pow` cost more than half a plain copy). Only a projector with a gamma
//! per channel pays for it.

use super::bake::Remap;
use crate::render::passes::{
    begin_pass, fullscreen_pipeline, linear_sampler, sampler_entry, texture_entry, uniform_buffer,
    uniform_entry,
};

const SHADER: &str = r#"
struct Grade {
    // 1 / gamma per channel (w unused).
    inv_gamma: vec4<f32>,
    // x: the black-level lift outside the overlaps; yz: remap texels per target pixel (a
    // window the monitor made larger or smaller than the output's size).
    lift: vec4<f32>,
};
@group(0) @binding(0) var canvas: texture_2d<f32>;
@group(0) @binding(1) var remap: texture_2d<f32>;
@group(0) @binding(2) var canvas_sampler: sampler;
@group(0) @binding(3) var<uniform> grade: Grade;

fn lifted(c: vec3<f32>, m: vec4<f32>) -> vec4<f32> {
    let lift = grade.lift.x * m.w;
    return vec4<f32>(c + lift * (vec3<f32>(1.0) - c), 1.0);
}

// One gamma for the three channels: the remap's gain went through it when uploaded.
@fragment
fn fs_one_gamma(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let m = textureLoad(remap, vec2<i32>(pos.xy * grade.lift.yz), 0);
    return lifted(textureSampleLevel(canvas, canvas_sampler, m.xy, 0.0).rgb * m.z, m);
}

// A gamma per channel: the gain is in linear light, raised here.
@fragment
fn fs_gamma_each(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let m = textureLoad(remap, vec2<i32>(pos.xy * grade.lift.yz), 0);
    let c = textureSampleLevel(canvas, canvas_sampler, m.xy, 0.0).rgb;
    return lifted(c * pow(vec3<f32>(max(m.z, 1e-8)), grade.inv_gamma.xyz), m);
}
"#;

/// The output pass's pipeline for one target format (outputs of the same format share it).
pub struct OutputPipeline {
    pub format: wgpu::TextureFormat,
    layout: wgpu::BindGroupLayout,
    /// For a projector with one gamma, and one with a gamma per channel.
    one_gamma: wgpu::RenderPipeline,
    gamma_each: wgpu::RenderPipeline,
    sampler: wgpu::Sampler,
}

impl OutputPipeline {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let fragment = wgpu::ShaderStages::FRAGMENT;
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("output"),
            entries: &[
                texture_entry(0, fragment, wgpu::TextureViewDimension::D2, true),
                texture_entry(1, fragment, wgpu::TextureViewDimension::D2, false),
                sampler_entry(2),
                uniform_entry(3, fragment),
            ],
        });
        let (pipeline_layout, module) =
            crate::render::passes::fullscreen_program(device, "output", &layout, SHADER);
        let pipeline = |entry| {
            fullscreen_pipeline(
                device,
                "output",
                &pipeline_layout,
                &module,
                entry,
                format,
                1,
            )
        };
        Self {
            format,
            layout,
            one_gamma: pipeline("fs_one_gamma"),
            gamma_each: pipeline("fs_gamma_each"),
            sampler: linear_sampler(device),
        }
    }
}

/// One output's remap on the GPU and what it reads.
pub struct OutputPass {
    size: (u32, u32),
    /// The grade as last set, and the target size it was written for.
    gamma: [f64; 3],
    black_lift: f64,
    target: (u32, u32),
    remap: wgpu::Texture,
    grade: wgpu::Buffer,
    /// Reading the show's canvas, and the test card.
    show: wgpu::BindGroup,
    card: Option<wgpu::BindGroup>,
}

impl OutputPass {
    /// A pass for `remap` reading `canvas` (and `card`, the test card, when one is made).
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pipeline: &OutputPipeline,
        remap: &Remap,
        gamma: [f64; 3],
        canvas: &wgpu::TextureView,
        card: Option<&wgpu::TextureView>,
    ) -> Self {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("output remap"),
            size: wgpu::Extent3d {
                width: remap.size.0,
                height: remap.size.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let grade = uniform_buffer(device, "output grade", 32);
        let remap_view = texture.create_view(&Default::default());
        let bind = |source: &wgpu::TextureView| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("output"),
                layout: &pipeline.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::TextureView(source),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&remap_view),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::Sampler(&pipeline.sampler),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: grade.as_entire_binding(),
                    },
                ],
            })
        };
        let show = bind(canvas);
        let card = card.map(bind);
        let mut pass = Self {
            size: remap.size,
            gamma: [2.2; 3],
            black_lift: 0.0,
            target: remap.size,
            remap: texture,
            grade,
            show,
            card,
        };
        pass.upload(queue, remap, gamma);
        pass
    }

    /// Loads a new bake of the same size (a calibration change), for a projector of `gamma`.
    pub fn upload(&mut self, queue: &wgpu::Queue, remap: &Remap, gamma: [f64; 3]) {
        if remap.size != self.size {
            return;
        }
        self.gamma = gamma;
        let one = gamma[0] == gamma[1] && gamma[1] == gamma[2];
        let texels: Vec<[f32; 4]> = if one {
            let inv = (1.0 / gamma[0].max(0.01)) as f32;
            remap
                .texels
                .iter()
                .map(|t| {
                    let gain = if t[2] < 1.0 {
                        t[2].max(0.0).powf(inv)
                    } else {
                        t[2]
                    };
                    [t[0], t[1], gain, t[3]]
                })
                .collect()
        } else {
            remap.texels.clone()
        };
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.remap,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(&texels),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(remap.size.0 * 16),
                rows_per_image: Some(remap.size.1),
            },
            wgpu::Extent3d {
                width: remap.size.0,
                height: remap.size.1,
                depth_or_array_layers: 1,
            },
        );
        self.write_grade(queue);
    }

    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The black-level lift (a uniform: no upload).
    pub fn set_lift(&mut self, queue: &wgpu::Queue, black_lift: f64) {
        self.black_lift = black_lift;
        self.write_grade(queue);
    }

    fn write_grade(&self, queue: &wgpu::Queue) {
        let inv = self.gamma.map(|g| (1.0 / g.max(0.01)) as f32);
        let scale = [
            self.size.0 as f32 / self.target.0.max(1) as f32,
            self.size.1 as f32 / self.target.1.max(1) as f32,
        ];
        let data: [f32; 8] = [
            inv[0],
            inv[1],
            inv[2],
            0.0,
            self.black_lift as f32,
            scale[0],
            scale[1],
            0.0,
        ];
        queue.write_buffer(&self.grade, 0, bytemuck::cast_slice(&data));
    }

    /// The size of the target drawn into next (a window may not be the output's size).
    pub fn set_target(&mut self, queue: &wgpu::Queue, target: (u32, u32)) {
        if target != self.target {
            self.target = target;
            self.write_grade(queue);
        }
    }

    /// Draws the output into `view` (the canvas, or the test card when `card` and one is made).
    pub fn encode(
        &self,
        pipeline: &OutputPipeline,
        encoder: &mut wgpu::CommandEncoder,
        view: &wgpu::TextureView,
        card: bool,
    ) {
        let bind_group = match (&self.card, card) {
            (Some(c), true) => c,
            _ => &self.show,
        };
        let mut pass = begin_pass(encoder, view, "output");
        let one = self.gamma[0] == self.gamma[1] && self.gamma[1] == self.gamma[2];
        pass.set_pipeline(if one {
            &pipeline.one_gamma
        } else {
            &pipeline.gamma_each
        });
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}
