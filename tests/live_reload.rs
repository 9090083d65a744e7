//! Live editing under Xvfb and PulseAudio: `somnia play --rehearsal` on a throwaway project,
//! while the test saves the preset file. A new colour shows up; a broken save keeps the last
//! good look, names the file:line:col on stderr and shows the error on the picture; fixing
//! the file clears it. (Its own test binary, so no other window plays at the same time.)

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

const PRESET: &str = "[layer]\nshader = \"flat.wgsl\"\n[layer.params]\n";

fn preset(r: f32, g: f32) -> String {
    format!("{PRESET}r = {{ default = {r} }}\ng = {{ default = {g} }}\nb = {{ default = 0.1 }}\n")
}

/// (mean red, mean green) of the lit pixels, and how many pixels are in the overlay's colour.
fn screenshot(dir: &std::path::Path, name: &str) -> ([f64; 2], usize) {
    let shot = dir.join(name);
    common::screenshot(&shot);
    let img = read_png(&shot);
    let lit: Vec<&[u8]> = img
        .rgb
        .chunks(3)
        .filter(|p| p.iter().map(|c| u32::from(*c)).sum::<u32>() > 60)
        .collect();
    let mean = |c: usize| lit.iter().map(|p| f64::from(p[c])).sum::<f64>() / lit.len() as f64;
    let text = img
        .rgb
        .chunks(3)
        .filter(|p| p[0] > 180 && p[1] < 170 && p[0] > p[1] + 60)
        .count();
    ([mean(0), mean(1)], text)
}

#[test]
fn a_saved_preset_reloads_and_a_broken_one_keeps_the_last_good_look() {
    if !live_env() {
        return;
    }
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    for d in ["presets", "performances", "shaders"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(fixture("shaders/flat.wgsl"), root.join("shaders/flat.wgsl")).unwrap();
    let look = root.join("presets/look.toml");
    std::fs::write(&look, preset(0.8, 0.1)).unwrap();
    let perf = root.join("performances/perf.toml");
    std::fs::write(&perf, "duration = 9\npreset = \"look\"\n").unwrap();
    let log = root.join("stderr.txt");
    let mut play = somnia()
        .args(["play", "--rehearsal", "--exit-at-end", "--size", "960x540"])
        .arg(&perf)
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let settle = || std::thread::sleep(Duration::from_millis(1500));
    settle();
    let (red, _) = screenshot(root, "red.png");
    assert!(
        red[0] > 150.0 && red[1] < 60.0,
        "the red look first: {red:?}"
    );

    std::fs::write(&look, preset(0.1, 0.8)).unwrap();
    settle();
    let (green, text) = screenshot(root, "green.png");
    assert!(
        green[1] > 150.0 && green[0] < 60.0,
        "the saved green look: {green:?}"
    );
    assert_eq!(text, 0, "no errors, no overlay");

    std::fs::write(&look, format!("{PRESET}r = {{ default = }}\n")).unwrap();
    settle();
    let (kept, text) = screenshot(root, "broken.png");
    assert!(
        kept[1] > 140.0,
        "the last good (green) look stays: {kept:?}"
    );
    assert!(text > 50, "the error shows on the picture ({text} pixels)");

    std::fs::write(&look, preset(0.1, 0.8)).unwrap();
    settle();
    let (_, text) = screenshot(root, "fixed.png");
    assert_eq!(text, 0, "fixed: the overlay is gone");

    assert!(play.wait().unwrap().success());
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        stderr.contains("presets/look.toml:4:"),
        "the error names file:line:col:\n{stderr}"
    );
    assert!(stderr.contains("reloaded"), "{stderr}");
}
