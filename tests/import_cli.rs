//! `somnia import isf` through the real binary, as a VJ would use it: a folder of ISF shaders
//! becomes presets of the current project, the broken one is reported at its place and left
//! out, and the imported presets check, list with their author, and render offline (twice the
//! same, frame for frame, feedback included).

mod common;

use std::path::Path;

use common::*;

/// A VJ's library: the in-house ISF fixtures, one of them importing what it must not.
fn library(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for f in [
        "gradient.fs",
        "inputs.fs",
        "feedback.fs",
        "vertex.fs",
        "vertex.vs",
        "imported.fs",
        "quad.png",
        "escape.fs",
    ] {
        std::fs::copy(fixture(&format!("isf/shaders/{f}")), dir.join(f)).unwrap();
    }
}

fn run(project: &Path, args: &[&str]) -> (i32, String, String) {
    let o = somnia().args(args).current_dir(project).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (o.status.code().unwrap_or(-1), out, err)
}

#[test]
fn a_folder_of_isf_shaders_becomes_presets_that_check_list_and_render_and_the_broken_one_is_located()
 {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("library");
    library(&lib);
    let project = dir.path().join("show");
    std::fs::create_dir_all(&project).unwrap();
    let lib_arg = lib.to_str().unwrap();

    let (code, out, err) = run(&project, &["import", "isf", lib_arg]);
    assert_eq!(code, 1, "one shader is refused: {out}{err}");
    assert!(
        err.contains("escape.fs") && err.contains("leaves the shader's folder"),
        "{err}"
    );
    assert!(
        out.contains("5 imported, 0 kept as they were, 1 refused, of 6"),
        "{out}"
    );
    for name in ["gradient", "inputs", "feedback", "vertex", "imported"] {
        assert!(
            project.join(format!("presets/{name}.toml")).is_file(),
            "{name}"
        );
        let (code, _, err) = run(&project, &["check", &format!("presets/{name}.toml")]);
        assert_eq!(code, 0, "{name}: {err}");
    }
    assert!(project.join("shaders/vertex.vs").is_file());
    assert!(project.join("shaders/quad.png").is_file());
    // The inputs are written out as parameters, to edit.
    let preset = std::fs::read_to_string(project.join("presets/inputs.toml")).unwrap();
    assert!(
        preset.contains("\"tint_r\" = { default = 1.0, min = 0.0, max = 1.0 }"),
        "{preset}"
    );
    assert!(preset.contains("author = \"Somnia tests\""), "{preset}");

    let (code, out, _) = run(&project, &["list", "presets"]);
    assert_eq!(code, 0);
    assert!(out.contains("inputs  (by Somnia tests)"), "{out}");

    // Again: what was imported is kept, unless --force.
    let (_, out, _) = run(&project, &["import", "isf", lib_arg]);
    assert!(out.contains("kept preset `inputs`"), "{out}");
    let (_, out, _) = run(&project, &["import", "isf", lib_arg, "--force"]);
    assert!(out.contains("5 imported"), "{out}");

    // The gradient renders the right way up; the feedback renders the same bytes twice.
    let render = |preset: &str, out: &str| {
        let (code, _, err) = run(
            &project,
            &[
                "render",
                "--preset",
                preset,
                "--seconds",
                "1",
                "--size",
                "32x18",
                "--fps",
                "4",
                "--no-mp4",
                "--out",
                out,
            ],
        );
        assert_eq!(code, 0, "{err}");
        let mut frames: Vec<_> = std::fs::read_dir(project.join(out).join("frames"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        frames.sort();
        frames
    };
    let gradient = render("gradient", "out-gradient");
    let image = read_png(&gradient[0]);
    assert!(image.rgb[0] >= 248, "top left {}", image.rgb[0]);
    let last = image.rgb.len() - 3;
    assert!(image.rgb[last] <= 7, "bottom right {}", image.rgb[last]);
    let a = render("feedback", "out-a");
    let b = render("feedback", "out-b");
    assert_eq!(a.len(), 4);
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            bytes(x),
            bytes(y),
            "{} differs between renders",
            x.display()
        );
    }
    // And the feedback moved: each frame brighter than the last.
    let level = |p: &Path| read_png(p).rgb[0];
    let levels: Vec<u8> = a.iter().map(|p| level(p)).collect();
    assert!(levels.windows(2).all(|w| w[1] > w[0]), "{levels:?}");
}

#[test]
fn a_shadertoy_export_becomes_a_preset_that_keeps_its_author_and_licence_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    let export = fixture("isf/shaders/toy-buffers.json");
    let (code, out, err) = run(project, &["import", "shadertoy", export.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("as preset `somnia-buffer-test`"), "{out}");
    assert!(out.contains("forbids commercial use"), "{out}");
    let preset = std::fs::read_to_string(project.join("presets/somnia-buffer-test.toml")).unwrap();
    assert!(preset.contains("author = \"somnia-tests\""), "{preset}");
    assert!(
        preset.contains("license = \"CC BY-NC-SA 3.0 (Shadertoy's default)\""),
        "{preset}"
    );
    let (code, _, err) = run(project, &["check", "presets/somnia-buffer-test.toml"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        project,
        &[
            "render",
            "--preset",
            "somnia-buffer-test",
            "--seconds",
            "1",
            "--size",
            "32x18",
            "--fps",
            "4",
            "--no-mp4",
            "--out",
            "out",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // A broken one is refused at its line and column.
    let broken = fixture("isf/shaders/broken-toy.glsl");
    let (code, _, err) = run(project, &["import", "shadertoy", broken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("broken-toy.glsl:4:26"), "{err}");
}
