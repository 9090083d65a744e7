//! Live editing under Xvfb and PulseAudio: `somnia play --rehearsal` on a throwaway project,
//! while the test saves the preset file. A new colour shows up; a broken save keeps the last
//! good look, names the file:line:col on stderr and shows the error on the picture; fixing
//! the file clears it. (Its own test binary, so no other window plays at the same time.)

mod common;

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

/// Takes screenshots until `good` holds of one (5 s at most); returns the last.
fn shot_until(
    dir: &std::path::Path,
    name: &str,
    good: impl Fn(&[f64; 2], usize) -> bool,
) -> ([f64; 2], usize) {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (colour, text) = screenshot(dir, name);
        if good(&colour, text) || std::time::Instant::now() > until {
            return (colour, text);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_saved_preset_reloads_and_a_broken_one_keeps_the_last_good_look() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    for d in ["presets", "performances", "shaders"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(fixture("shaders/flat.wgsl"), root.join("shaders/flat.wgsl")).unwrap();
    let look = root.join("presets/look.toml");
    std::fs::write(&look, preset(0.8, 0.1)).unwrap();
    let perf = root.join("performances/perf.toml");
    std::fs::write(&perf, "duration = 60\npreset = \"look\"\n").unwrap();
    let play = LivePlay::start(
        root,
        &["--rehearsal", "--size", "960x540", "--no-osc", "--no-midi"],
        &perf,
    );
    play.wait_until_up();
    let (red, _) = shot_until(root, "red.png", |c, _| c[0] > 150.0);
    assert!(
        red[0] > 150.0 && red[1] < 60.0,
        "the red look first: {red:?}"
    );

    let reloads = || play.log_text().matches("somnia: reloaded `").count();
    std::fs::write(&look, preset(0.1, 0.8)).unwrap();
    assert!(play.wait_for_log("somnia: reloaded `", Duration::from_secs(5)));
    let (green, text) = shot_until(root, "green.png", |c, _| c[1] > 150.0);
    assert!(
        green[1] > 150.0 && green[0] < 60.0,
        "the saved green look: {green:?}"
    );
    assert_eq!(text, 0, "no errors, no overlay");

    std::fs::write(&look, format!("{PRESET}r = {{ default = }}\n")).unwrap();
    assert!(play.wait_for_log("did not reload", Duration::from_secs(5)));
    let (kept, text) = shot_until(root, "broken.png", |_, text| text > 50);
    assert!(
        kept[1] > 140.0,
        "the last good (green) look stays: {kept:?}"
    );
    assert!(text > 50, "the error shows on the picture ({text} pixels)");

    let before_fix = reloads();
    std::fs::write(&look, preset(0.1, 0.8)).unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while reloads() == before_fix && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (fixed, text) = shot_until(root, "fixed.png", |_, text| text == 0);
    assert_eq!(text, 0, "fixed: the overlay is gone");
    assert!(fixed[1] > 150.0, "and the green look shows: {fixed:?}");

    let stderr = play.stop();
    // The `}` where a value should be: line 4, column 17.
    assert!(
        stderr.contains("presets/look.toml:4:17:"),
        "the error names file:line:col:\n{stderr}"
    );
    assert_eq!(reloads_in(&stderr), 2, "{stderr}");
}

fn reloads_in(log: &str) -> usize {
    log.matches("somnia: reloaded `").count()
}

/// An ISF shader whose colour input `tint` defaults to (r, g, 0.1).
fn tint_fs(r: f32, g: f32) -> String {
    format!(
        "/*{{ \"ISFVSN\": \"2\", \"INPUTS\": [ {{ \"NAME\": \"tint\", \"TYPE\": \"color\", \"DEFAULT\": [{r}, {g}, 0.1, 1.0] }} ] }}*/\nvoid main() {{\n    gl_FragColor = tint;\n}}\n"
    )
}

#[test]
fn a_saved_isf_shader_reloads_and_a_broken_one_keeps_the_last_good_look_with_its_line() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    for d in ["presets", "performances", "shaders"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let shader = root.join("shaders/tint.fs");
    std::fs::write(&shader, tint_fs(0.8, 0.1)).unwrap();
    std::fs::write(
        root.join("presets/look.toml"),
        "[layer]\nshader = \"tint.fs\"\n",
    )
    .unwrap();
    let perf = root.join("performances/perf.toml");
    std::fs::write(&perf, "duration = 60\npreset = \"look\"\n").unwrap();
    let play = LivePlay::start(
        root,
        &["--rehearsal", "--size", "960x540", "--no-osc", "--no-midi"],
        &perf,
    );
    play.wait_until_up();
    let (red, _) = shot_until(root, "red.png", |c, _| c[0] > 150.0);
    assert!(
        red[0] > 150.0 && red[1] < 60.0,
        "the red look first: {red:?}"
    );

    // The input's default changes: the preset's parameter follows, and the picture.
    std::fs::write(&shader, tint_fs(0.1, 0.8)).unwrap();
    assert!(play.wait_for_log("somnia: reloaded `", Duration::from_secs(5)));
    let (green, text) = shot_until(root, "green.png", |c, _| c[1] > 150.0);
    assert!(
        green[1] > 150.0 && green[0] < 60.0,
        "the saved green look: {green:?}"
    );
    assert_eq!(text, 0, "no errors, no overlay");

    std::fs::write(
        &shader,
        tint_fs(0.1, 0.8).replace("gl_FragColor = tint;", "gl_FragColor = tint +;"),
    )
    .unwrap();
    assert!(play.wait_for_log("keeping the last good look", Duration::from_secs(5)));
    let (kept, text) = shot_until(root, "broken.png", |_, text| text > 50);
    assert!(
        kept[1] > 140.0,
        "the last good (green) look stays: {kept:?}"
    );
    assert!(text > 50, "the error shows on the picture ({text} pixels)");

    std::fs::write(&shader, tint_fs(0.1, 0.8)).unwrap();
    let (fixed, text) = shot_until(root, "fixed.png", |_, text| text == 0);
    assert_eq!(text, 0, "fixed: the overlay is gone");
    assert!(fixed[1] > 150.0, "and the green look shows: {fixed:?}");

    let stderr = play.stop();
    // The `;` where an operand should be, on the shader's own line 3.
    assert!(
        stderr.contains("shaders/tint.fs:3:"),
        "the error names the ISF file's line:\n{stderr}"
    );
}
