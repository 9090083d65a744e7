//! Frame cost of the render thread, in a table, on whatever GPU wgpu picks (lavapipe here):
//! - the engine drawing a single-layer preset (`aurora`) at 1280x720, with the flash guard (as
//!   shipped) and without it;
//! - a bare, minimal wgpu program drawing the same shader with the same uniforms at the same
//!   size: one pipeline, one pass, nothing else;
//! - for each, the render thread's CPU time per frame (encoding and submitting; the wait for
//!   the GPU excluded) and the whole frame time (submit until the GPU is done).
//!
//! Run: `cargo bench --bench render_frame` (or scripts/bench.sh).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use somnia::bridge::Analysis;
use somnia::clock::Tempo;
use somnia::render::gpu::Gpu;
use somnia::render::renderer::{FrameInputs, Renderer, SomniaUniforms};
use somnia::render::shader::assemble;
use somnia::show::compile::preset_timeline;
use somnia::show::look::Post;
use somnia::show::project::Project;

const W: u32 = 1280;
const H: u32 = 720;
const FRAMES: usize = 60;
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// A target like `somnia render`'s: sampled and with an sRGB twin, so the guard works in place.
fn target(gpu: &Gpu) -> wgpu::Texture {
    gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: None,
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
        view_formats: &[FORMAT.add_srgb_suffix()],
    })
}

/// (CPU time per frame, whole frame time), averaged over FRAMES after one warm-up frame.
fn measure(
    gpu: &Gpu,
    mut frame: impl FnMut(&mut wgpu::CommandEncoder, usize),
) -> (Duration, Duration) {
    let mut cpu = Duration::ZERO;
    let mut total = Duration::ZERO;
    for i in 0..=FRAMES {
        let t0 = Instant::now();
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        frame(&mut enc, i);
        gpu.queue.submit([enc.finish()]);
        let t1 = Instant::now();
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("gpu");
        if i > 0 {
            cpu += t1 - t0;
            total += t0.elapsed();
        }
    }
    (cpu / FRAMES as u32, total / FRAMES as u32)
}

fn main() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: single-threaded here; quiets Mesa's device-select layer (see src/main.rs).
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let project = Project::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let timeline = preset_timeline(&project, "aurora", 60.0).expect("aurora preset");
    let gpu = Gpu::headless().expect("a graphics adapter");
    let texture = target(&gpu);
    let view = texture.create_view(&Default::default());
    let inputs = |i: usize| FrameInputs {
        time_s: 1.0 + i as f64 / 30.0,
        dt_s: 1.0 / 30.0,
        musical: Tempo::default().musical_at(1.0 + i as f64 / 30.0),
        analysis: Analysis {
            rms: 0.2,
            peak: 0.5,
            ..Default::default()
        },
        visual: timeline.visual_state_at(1.0),
        captions: Vec::new(),
        crowd: Default::default(),
        join_code: None,
        date: somnia::render::isf_layer::date_at(0.0),
    };

    // The engine, as shipped (flash guard on), then without the guard.
    let mut renderer = Renderer::new(&gpu, FORMAT, &timeline.presets).expect("renderer");
    renderer.set_srgb_views(true);
    let engine = measure(&gpu, |enc, i| {
        renderer.encode(&gpu, enc, &texture, &inputs(i))
    });
    // The same with the whole post chain at work (glitch, glow, trails, grade).
    let with_post = |i| {
        let mut f = inputs(i);
        f.visual.post = Post {
            trails_s: 1.0,
            glow: 0.6,
            saturation: 1.2,
            glitch: 0.5,
            ..Post::default()
        };
        f
    };
    let engine_post = measure(&gpu, |enc, i| {
        renderer.encode(&gpu, enc, &texture, &with_post(i))
    });
    // A look's usual post: glow and a grade, no trails or glitch (the history is not kept).
    let with_glow = |i| {
        let mut f = inputs(i);
        f.visual.post = Post {
            glow: 0.6,
            saturation: 1.2,
            ..Post::default()
        };
        f
    };
    let engine_glow = measure(&gpu, |enc, i| {
        renderer.encode(&gpu, enc, &texture, &with_glow(i))
    });
    // The guard's own full pass, as on a window surface that cannot be sampled.
    renderer.set_srgb_views(false);
    let engine_guard_pass = measure(&gpu, |enc, i| {
        renderer.encode(&gpu, enc, &texture, &inputs(i))
    });
    renderer.set_flash_guard(&gpu.device, false);
    let engine_no_guard = measure(&gpu, |enc, i| {
        renderer.encode(&gpu, enc, &texture, &inputs(i))
    });

    // The bare program: the same assembled shader, one pipeline, one pass.
    let preset = &timeline.presets[0];
    let src = std::fs::read_to_string(&preset.layer.shader_path).unwrap();
    let shader = assemble(&preset.layer.shader_path, &src, &preset.layer.params);
    let d = &gpu.device;
    let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(shader.source.into()),
    });
    let entry = |binding| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let bgl = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: None,
        entries: &[entry(0), entry(1)],
    });
    let layout = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: None,
        bind_group_layouts: &[Some(&bgl)],
        immediate_size: 0,
    });
    let pipeline = d.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: None,
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
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: FORMAT,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    });
    let buf = |size| {
        d.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let (ubuf, pbuf) = (
        buf(std::mem::size_of::<SomniaUniforms>() as u64),
        buf(4 * preset.layer.params.len() as u64),
    );
    let bind = d.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &bgl,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: ubuf.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: pbuf.as_entire_binding(),
            },
        ],
    });
    let params: Vec<f32> = preset.layer.params.iter().map(|p| p.default).collect();
    let bare = measure(&gpu, |enc, i| {
        let t = 1.0 + i as f32 / 30.0;
        let u = SomniaUniforms {
            resolution: [W as f32, H as f32],
            time_s: t,
            beat: t * 2.0,
            bar: t / 2.0,
            tempo_bpm: 120.0,
            rms: 0.2,
            peak: 0.5,
            ..Default::default()
        };
        gpu.queue.write_buffer(&ubuf, 0, bytemuck::bytes_of(&u));
        gpu.queue
            .write_buffer(&pbuf, 0, bytemuck::cast_slice(&params));
        let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: None,
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
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
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.draw(0..3, 0..1);
    });

    println!();
    println!(
        "single-layer preset `aurora`, {W}x{H}, {FRAMES} frames, on {}",
        gpu.describe()
    );
    println!();
    println!(
        "| renderer | CPU per frame (ms, GPU wait excluded) | frame time (ms) | fps | vs bare |"
    );
    println!("|---|---|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (name, (cpu, total)) in [
        (
            "somnia engine (flash guard on, in place: as shipped)",
            engine,
        ),
        (
            "somnia engine (flash guard's own pass, for unsampleable surfaces)",
            engine_guard_pass,
        ),
        ("somnia engine (flash guard off)", engine_no_guard),
        (
            "somnia engine + post chain (glitch, glow, trails, grade)",
            engine_post,
        ),
        ("somnia engine + post chain (glow, grade)", engine_glow),
        ("bare wgpu program", bare),
    ] {
        println!(
            "| {name} | {:.3} | {:.2} | {:.1} | {:.2}× |",
            ms(cpu),
            ms(total),
            1e3 / ms(total),
            ms(total) / ms(bare.1)
        );
    }
}
