//! `somnia check` through the real binary: each kind of mistake is reported at the right
//! file:line:col, the exit code is 1, and nothing panics.

mod common;

use std::path::Path;

use common::*;

/// A throwaway project with one good preset (`glow`, from the fixture `warm`) and its shader.
fn project() -> tempfile::TempDir {
    temp_project(&[("warm", "glow")])
}

fn check(file: &Path) -> (i32, String) {
    let o = somnia().arg("check").arg(file).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (o.status.code().unwrap_or(-1), stderr)
}

#[test]
fn good_files_pass_with_exit_zero() {
    let dir = project();
    let (code, err) = check(&dir.path().join("presets/glow.toml"));
    assert_eq!(code, 0, "{err}");
    let (code, err) = check(&repo().join("performances/first-light.toml"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_wgsl_syntax_error_is_reported_at_its_line_and_column() {
    let dir = project();
    let shader = dir.path().join("shaders/tint.wgsl");
    // Line 4, column 24: the stray `*` after `+`.
    std::fs::write(
        &shader,
        "// broken on purpose\n@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    let x = params.r + * 2.0;\n    return vec4<f32>(x);\n}\n",
    )
    .unwrap();
    let (code, err) = check(&shader);
    assert_eq!(code, 1, "{err}");
    let want = format!("{}:4:24:", shader.display());
    assert!(err.contains(&want), "expected `{want}` in:\n{err}");
    // The preset using the shader reports the same place.
    let (code, err2) = check(&dir.path().join("presets/glow.toml"));
    assert_eq!(code, 1);
    assert!(err2.contains(&want), "{err2}");
}

#[test]
fn an_isf_shader_is_translated_and_checked_and_its_errors_name_the_isf_files_line_and_column() {
    let dir = project();
    let shader = dir.path().join("shaders/pulse.fs");
    let good = "/*{\n  \"CATEGORIES\": [\"Generator\"],\n  \"INPUTS\": [\n    { \"NAME\": \"rate\", \"TYPE\": \"float\", \"DEFAULT\": 1.0 }\n  ]\n}*/\nvoid main() {\n    float v = 0.5 + 0.5 * sin(TIME * rate);\n    gl_FragColor = vec4(v * isf_FragNormCoord, v, 1.0);\n}\n";
    std::fs::write(&shader, good).unwrap();
    let (code, err) = check(&shader);
    assert_eq!(code, 0, "{err}");
    // Line 8, column 38: `rte`, a name the header does not declare.
    std::fs::write(&shader, good.replace("TIME * rate", "TIME * rte")).unwrap();
    let (code, err) = check(&shader);
    assert_eq!(code, 1, "{err}");
    let want = format!("{}:8:38:", shader.display());
    assert!(
        err.contains(&want) && err.contains("rte"),
        "expected `{want}` in:\n{err}"
    );
    // A broken header: where the JSON breaks (line 4, after the input's closing brace).
    std::fs::write(&shader, good.replace("1.0 }", "1.0 },")).unwrap();
    let (code, err) = check(&shader);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("{}:5:", shader.display())), "{err}");
    // A folder check finds it too.
    let (code, err) = check(&dir.path().join("shaders"));
    assert_eq!(code, 1, "{err}");
}

#[test]
fn a_misspelt_cue_field_is_reported_on_its_line_with_a_suggestion() {
    let dir = project();
    let perf = dir.path().join("performances/typo.toml");
    std::fs::write(
        &perf,
        "duration = 10\npreset = \"glow\"\n\n[[cue]]\nat = 1\nnotse = [\"A4\"]\n",
    )
    .unwrap();
    let (code, err) = check(&perf);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{}:6:1: unknown field `notse`", perf.display())),
        "{err}"
    );
    assert!(err.contains("did you mean `notes`?"), "{err}");
}

#[test]
fn a_cue_naming_a_missing_preset_is_reported_at_the_name() {
    let dir = project();
    let perf = dir.path().join("performances/missing.toml");
    std::fs::write(
        &perf,
        "duration = 10\npreset = \"glow\"\n\n[[cue]]\nat = 2\npreset = \"glw\"\n",
    )
    .unwrap();
    let (code, err) = check(&perf);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{}:6:10: no preset named `glw`", perf.display())),
        "{err}"
    );
    assert!(err.contains("did you mean `glow`?"), "{err}");
}

#[test]
fn unreadable_and_unknown_files_are_errors_not_crashes() {
    let dir = project();
    let (code, err) = check(&dir.path().join("performances/nope.toml"));
    assert_eq!(code, 1, "{err}");
    let junk = dir.path().join("junk.toml");
    std::fs::write(&junk, "this is = = not toml").unwrap();
    let (code, err) = check(&junk);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("junk.toml:1:"), "{err}");
}

