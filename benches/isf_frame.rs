//! What an ISF shader costs against the same look written in WGSL, at 1280x720, on whatever
//! GPU wgpu picks (lavapipe here):
//! - a representative generator (rings through five octaves of value noise): the ISF shader
//!   (`benches/isf/shaders/rings.fs`, translated through naga's GLSL front end) and the same
//!   maths as a WGSL layer (`rings.wgsl`), both drawn by the engine as presets;
//! - a two-pass feedback look (the rings smeared through a persistent buffer): the ISF shader
//!   (`smear.fs`, PASSES with a PERSISTENT target) drawn by the engine, against a bare wgpu
//!   program drawing the same two passes written in WGSL (two pipelines, ping-pong textures).
//!
//! Whole frame time (submit until the GPU is done), averaged over FRAMES after a warm-up; the
//! flash guard is off in the engine (it costs the same whatever the layer). The target is a
//! translated shader costing at most 1.1x the native one.
//!
//! Run: `cargo bench --bench isf_frame` (or scripts/bench.sh isf_frame).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use somnia::bridge::Analysis;
use somnia::clock::Tempo;
use somnia::render::gpu::Gpu;
use somnia::render::renderer::{FrameInputs, Renderer};
use somnia::show::compile::preset_timeline;
use somnia::show::project::Project;

const W: u32 = 1280;
const H: u32 = 720;
const FRAMES: usize = 120;
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

fn texture(gpu: &Gpu, label: &str) -> wgpu::Texture {
    gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: W,
            height: H,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: FORMAT,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
        view_formats: &[],
    })
}

/// Whole frame time, averaged over FRAMES after five warm-up frames.
fn measure(gpu: &Gpu, mut frame: impl FnMut(&mut wgpu::CommandEncoder, usize)) -> Duration {
    let mut total = Duration::ZERO;
    for i in 0..FRAMES + 5 {
        let t0 = Instant::now();
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        frame(&mut enc, i);
        gpu.queue.submit([enc.finish()]);
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("gpu");
        if i >= 5 {
            total += t0.elapsed();
        }
    }
    total / FRAMES as u32
}

/// The engine drawing preset `name` of the benchmark project, flash guard off.
fn engine(gpu: &Gpu, project: &Project, name: &str, target: &wgpu::Texture) -> Duration {
    let timeline = preset_timeline(project, name, 600.0).expect("benchmark preset");
    let mut renderer = Renderer::new(gpu, FORMAT, &timeline.presets).expect("renderer");
    renderer.set_flash_guard(&gpu.device, false);
    let inputs = |i: usize| FrameInputs {
        time_s: 1.0 + i as f64 / 60.0,
        dt_s: 1.0 / 60.0,
        musical: Tempo::default().musical_at(1.0 + i as f64 / 60.0),
        analysis: Analysis::default(),
        visual: timeline.visual_state_at(1.0),
        captions: Vec::new(),
        crowd: Default::default(),
        join_code: None,
        date: somnia::render::isf_layer::date_at(0.0),
    };
    measure(gpu, |enc, i| renderer.encode(gpu, enc, target, &inputs(i)))
}

/// The two-pass feedback look as a bare wgpu program: the same maths as `smear.fs`.
const SMEAR_WGSL: &str = r#"
struct U { resolution: vec2<f32>, time_s: f32, speed: f32, freq: f32, p0: f32, p1: f32, p2: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var prev: texture_2d<f32>;
@group(0) @binding(2) var smp: sampler;

struct VsOut { @builtin(position) pos: vec4<f32>, @location(0) uv: vec2<f32> }

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VsOut {
    let x = f32((i << 1u) & 2u);
    let y = f32(i & 2u);
    // uv grows upwards, as ISF's coordinates do.
    return VsOut(vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0), vec2<f32>(x, 1.0 - y));
}

fn hash_b(p: vec2<f32>) -> f32 {
    return fract(sin(dot(p, vec2<f32>(127.1, 311.7))) * 43758.5453);
}

fn noise_b(p: vec2<f32>) -> f32 {
    let i = floor(p);
    let f = fract(p);
    let w = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash_b(i), hash_b(i + vec2<f32>(1.0, 0.0)), w.x),
               mix(hash_b(i + vec2<f32>(0.0, 1.0)), hash_b(i + vec2<f32>(1.0, 1.0)), w.x), w.y);
}

fn fbm_b(p_in: vec2<f32>) -> f32 {
    var p = p_in;
    var v = 0.0;
    var a = 0.5;
    for (var k = 0; k < 5; k++) {
        v += a * noise_b(p);
        p *= 2.0;
        a *= 0.5;
    }
    return v;
}

fn rings(uv: vec2<f32>) -> vec3<f32> {
    var p = uv - 0.5;
    p.x *= u.resolution.x / u.resolution.y;
    let n = fbm_b(p * 4.0 + u.time_s * 0.1);
    let v = 0.5 + 0.5 * sin(length(p) * u.freq + n * 6.0 - u.time_s * u.speed);
    return v * vec3<f32>(0.3, 0.6, 1.0) + n * vec3<f32>(0.5, 0.2, 0.1);
}

