//! Every shipped shader validates, and every shipped preset renders offscreen (lavapipe here)
//! and matches its reference image in tests/golden/.
//!
//! Tolerance: a frame matches when its mean absolute difference is at most 2/255 per channel
//! AND at most 1% of pixels differ by more than 24/255 in any channel. Why: different Vulkan or
//! GL drivers (and LLVM versions inside lavapipe) evaluate sin, pow and fract at large arguments
//! with slightly different precision, which moves a few pixels of noise and star fields by a
//! step or two; any change to a look (colour, layout, a broken parameter) moves far more.
//!
//! To accept a deliberate change of look: `SOMNIA_BLESS=1 cargo test --test golden`, then look
//! at the new images before committing them.

mod common;

use std::path::Path;

use common::*;
use somnia::bridge::Analysis;
use somnia::bridge::AnalysisTrack;
use somnia::commands::check::check_file;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::preset_timeline;
use somnia::show::project::Project;

const SIZE: (u32, u32) = (160, 90);
const AT_S: f64 = 2.5;

/// A fixed analysis so the audio-reactive parts of each shader are exercised, identically
/// every run.
fn fixed_analysis() -> AnalysisTrack {
    let a = Analysis {
        rms: 0.2,
        peak: 0.6,
        bands: [0.6, 0.5, 0.4, 0.35, 0.3, 0.25, 0.2, 0.1],
        onsets: 4,
        last_onset_s: 2.3,
        bpm: 120.0,
        ..Default::default()
    };
    AnalysisTrack {
        sample_rate_hz: 48_000,
        block_frames: 48_000 * 60,
        blocks: vec![a],
        shapes: Vec::new(),
    }
}

fn compare(name: &str, got: &[u8], want: &Image) -> Result<(), String> {
    let n = (SIZE.0 * SIZE.1) as usize;
    let mut sum = 0.0f64;
    let mut far = 0usize;
    for i in 0..n {
        let mut worst = 0u8;
        for c in 0..3 {
            let d = got[4 * i + c].abs_diff(want.rgb[3 * i + c]);
            sum += f64::from(d);
            worst = worst.max(d);
        }
        if worst > 24 {
            far += 1;
        }
    }
    let mean = sum / (3 * n) as f64;
    if mean <= 2.0 && far * 100 <= n {
        Ok(())
    } else {
        Err(format!(
            "{name}: mean difference {mean:.2}/255, {far} of {n} pixels differ by more than 24/255"
        ))
    }
}

#[test]
fn every_shipped_shader_and_preset_passes_check() {
    for dir in ["shaders", "presets"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let errors = check_file(&path);
            assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        }
    }
}

#[test]
fn every_shipped_preset_matches_its_reference_image() {
    let project = Project::new(repo());
    let names = project.preset_names();
    assert!(
        names.len() >= 8,
        "expected at least 8 shipped presets, found {names:?}"
    );
    let bless = std::env::var("SOMNIA_BLESS").is_ok_and(|v| v == "1");
    let golden = repo().join("tests/golden");
    let track = fixed_analysis();
    let mut failures = Vec::new();
    for name in &names {
        let timeline =
            preset_timeline(&project, name, 10.0).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut fr =
            FrameRenderer::new(&timeline, SIZE.0, SIZE.1).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rgba = fr.frame_at(&timeline, &track, AT_S).unwrap();
        let path = golden.join(format!("{name}.png"));
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            somnia::render::offscreen::write_png(&path, SIZE.0, SIZE.1, &rgba).unwrap();
            continue;
        }
        if !Path::new(&path).exists() {
            failures.push(format!(
                "{name}: no reference image {}; run SOMNIA_BLESS=1 cargo test --test golden",
                path.display()
            ));
            continue;
        }
        if let Err(e) = compare(name, &rgba, &read_png(&path)) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
