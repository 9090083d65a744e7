//! What an output map costs, on whatever GPU wgpu picks (lavapipe here):
//! - whole frame time with 1, 2 and 4 outputs of 1280x720 side by side (the canvas N x 1280
//!   wide, each output a slice of it, each with its own flash guard) against the single-window
//!   engine drawing the same preset at 1280x720 with its guard;
//! - one output's mapping pass (a perspective warp, a mesh, a soft edge, a mask, all baked into
//!   its remap) against a plain full-screen copy of the same size (one bilinear sample of the
//!   canvas a pixel, written by a bare wgpu program), both in this run. Target: at most 1.1x.
//!
//! Frame times are submit until the GPU is done, averaged over FRAMES after a warm-up, the best
//! of three rounds. Passes are timed PASSES at a time in one submission.
//!
//! Run: `cargo bench --bench outputs_frame` (or scripts/bench.sh outputs_frame).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use somnia::bridge::Analysis;
use somnia::clock::Tempo;
use somnia::render::gpu::Gpu;
use somnia::render::mapping::bake::bake;
use somnia::render::mapping::output_pass::{OutputPass, OutputPipeline};
use somnia::render::mapping::stage::OutputStage;
use somnia::render::offscreen::Offscreen;
use somnia::render::passes::{
    FULLSCREEN_VS_WGSL, begin_pass, fullscreen_pipeline, linear_sampler, sampler_entry,
    texture_entry,
};
use somnia::render::renderer::{FrameInputs, Renderer};
use somnia::show::compile::preset_timeline;
use somnia::show::outputs::{OutputMap, parse_outputs};
use somnia::show::project::Project;

const W: u32 = 1280;
const H: u32 = 720;
const FRAMES: usize = 60;
const PASSES: usize = 60;
const FORMAT: wgpu::TextureFormat = Offscreen::FORMAT;
const PRESET: &str = "aurora";

fn texture(gpu: &Gpu, label: &str, size: (u32, u32)) -> wgpu::Texture {
    gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: size.0,
            height: size.1,
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

fn inputs(timeline: &somnia::show::Timeline, i: usize) -> FrameInputs {
    let t = 1.0 + i as f64 / 60.0;
    FrameInputs {
        time_s: t,
        dt_s: 1.0 / 60.0,
        musical: Tempo::default().musical_at(t),
        analysis: Analysis::default(),
        visual: timeline.visual_state_at(t),
        captions: Vec::new(),
        crowd: Default::default(),
        join_code: None,
        date: somnia::render::isf_layer::date_at(0.0),
    }
}

/// The single-window engine: the preset at W x H, guarded.
fn single(gpu: &Gpu, project: &Project) -> Duration {
    let timeline = preset_timeline(project, PRESET, 600.0).expect("preset");
    let mut renderer = Renderer::new(gpu, FORMAT, &timeline.presets).expect("renderer");
    renderer.set_srgb_views(true);
    let target = texture(gpu, "single", (W, H));
    measure(gpu, |enc, i| {
        renderer.encode(gpu, enc, &target, &inputs(&timeline, i))
    })
}

/// `n` outputs of W x H side by side, the canvas n x W wide.
fn wall(n: usize) -> OutputMap {
    let mut src = format!("canvas = [{}, {H}]\n", W as usize * n);
    for k in 0..n {
        src += &format!(
            "[[output]]\nname = \"p{k}\"\nvirtual = {{}}\nsize = [{W}, {H}]\n[[output.slice]]\ncrop = [{}, 0, {W}, {H}]\n",
            k * W as usize
        );
    }
    parse_outputs(Path::new("bench.toml"), &src).expect("bench map")
}

/// The engine and the output stage: the canvas, then every output, each guarded.
fn outputs(gpu: &Gpu, project: &Project, n: usize) -> Duration {
    let timeline = preset_timeline(project, PRESET, 600.0).expect("preset");
    let map = wall(n);
    let mut renderer = Renderer::new(gpu, FORMAT, &timeline.presets).expect("renderer");
    renderer.set_flash_guard(&gpu.device, false);
    let mut stage =
        OutputStage::new(gpu, &map, FORMAT, &vec![FORMAT; n], true).expect("output stage");
    let targets: Vec<wgpu::Texture> = (0..n).map(|_| texture(gpu, "output", (W, H))).collect();
    let canvas = stage.canvas_view().clone();
    let size = stage.canvas_size();
    measure(gpu, |enc, i| {
        renderer.encode_canvas(gpu, enc, &canvas, size, &inputs(&timeline, i));
        for (k, t) in targets.iter().enumerate() {
            stage.encode(gpu, enc, k, t, true, 1.0 / 60.0);
        }
    })
}

const COPY_WGSL: &str = r#"
@group(0) @binding(0) var canvas: texture_2d<f32>;
@group(0) @binding(1) var canvas_sampler: sampler;
@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let size = vec2<f32>(textureDimensions(canvas));
    return vec4<f32>(textureSampleLevel(canvas, canvas_sampler, pos.xy / size, 0.0).rgb, 1.0);
}
// The same copy through a keystone computed in the shader (no texture of its own): what
// sampling off the pixel grid costs by itself.
@fragment
fn fs_keystone(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let size = vec2<f32>(textureDimensions(canvas));
    let p = pos.xy / size;
    let w = 1.0 + 0.03 * p.x + 0.02 * p.y;
    let uv = vec2<f32>(0.98 * p.x + 0.01, 0.97 * p.y + 0.015 * p.x) / w;
    return vec4<f32>(textureSampleLevel(canvas, canvas_sampler, uv, 0.0).rgb, 1.0);
}
"#;