fn flip(uv: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(uv.x, 1.0 - uv.y);
}

@fragment
fn fs_feedback(in: VsOut) -> @location(0) vec4<f32> {
    let last = textureSample(prev, smp, flip(in.uv + vec2<f32>(0.002, 0.001))).rgb;
    return vec4<f32>(mix(last, rings(in.uv), 0.1), 1.0);
}

@fragment
fn fs_out(in: VsOut) -> @location(0) vec4<f32> {
    return vec4<f32>(textureSample(prev, smp, flip(in.uv)).rgb * 1.2, 1.0);
}
"#;

fn native_smear(gpu: &Gpu, target: &wgpu::Texture) -> Duration {
    let d = &gpu.device;
    let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("smear"),
        source: wgpu::ShaderSource::Wgsl(SMEAR_WGSL.into()),
    });
    let bgl = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: None,
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 1,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: true },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 2,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                count: None,
            },
        ],
    });
    let layout = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: None,
        bind_group_layouts: &[Some(&bgl)],
        immediate_size: 0,
    });
    let pipeline = |entry: &str| {
        d.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(entry),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: FORMAT,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
    };
    let (feedback, out) = (pipeline("fs_feedback"), pipeline("fs_out"));
    let ubuf = d.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 32,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let sampler = d.create_sampler(&wgpu::SamplerDescriptor {
        mag_filter: wgpu::FilterMode::Linear,
        min_filter: wgpu::FilterMode::Linear,
        ..Default::default()
    });
    let acc = [texture(gpu, "acc 0"), texture(gpu, "acc 1")];
    let views: Vec<wgpu::TextureView> = acc
        .iter()
        .map(|t| t.create_view(&Default::default()))
        .collect();
    // Reading acc k.
    let groups: Vec<wgpu::BindGroup> = views
        .iter()
        .map(|v| {
            d.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &bgl,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: ubuf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(v),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::Sampler(&sampler),
                    },
                ],
            })
        })
        .collect();
    let target_view = target.create_view(&Default::default());
    let pass = |enc: &mut wgpu::CommandEncoder,
                view: &wgpu::TextureView,
                pipeline: &wgpu::RenderPipeline,
                group: &wgpu::BindGroup| {
        let mut p = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: None,
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        p.set_pipeline(pipeline);
        p.set_bind_group(0, group, &[]);
        p.draw(0..3, 0..1);
    };
    measure(gpu, |enc, i| {
        let t = 1.0 + i as f32 / 60.0;
        let u: [f32; 8] = [W as f32, H as f32, t, 1.0, 24.0, 0.0, 0.0, 0.0];
        gpu.queue.write_buffer(&ubuf, 0, bytemuck::cast_slice(&u));
        let (read, write) = (i % 2, 1 - i % 2);
        pass(enc, &views[write], &feedback, &groups[read]);
        pass(enc, &target_view, &out, &groups[write]);
    })
}

fn main() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: single-threaded here; quiets Mesa's device-select layer (see src/main.rs).
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let project = Project::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/isf"));
    let gpu = Gpu::headless().expect("a graphics adapter");
    let target = texture(&gpu, "target");
    // Three rounds, each look's two sides back to back, the best of each kept: a busy
    // machine's slow moment does not decide a ratio.
    let (mut rings_wgsl, mut rings_isf) = (Duration::MAX, Duration::MAX);
    let (mut smear_wgsl, mut smear_isf) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        rings_wgsl = rings_wgsl.min(engine(&gpu, &project, "rings-wgsl", &target));
        rings_isf = rings_isf.min(engine(&gpu, &project, "rings-isf", &target));
        smear_wgsl = smear_wgsl.min(native_smear(&gpu, &target));
        smear_isf = smear_isf.min(engine(&gpu, &project, "smear-isf", &target));
    }

    println!();
    println!(
        "ISF against the same look in WGSL, {W}x{H}, {FRAMES} frames, on {}",
        gpu.describe()
    );
    println!();
    println!("| look | WGSL, native (ms a frame) | ISF, translated (ms a frame) | ISF / WGSL |");
    println!("|---|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (look, wgsl, isf) in [
        (
            "generator: rings through 5 octaves of noise (both as engine presets)",
            rings_wgsl,
            rings_isf,
        ),
        (
            "two-pass feedback: the rings smeared through a persistent buffer (ISF in the engine, WGSL a bare two-pass program)",
            smear_wgsl,
            smear_isf,
        ),
    ] {
        println!(
            "| {look} | {:.2} | {:.2} | {:.2} |",
            ms(wgsl),
            ms(isf),
            isf.as_secs_f64() / wgsl.as_secs_f64()
        );
    }
}