#[test]
fn a_midi_map_is_checked_against_the_projects_presets_and_parameters() {
    let dir = project();
    let map = dir.path().join("midi-map.toml");
    std::fs::write(
        &map,
        "[[cc]]\ncc = 74\nparam = \"cutof_hz\"\n\n[[program]]\nprogram = 1\npreset = \"glwo\"\n",
    )
    .unwrap();
    let (code, err) = check(&map);
    assert_eq!(code, 1, "{err}");
    let at = |line: usize| format!("{}:{line}:", map.display());
    assert!(
        err.contains(&at(3)) && err.contains("did you mean `cutoff_hz`?"),
        "{err}"
    );
    assert!(
        err.contains(&at(7)) && err.contains("did you mean `glow`?"),
        "{err}"
    );
    std::fs::write(
        &map,
        "[go]\nnote = 60\n[[program]]\nprogram = 1\npreset = \"glow\"\n",
    )
    .unwrap();
    let (code, err) = check(&map);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_cue_file_reports_its_unknown_key_its_bad_time_and_its_missing_preset_together() {
    let dir = project();
    let perf = dir.path().join("performances/three.toml");
    std::fs::write(
        &perf,
        "duration = 10\npreset = \"glow\"\n\n[[cue]]\nat = \"1:xx\"\nnotse = [\"A4\"]\n\n[[cue]]\nat = 2\npreset = \"nowhere\"\n",
    )
    .unwrap();
    let (code, err) = check(&perf);
    assert_eq!(code, 1, "{err}");
    let at = |line_col: &str| format!("{}:{line_col}:", perf.display());
    for (place, what) in [
        ("5:6", "bad time"),
        ("6:1", "unknown key"),
        ("10:10", "missing preset"),
    ] {
        assert!(err.contains(&at(place)), "the {what} at {place} in:\n{err}");
    }
    assert!(err.contains("3 error(s)"), "{err}");
}

#[test]
fn nan_and_infinity_in_a_cue_are_refused_at_their_place() {
    let dir = project();
    let perf = dir.path().join("performances/nan.toml");
    std::fs::write(
        &perf,
        "duration = 10\npreset = \"glow\"\n\n[[cue]]\nat = 1\nramp = { param = \"r\", to = nan, over_s = 1 }\nset = { gain_db = nan, cutoff_hz = inf }\n",
    )
    .unwrap();
    let (code, err) = check(&perf);
    assert_eq!(code, 1, "{err}");
    for place in ["6:28", "7:19", "7:36"] {
        let want = format!("{}:{place}:", perf.display());
        assert!(err.contains(&want), "`{want}` in:\n{err}");
    }
    assert!(err.contains("is not a number a show can use"), "{err}");
    assert!(
        err.contains("3 error(s)"),
        "only the three numbers are wrong:\n{err}"
    );
}

#[test]
fn a_refused_number_is_not_also_reported_out_of_range() {
    let dir = project();
    let perf = dir.path().join("performances/inf.toml");
    std::fs::write(&perf, "duration = 10\ntempo_bpm = inf\npreset = \"glow\"\n").unwrap();
    let (code, err) = check(&perf);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("{}:2:13:", perf.display())), "{err}");
    assert!(err.contains("1 error(s)"), "one problem, one error:\n{err}");
}

#[test]
fn the_shipped_kiosk_passes_check() {
    let (code, err) = check(&repo().join("kiosks/sanctuary.toml"));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn every_mistake_in_a_kiosk_file_is_reported_at_its_place() {
    let dir = project();
    std::fs::create_dir_all(dir.path().join("kiosks")).unwrap();
    let kiosk = dir.path().join("kiosks/gallery.toml");
    std::fs::write(
        &kiosk,
        [
            "order = \"shuffle\"",          // 1
            "shuffle = \"bagg\"",           // 2: unknown shuffle
            "fade_s = -1",                  // 3: out of range
            "join_url = \"dreams/join\"",   // 4: no scheme
            "console_token = \"short\"",    // 5: too short
            "[[item]]",                     // 6
            "preset = \"glwo\"",            // 7: no such preset
            "[[item]]",                     // 8
            "performance = \"glow\"",       // 9: no such performance
            "[schedule]",                   // 10
            "timezone = \"Europe/Berlln\"", // 11: no such zone
            "[[schedule.open]]",            // 12
            "days = [\"mon\", \"thurs\"]",  // 13: unknown day
            "from = \"10:00\"",             // 14
            "to = \"25:00\"",               // 15: not a time
            "[[schedule.date]]",            // 16
            "date = \"2026-02-30\"",        // 17: not a date
            "closed = true",                // 18
        ]
        .join("\n"),
    )
    .unwrap();
    let (code, err) = check(&kiosk);
    assert_eq!(code, 1, "{err}");
    let at = |place: &str| format!("{}:{place}:", kiosk.display());
    for (place, what) in [
        ("2:11", "unknown shuffle `bagg`"),
        ("3:10", "fade_s must be within"),
        ("4:12", "must start with http:// or https://"),
        ("5:17", "at least 12 characters"),
        ("7:10", "no preset named `glwo`"),
        ("9:15", "no performance named `glow`"),
        ("11:12", "is not a time zone"),
        ("13:16", "unknown day `thurs`"),
        ("15:6", "is not a time of day"),
        ("17:8", "is not a date"),
    ] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&at(place)))
            .unwrap_or_else(|| panic!("nothing at {place} ({what}) in:\n{err}"));
        assert!(line.contains(what), "{place}: `{what}` in `{line}`");
    }
    assert!(err.contains("did you mean `bag`?"), "{err}");
    assert!(err.contains("did you mean `glow`?"), "{err}");
    assert!(err.contains("10 error(s)"), "{err}");
}