/// PASSES passes in one submission, timed to the GPU's end; the time of one.
fn passes(gpu: &Gpu, mut pass: impl FnMut(&mut wgpu::CommandEncoder)) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..4 {
        let t0 = Instant::now();
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        for _ in 0..PASSES {
            pass(&mut enc);
        }
        gpu.queue.submit([enc.finish()]);
        gpu.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("gpu");
        best = best.min(t0.elapsed() / PASSES as u32);
    }
    best
}

/// A plain full-screen copy of the canvas (bilinear, as the output pass samples it).
fn plain_copy(
    gpu: &Gpu,
    canvas: &wgpu::TextureView,
    target: &wgpu::TextureView,
    entry: &str,
) -> Duration {
    let device = &gpu.device;
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("copy"),
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
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("copy"),
        source: wgpu::ShaderSource::Wgsl(format!("{FULLSCREEN_VS_WGSL}{COPY_WGSL}").into()),
    });
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("copy"),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = fullscreen_pipeline(device, "copy", &pl, &module, entry, FORMAT, 1);
    let sampler = linear_sampler(device);
    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("copy"),
        layout: &layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(canvas),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::Sampler(&sampler),
            },
        ],
    });
    passes(gpu, |enc| {
        let mut p = begin_pass(enc, target, "copy");
        p.set_pipeline(&pipeline);
        p.set_bind_group(0, &group, &[]);
        p.draw(0..3, 0..1);
    })
}

/// One output's mapping pass: warp, mesh, a soft edge and a mask, baked.
fn mapping_pass(gpu: &Gpu, canvas: &wgpu::TextureView, target: &wgpu::TextureView) -> Duration {
    let map = parse_outputs(
        Path::new("bench.toml"),
        &format!(
            "canvas = [{W}, {H}]\n[[output]]\nname = \"p\"\nvirtual = {{}}\nsize = [{W}, {H}]\n[[output.slice]]\ncrop = [0, 0, {W}, {H}]\n[output.warp]\ncorners = [[40, 12], [1250, 0], [1280, 720], [0, 700]]\n[output.mesh]\ncolumns = 3\nrows = 3\npoints = [[0, 0], [0.5, 0.02], [1, 0], [0, 0.5], [0.52, 0.5], [1, 0.5], [0, 1], [0.5, 0.98], [1, 1]]\n[output.blend]\nright = {{ width_px = 256 }}\nblack_lift = 0.02\n[[output.mask]]\npoints = [[1100, 720], [1180, 420], [1280, 420], [1280, 720]]\n"
        ),
    )
    .expect("bench map");
    let t0 = Instant::now();
    let remap = bake(&map.outputs[0], map.canvas);
    println!(
        "(baking that mapping: {:.0} ms on the CPU, once a change)",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let pipeline = OutputPipeline::new(&gpu.device, FORMAT);
    let mut pass = OutputPass::new(
        &gpu.device,
        &gpu.queue,
        &pipeline,
        &remap,
        [2.2; 3],
        canvas,
        None,
    );
    pass.set_lift(&gpu.queue, 0.02);
    passes(gpu, |enc| pass.encode(&pipeline, enc, target, false))
}

fn main() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: single-threaded here; quiets Mesa's device-select layer (see src/main.rs).
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let project = Project::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let gpu = Gpu::headless().expect("a graphics adapter");
    // Three rounds, the sides back to back, the best of each kept: a busy machine's slow
    // moment does not decide a ratio.
    let mut single_t = Duration::MAX;
    let mut walls = [Duration::MAX; 3];
    let canvas = texture(&gpu, "canvas", (W, H));
    let target = texture(&gpu, "target", (W, H));
    let (canvas_view, target_view) = (
        canvas.create_view(&Default::default()),
        target.create_view(&Default::default()),
    );
    let (mut copy_t, mut keystone_t, mut map_t) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        single_t = single_t.min(single(&gpu, &project));
        for (k, n) in [1, 2, 4].into_iter().enumerate() {
            walls[k] = walls[k].min(outputs(&gpu, &project, n));
        }
        copy_t = copy_t.min(plain_copy(&gpu, &canvas_view, &target_view, "fs_main"));
        keystone_t = keystone_t.min(plain_copy(&gpu, &canvas_view, &target_view, "fs_keystone"));
        map_t = map_t.min(mapping_pass(&gpu, &canvas_view, &target_view));
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!();
    println!(
        "Outputs against the single-window engine, `{PRESET}`, {W}x{H} an output, {FRAMES} frames, on {}",
        gpu.describe()
    );
    println!();
    println!("| setup | ms a frame | against one window |");
    println!("|---|---|---|");
    println!(
        "| single window, {W}x{H}, guarded | {:.2} | 1.00 |",
        ms(single_t)
    );
    for (k, n) in [1, 2, 4].into_iter().enumerate() {
        println!(
            "| {n} output(s) side by side: a {}x{H} canvas, each output sliced, mapped and guarded | {:.2} | {:.2} |",
            n * W as usize,
            ms(walls[k]),
            ms(walls[k]) / ms(single_t)
        );
    }
    println!();
    println!("| pass, {W}x{H} | ms a pass | against the plain copy |");
    println!("|---|---|---|");
    println!(
        "| plain full-screen copy (one bilinear sample) | {:.3} | 1.00 |",
        ms(copy_t)
    );
    println!(
        "| the copy through a keystone computed in the shader (no remap) | {:.3} | {:.2} |",
        ms(keystone_t),
        ms(keystone_t) / ms(copy_t)
    );
    println!(
        "| output mapping (warp + mesh + blend + mask, baked) | {:.3} | {:.2} (target: at most 1.10) |",
        ms(map_t),
        ms(map_t) / ms(copy_t)
    );
}
