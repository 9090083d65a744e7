//! The public ISF library against Somnia's ISF layers: the `isf` crate (0.1.0) ships the ISF
//! specification's test and tutorial shaders and Vidvox's ISF-Files (321 in all, MIT) in its
//! package. They are found through cargo (`cargo metadata`), not copied here. Every one is
//! translated (naga's GLSL front end) and validated, built into an ISF layer on the real
//! renderer (lavapipe here) and drawn for a few frames over a colourful picture beneath (what
//! a filter reads); one that draws anything but a single flat colour renders. The table of how
//! many got how far is printed.

mod common;

use std::path::{Path, PathBuf};

use somnia::bridge::AudioShape;
use somnia::render::Gpu;
use somnia::render::isf::load;
use somnia::render::isf_layer::{AudioTextures, IsfClock, IsfImages, IsfLayer, upload_rgba};
use somnia::render::offscreen::Offscreen;
use somnia::show::isf_inputs;

/// The `isf` package's own folder, as cargo resolved it for this build.
fn isf_package() -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "isf")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("the isf package is a dependency");
    PathBuf::from(manifest).parent().unwrap().to_path_buf()
}

const SIZE: (u32, u32) = (96, 54);

/// A picture beneath with something everywhere: red across, green down, a blue checker (the
/// other way round for a transition's end).
fn beneath(gpu: &Gpu, inverted: bool) -> wgpu::TextureView {
    let (w, h) = SIZE;
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let checker = ((x / 8 + y / 8) % 2) as u8 * 200;
            let px = [(x * 255 / w) as u8, (y * 255 / h) as u8, checker];
            let px = if inverted { px.map(|c| 255 - c) } else { px };
            rgba.extend([px[0], px[1], px[2], 255]);
        }
    }
    upload_rgba(gpu, "beneath", (w, h), &rgba)
}

/// How far one shader got.
enum Outcome {
    Rendered,
    Refused(String),
    BuiltNotDrawn(String),
    Flat,
}

fn try_shader(
    gpu: &Gpu,
    out: &Offscreen,
    (under, end): (&wgpu::TextureView, &wgpu::TextureView),
    audio: &AudioTextures,
    f: &Path,
) -> Outcome {
    let shader = match load(f) {
        Ok(s) => s,
        Err(d) => {
            // Located: in the shader itself, past its header, or the header's own place.
            assert!(d.line >= 1 && d.col >= 1, "{d}");
            return Outcome::Refused(d.to_string());
        }
    };
    let params = isf_inputs::params(&shader.header);
    let values: Vec<f32> = params.iter().map(|p| p.default).collect();
    let mut layer = match IsfLayer::new(gpu, f, shader, &params, Offscreen::FORMAT, 1) {
        Ok(l) => l,
        Err(d) => return Outcome::BuiltNotDrawn(d.to_string()),
    };
    let mut pictures = Vec::new();
    for frame in 0..4 {
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let clock = IsfClock {
            time_s: 0.5 + 0.5 * f64::from(frame),
            dt_s: 0.5,
            date: [2026.0, 12.0, 2.0, 37_800.0],
        };
        let picture = out.render_with(gpu, |encoder, texture| {
            let view = texture.create_view(&Default::default());
            layer.draw(
                gpu,
                encoder,
                &view,
                Offscreen::FORMAT,
                SIZE,
                0,
                clock,
                &values,
                IsfImages {
                    beneath: Some(under),
                    start: Some(under),
                    end: Some(end),
                    audio: Some(audio),
                },
            );
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Outcome::BuiltNotDrawn(format!("{}: {e}", f.display()));
        }
        pictures.push(picture.expect("read back"));
    }
    let varied = pictures.iter().any(|p| {
        let first = &p[..4];
        p.chunks(4)
            .any(|px| px.iter().zip(first).any(|(a, b)| a.abs_diff(*b) > 2))
    });
    if varied {
        Outcome::Rendered
    } else {
        Outcome::Flat
    }
}

#[test]
fn at_least_95_percent_of_the_public_isf_library_renders_on_lavapipe_and_every_failure_is_located()
{
    let dir = isf_package().join("test_files");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "fs"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 300,
        "{} shaders in {}",
        files.len(),
        dir.display()
    );
    let gpu = Gpu::headless().expect("a graphics adapter (lavapipe)");
    let out = Offscreen::new(&gpu, SIZE.0, SIZE.1);
    let (under, end) = (beneath(&gpu, false), beneath(&gpu, true));
    // A sound for the audio-reactive ones: a falling spectrum with a few peaks, a sine wave.
    let audio = AudioTextures::new(&gpu.device);
    let mut shape = AudioShape::default();
    for (i, (s, w)) in shape
        .spectrum
        .iter_mut()
        .zip(shape.waveform.iter_mut())
        .enumerate()
    {
        let peak = if i % 37 == 5 { 80.0 } else { 0.0 };
        *s = (200.0 - i as f32 * 0.6 + peak).clamp(0.0, 255.0) as u8;
        *w = (128.0 + 100.0 * (i as f32 * 0.2).sin()) as u8;
    }
    audio.write(&gpu.queue, &shape);
    let (mut refused, mut not_drawn, mut flat) = (Vec::new(), Vec::new(), Vec::new());
    for f in &files {
        match try_shader(&gpu, &out, (&under, &end), &audio, f) {
            Outcome::Rendered => {}
            Outcome::Refused(d) => refused.push(d),
            Outcome::BuiltNotDrawn(d) => not_drawn.push(d),
            Outcome::Flat => flat.push(f.file_name().unwrap().to_string_lossy().to_string()),
        }
    }
    let n = files.len();
    let translated = n - refused.len();
    let built = translated - not_drawn.len();
    let rendered = built - flat.len();
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    println!(
        "ISF library ({n} shaders, the isf crate's test_files), {}×{} on lavapipe:",
        SIZE.0, SIZE.1
    );
    println!(
        "  translated and validated   {translated:>4}  ({:.1} %)",
        pct(translated)
    );
    println!(
        "  built and drawn            {built:>4}  ({:.1} %)",
        pct(built)
    );
    println!(
        "  rendered non-uniform       {rendered:>4}  ({:.1} %)",
        pct(rendered)
    );
    println!("refused, with a located error ({}):", refused.len());
    for d in &refused {
        println!("    {d}");
    }
    println!("built but not drawn ({}):", not_drawn.len());
    for d in &not_drawn {
        println!("    {d}");
    }
    println!(
        "drawn, but one flat colour in every frame ({}):",
        flat.len()
    );
    for f in &flat {
        println!("    {f}");
    }
    common::report(
        "measured",
        &format!(
            "ISF library: {translated} of {n} translate and validate, {rendered} render non-uniform on lavapipe ({:.1} %)",
            pct(rendered)
        ),
    );
    assert!(
        pct(rendered) >= 95.0,
        "{:.1} %: refused {refused:#?}, not drawn {not_drawn:#?}, flat {flat:#?}",
        pct(rendered)
    );
}
