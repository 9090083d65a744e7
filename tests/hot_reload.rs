//! Shader hot reload never takes the picture down: a broken shader saved mid-run is reported
//! with its file:line:col and the old look stays (frames non-black, unchanged); fixing the file
//! brings the new look. And the file watcher really sees a saved file.

mod common;

use std::time::{Duration, Instant};

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::preset_timeline;
use somnia::show::project::Project;
use somnia::show::watch::FileWatcher;

const GREEN: &str = "@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    return vec4<f32>(0.1, 0.8, 0.2, 1.0);\n}\n";
const BROKEN: &str = "@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    let x = params.r + ;\n    return vec4<f32>(x);\n}\n";

fn mean_rgb(rgba: &[u8]) -> [f64; 3] {
    let n = (rgba.len() / 4) as f64;
    let mut m = [0.0; 3];
    for p in rgba.chunks(4) {
        for c in 0..3 {
            m[c] += f64::from(p[c]) / n;
        }
    }
    m
}

#[test]
fn a_broken_shader_keeps_the_last_good_look_and_a_fix_brings_the_new_one() {
    let dir = temp_project(&[("warm", "warm")]);
    let shader = dir.path().join("shaders/tint.wgsl");
    let timeline = preset_timeline(&Project::new(dir.path()), "warm", 10.0).unwrap();
    let mut fr = FrameRenderer::new(&timeline, 64, 36).unwrap();
    fr.set_flash_guard(false);
    let track = AnalysisTrack::default();
    let before = fr.frame_at(&timeline, &track, 1.0).unwrap();
    let [r, g, b] = mean_rgb(&before);
    assert!(r > 2.0 * g && r > 2.0 * b, "warm starts red: {r} {g} {b}");

    std::fs::write(&shader, BROKEN).unwrap();
    let results = fr.reload_shader(&timeline, &shader);
    let err = results[0]
        .as_ref()
        .expect_err("a broken shader must be refused");
    // At the `;` where the operand should be: line 3, column 24.
    assert_eq!(
        (err.path.as_path(), err.line, err.col),
        (shader.as_path(), 3, 24),
        "{err}"
    );
    let during = fr.frame_at(&timeline, &track, 1.0).unwrap();
    assert_eq!(
        during, before,
        "the old look must stay intact while the shader is broken"
    );

    std::fs::write(&shader, GREEN).unwrap();
    assert_eq!(
        fr.reload_shader(&timeline, &shader)[0].as_ref().unwrap(),
        "warm"
    );
    let [r, g, b] = mean_rgb(&fr.frame_at(&timeline, &track, 1.0).unwrap());
    assert!(
        g > 2.0 * r && g > 2.0 * b,
        "the fixed shader's green look: {r} {g} {b}"
    );
}

#[test]
fn the_watcher_sees_a_saved_shader() {
    let dir = temp_project(&[]);
    let shaders = dir.path().join("shaders");
    let watcher = FileWatcher::new(std::slice::from_ref(&shaders)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let file = shaders.join("tint.wgsl");
    std::fs::write(&file, GREEN).unwrap();
    let t0 = Instant::now();
    loop {
        if watcher
            .changed()
            .iter()
            .any(|p| p.file_name() == file.file_name())
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no change event for {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_renderer_coming_back_to_presets_it_drew_reuses_their_pipelines_instead_of_building_new_ones() {
    use somnia::render::gpu::Gpu;
    use somnia::render::renderer::Renderer;
    let project = Project::new(repo());
    let preset = |name: &str| {
        preset_timeline(&project, name, 10.0)
            .unwrap()
            .presets
            .clone()
    };
    let (aurora, canopy, oasis) = (preset("aurora"), preset("canopy"), preset("oasis"));
    let gpu = Gpu::headless().unwrap();
    let mut r = Renderer::new(&gpu, wgpu::TextureFormat::Rgba8Unorm, &aurora).unwrap();
    // A kiosk going round: each item's presets in turn, three rounds.
    for _ in 0..3 {
        for presets in [&canopy, &oasis, &aurora] {
            assert!(r.rebuild(&gpu, presets).is_empty());
        }
    }
    assert_eq!(r.pipelines_kept(), 3, "one pipeline per shader, built once");
}
