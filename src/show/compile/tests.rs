//! The compiler's unit tests: each compiles a small performance and measures its timeline.

use super::*;
use crate::bridge::Curve;
use crate::bridge::{AudioParam, LiveMacros};
use crate::show::look::BlendMode;
use crate::show::timeline::AudioAction;
use std::path::PathBuf;

/// A throwaway project with presets `a` (param `glow`) and `b` (param `hue`).
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["presets", "performances", "shaders"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("shaders/s.wgsl"), "").unwrap();
    std::fs::write(
        root.join("presets/a.toml"),
        "[layer]\nshader = \"s.wgsl\"\n[layer.params]\nglow = { default = 0.5 }\n",
    )
    .unwrap();
    std::fs::write(
        root.join("presets/b.toml"),
        "[layer]\nshader = \"s.wgsl\"\n[layer.params]\nhue = { default = 0.1 }\n[audio.filter]\ncutoff_hz = 500\n",
    )
    .unwrap();
    let perf = root.join("performances/p.toml");
    (dir, perf)
}

/// (time, note) of every note-on, in order.
fn note_ons(tl: &Timeline) -> Vec<(f64, u8)> {
    tl.audio
        .iter()
        .filter_map(|c| match c.action {
            AudioAction::NoteOn { note, .. } => Some((c.time_s, note)),
            _ => None,
        })
        .collect()
}

fn compile_text(perf: &Path, text: &str) -> Result<Timeline, Vec<Diagnostic>> {
    std::fs::write(perf, text).unwrap();
    load_timeline(perf)
}

#[test]
fn presets_switch_at_their_cue_times() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 4\npreset = \"b\"\n",
    )
    .unwrap();
    assert_eq!(tl.visual_state_at(3.99).preset, 0);
    assert_eq!(tl.visual_state_at(4.0).preset, 1);
    assert!(tl.audio.iter().any(|c| c.time_s == 4.0
        && matches!(c.action, AudioAction::Patch(p) if p.filter.cutoff_hz == 500.0)));
}

#[test]
fn a_crossfade_runs_both_presets_with_an_s_curve_weight() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 2\npreset = \"b\"\nfade_s = 4\n",
    )
    .unwrap();
    assert_eq!(tl.visual_state_at(1.9).fade, None);
    let start = tl.visual_state_at(2.0);
    assert_eq!(
        (start.preset, start.fade.map(|f| (f.preset, f.weight_new))),
        (1, Some((0, 0.0)))
    );
    let mid = tl.visual_state_at(4.0).fade.unwrap();
    assert!((mid.weight_new - 0.5).abs() < 1e-6);
    let early = tl.visual_state_at(2.4).fade.unwrap().weight_new;
    assert!(early < 0.1, "an S-curve starts gently: {early}");
    assert_eq!(tl.visual_state_at(6.0).fade, None);
}

#[test]
fn ramps_interpolate_and_sets_jump() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 2\nramp = { param = \"glow\", to = 1.0, over_s = 2 }\n[[cue]]\nat = 6\nset = { glow = 0.0 }\n",
    )
    .unwrap();
    assert_eq!(tl.visual_state_at(1.0).params[0], 0.5);
    assert!((tl.visual_state_at(3.0).params[0] - 0.75).abs() < 1e-6);
    assert_eq!(tl.visual_state_at(5.0).params[0], 1.0);
    assert_eq!(tl.visual_state_at(6.0).params[0], 0.0);
}

#[test]
fn ramps_take_a_curve_and_several_ramps_can_share_a_cue() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 0\nset = { glow = 0.1 }\n[[cue]]\nat = 2\nramps = [{ param = \"glow\", to = 0.9, over_s = 2, curve = \"exponential\" }, { param = \"cutoff_hz\", to = 200, over_s = 1, curve = \"s-curve\" }]\n",
    )
    .unwrap();
    assert!(
        (tl.visual_state_at(3.0).params[0] - 0.3).abs() < 1e-6,
        "0.1 * 9^0.5"
    );
    assert!(tl.audio.iter().any(|c| matches!(
        c.action,
        AudioAction::Param {
            param: AudioParam::CutoffHz,
            curve: Curve::SCurve,
            ..
        }
    )));
    let errs = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 2\nramp = { param = \"glow\", to = 1, over_s = 1, curve = \"expo\" }\n",
    )
    .unwrap_err();
    assert!(
        errs[0].hint.as_deref().unwrap().contains("exponential"),
        "{}",
        errs[0]
    );
}

#[test]
fn chords_and_phrases_become_notes_on_the_beat_grid() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "tempo_bpm = 120\nduration = 10\npreset = \"a\"\n[[cue]]\nat = 1\nchord = \"Dm7\"\nlength_s = 2\n[[cue]]\nat = 4\nphrase = { notes = [\"C5\", \"-\", \"E5\", 79], step_beats = 1 }\n",
    )
    .unwrap();
    let ons = note_ons(&tl);
    assert_eq!(
        ons,
        [
            (1.0, 50),
            (1.0, 53),
            (1.0, 57),
            (1.0, 60),
            (4.0, 72),
            (5.0, 76),
            (5.5, 79)
        ]
    );
    let errs = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 1\nchord = \"Dx\"\n[[cue]]\nat = 2\nphrase = { notes = [\"Q\"] }\n",
    )
    .unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn a_glitch_cue_glitches_picture_and_sound_and_survives_preset_cuts() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 1\nglitch = 0.8\n[[cue]]\nat = 2\npreset = \"b\"\n[[cue]]\nat = 3\nglitch = 0\n",
    )
    .unwrap();
    assert_eq!(tl.visual_state_at(0.5).post.glitch, 0.0);
    assert_eq!(tl.visual_state_at(2.5).post.glitch, 0.8);
    assert_eq!(tl.visual_state_at(3.5).post.glitch, 0.0);
    let audio = |p: AudioParam| -> Vec<(f64, f32)> {
        tl.audio
            .iter()
            .filter_map(|c| match c.action {
                AudioAction::Param { param, value, .. } if param == p => Some((c.time_s, value)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(audio(AudioParam::Stutter), [(1.0, 0.8), (3.0, 0.0)]);
    assert_eq!(audio(AudioParam::Crush).len(), 2);
}

#[test]
fn captions_fade_in_hold_and_fade_out() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 1\ncaption = { text = \"Hello\", fade_s = 2, hold_s = 1 }\n",
    )
    .unwrap();
    let alpha = |t: f64| tl.captions_at(t).map(|(_, a)| a).next().unwrap_or(0.0);
    assert_eq!(alpha(0.9), 0.0);
    assert!((alpha(2.0) - 0.5).abs() < 1e-6);
    assert_eq!(alpha(3.5), 1.0);
    assert!((alpha(5.0) - 0.5).abs() < 1e-6);
    assert_eq!(alpha(6.0), 0.0);
    let errs = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 1\ncaption = { text = \"x\", position = \"botom\" }\n",
    )
    .unwrap_err();
    assert_eq!(errs[0].hint.as_deref(), Some("did you mean `bottom`?"));
}

#[test]
fn loops_repeat_the_sound_and_the_picture_and_lengthen_the_show() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[loop]]\nfrom = 2\nto = 4\ntimes = 3\n[[cue]]\nat = 2\nnotes = [64]\n[[cue]]\nat = 3\nnotes = [60]\nlength_s = 0.5\nset = { glow = 0.9 }\n[[cue]]\nat = 6\nnotes = [62]\n",
    )
    .unwrap();
    assert_eq!(tl.duration_s, 14.0);
    let ons = note_ons(&tl);
    assert_eq!(
        ons,
        [
            (2.0, 64),
            (3.0, 60),
            (4.0, 64),
            (5.0, 60),
            (6.0, 64),
            (7.0, 60),
            (10.0, 62)
        ]
    );
    // Each jump back lets go of what sounds before the repeat's own notes start.
    let at_jump: Vec<&AudioAction> = tl
        .audio
        .iter()
        .filter(|c| c.time_s == 4.0)
        .map(|c| &c.action)
        .collect();
    assert_eq!(at_jump.first(), Some(&&AudioAction::AllNotesOff));
    // The picture jumps back with the sound: glow is set at score time 3.
    assert_eq!(
        tl.visual_state_at(4.5).params[0],
        0.5,
        "second pass, before the set"
    );
    assert_eq!(tl.visual_state_at(5.5).params[0], 0.9);
    let errs = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[loop]]\nfrom = 2\nto = 5\ntimes = 2\n[[loop]]\nfrom = 4\nto = 6\ntimes = 2\n[[loop]]\nfrom = 8\nto = 7\ntimes = 2\n",
    )
    .unwrap_err();
    let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 2, "{msgs:#?}");
    assert!(msgs.iter().any(|m| m.contains("overlaps")), "{msgs:#?}");
}

#[test]
fn live_preset_changes_and_composer_changes_join_the_show() {
    let (_d, perf) = project();
    std::fs::write(
        &perf,
        "duration = 60\npreset = \"a\"\n[symphony]\nkey = \"C\"\nmode = \"major\"\n",
    )
    .unwrap();
    let live = LiveInput {
        presets: vec![(10.0, "b".into(), 2.0)],
        macros: vec![(
            20.0,
            LiveMacros {
                tension: Some(0.9),
                ..LiveMacros::default()
            },
        )],
        ..LiveInput::default()
    };
    let tl = load_timeline_with(&perf, &GoPlan::Live(live)).unwrap();
    assert_eq!(tl.visual_state_at(9.0).preset, 0);
    assert_eq!(tl.visual_state_at(13.0).preset, 1);
    assert!(
        tl.audio
            .iter()
            .any(|c| c.time_s == 10.0 && matches!(c.action, AudioAction::Patch(_)))
    );
    let bad = LiveInput {
        presets: vec![(10.0, "../../etc/passwd".into(), 0.0)],
        ..LiveInput::default()
    };
    let errs = load_timeline_with(&perf, &GoPlan::Live(bad)).unwrap_err();
    assert!(
        errs[0].message.starts_with("live preset change"),
        "{}",
        errs[0]
    );
}

#[test]
fn notes_compile_to_on_and_off_pairs() {
    let (_d, perf) = project();
    let tl = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 1\nnotes = [\"A4\", 64]\nlength_s = 2\n",
    )
    .unwrap();
    let pairs = |on: bool| {
        let mut v: Vec<(f64, u8)> = tl
            .audio
            .iter()
            .filter_map(|c| match c.action {
                AudioAction::NoteOn { note, .. } if on => Some((c.time_s, note)),
                AudioAction::NoteOff { note } if !on => Some((c.time_s, note)),
                _ => None,
            })
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v
    };
    assert_eq!(pairs(true), [(1.0, 64), (1.0, 69)]);
    assert_eq!(pairs(false), [(3.0, 64), (3.0, 69)], "each note let go");
}

#[test]
fn a_missing_preset_is_reported_at_its_name_with_a_suggestion() {
    let (_d, perf) = project();
    let errs = compile_text(
        &perf,
        "duration = 10\npreset = \"a\"\n[[cue]]\nat = 1\npreset = \"bb\"\n",
    )
    .unwrap_err();
    assert_eq!((errs[0].line, errs[0].col), (5, 10), "{}", errs[0]);
    assert!(
        errs[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("did you mean `b`?")
    );
}

/// `project()` plus dreamers over preset `a`: `b` added, then `a` screened.
const MOSAIC: &str = "duration = 20\npreset = \"a\"\nunity = 0.0\n[[dreamer]]\npreset = \"b\"\nblend = \"add\"\n[[dreamer]]\npreset = \"a\"\nblend = \"screen\"\nopacity = 0.5\n";

#[test]
fn dreamers_bring_their_presets_blend_modes_and_opacity() {
    let (_d, perf) = project();
    let tl = compile_text(&perf, MOSAIC).unwrap();
    let m = tl.visual_state_at(1.0).mosaic;
    assert_eq!(m.count, 2);
    assert_eq!(m.unity, 0.0);
    let d = m.dreamers();
    assert_eq!(
        (d[0].preset, d[0].blend, d[0].opacity),
        (1, BlendMode::Add, 1.0)
    );
    assert_eq!(
        (d[1].preset, d[1].blend, d[1].opacity),
        (0, BlendMode::Screen, 0.5)
    );
    assert_eq!(d[0].params[0], 0.1, "b's `hue` default");
    assert!(d.iter().all(|d| d.presence == 1.0));
}

#[test]
fn a_withdrawn_dreamer_fades_out_smoothly_and_can_return() {
    let (_d, perf) = project();
    let text = format!(
        "{MOSAIC}[[cue]]\nat = 2\nwithdraw = [1]\nfade_s = 4\n[[cue]]\nat = 10\nreturn = [1]\n"
    );
    let tl = compile_text(&perf, &text).unwrap();
    let presence = |t: f64| tl.visual_state_at(t).mosaic.layers[0].presence;
    let samples: Vec<f32> = (0..=12).map(|i| presence(2.0 + i as f64 / 3.0)).collect();
    assert_eq!(samples[0], 1.0);
    assert!(samples.windows(2).all(|w| w[1] <= w[0]), "{samples:?}");
    assert!((presence(4.0) - 0.5).abs() < 1e-6);
    assert_eq!(presence(6.0), 0.0);
    assert_eq!(tl.visual_state_at(6.0).mosaic.layers[1].presence, 1.0);
    assert!(
        (presence(11.0) - 0.5).abs() < 1e-6,
        "returns over the default 2 s"
    );
    assert_eq!(presence(12.0), 1.0);
}

#[test]
fn unity_post_and_dreamer_values_are_set_and_ramped_by_name() {
    let (_d, perf) = project();
    let text = format!(
        "{MOSAIC}[[cue]]\nat = 2\nset = {{ post.glitch = 0.5, dreamer2.opacity = 0.25, dreamer1.hue = 0.9 }}\nramp = {{ param = \"unity\", to = 1, over_s = 4 }}\n"
    );
    let tl = compile_text(&perf, &text).unwrap();
    let before = tl.visual_state_at(1.0);
    assert_eq!(before.post.glitch, 0.0);
    let v = tl.visual_state_at(4.0);
    assert_eq!(v.post.glitch, 0.5);
    assert_eq!(v.mosaic.layers[1].opacity, 0.25);
    assert_eq!(v.mosaic.layers[0].params[0], 0.9);
    assert!((v.mosaic.unity - 0.5).abs() < 1e-6);
}

#[test]
fn a_cue_hands_the_unity_to_the_crowd_and_a_number_takes_it_back() {
    let (_d, perf) = project();
    let text = format!(
        "{MOSAIC}[[cue]]\nat = 2\nset = {{ unity = \"crowd\" }}\nfade_s = 2\n[[cue]]\nat = 10\nset = {{ unity = 0.25 }}\n"
    );
    let tl = compile_text(&perf, &text).unwrap();
    let m = |t: f64| tl.visual_state_at(t).mosaic;
    assert_eq!(m(1.0).unity_crowd, 0.0);
    assert!((m(3.0).unity_crowd - 0.5).abs() < 1e-6, "over its fade");
    assert_eq!(m(5.0).unity_crowd, 1.0);
    // The file's unity (0) stays under it: the crowd's agreement is what shows.
    assert_eq!(m(5.0).unity, 0.0);
    assert_eq!(m(5.0).unity_with(0.75), 0.75);
    assert_eq!(m(5.0).unity_with(f32::NAN), 0.0);
    assert_eq!((m(11.0).unity_crowd, m(11.0).unity), (0.0, 0.25));
    assert_eq!(m(11.0).unity_with(0.75), 0.25);
}

#[test]
fn a_unity_that_is_neither_a_number_nor_crowd_is_an_error_at_its_value() {
    let (_d, perf) = project();
    let text = format!("{MOSAIC}[[cue]]\nat = 2\nset = {{ unity = \"audience\" }}\n");
    let errs = compile_text(&perf, &text).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].message.contains("\"crowd\""), "{}", errs[0]);
    let line = text.lines().position(|l| l.contains("audience")).unwrap() + 1;
    assert_eq!(errs[0].line, line, "{}", errs[0]);
}

#[test]
fn bad_mosaic_names_are_reported_with_hints() {
    let (_d, perf) = project();
    let text = format!(
        "{MOSAIC}[[cue]]\nat = 2\nwithdraw = [3]\nset = {{ post.glich = 1, dreamer2.hue = 1 }}\n"
    );
    let errs = compile_text(&perf, &text).unwrap_err();
    let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 3, "{msgs:#?}");
    assert!(msgs[0].contains("no dreamer 3"), "{}", msgs[0]);
    assert!(
        msgs.iter().any(|m| m.contains("did you mean `glitch`?")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("no parameter `hue`")),
        "{msgs:#?}"
    );
    let bad_blend = MOSAIC.replace("\"screen\"", "\"screem\"");
    let errs = compile_text(&perf, &bad_blend).unwrap_err();
    assert_eq!(errs[0].hint.as_deref(), Some("did you mean `screen`?"));
}

#[test]
fn musical_positions_follow_the_tempo_map_and_the_engine_tempo_changes_with_it() {
    let (_d, perf) = project();
    let text = "tempo_bpm = 120\nduration = \"9|1\"\npreset = \"a\"\n[[tempo]]\nat = \"3|1\"\nbpm = 60\n[[cue]]\nat = \"2|3\"\nnotes = [60]\n[[cue]]\nat = \"4|1\"\nnotes = [62]\n";
    let tl = compile_text(&perf, text).unwrap();
    // Two bars of 4 at 120 (4 s), then 60 BPM: bar 4 is 4 s later, the end 24 s in.
    assert_eq!(tl.duration_s, 28.0);
    let ons: Vec<f64> = tl
        .audio
        .iter()
        .filter(|c| matches!(c.action, AudioAction::NoteOn { .. }))
        .map(|c| c.time_s)
        .collect();
    assert_eq!(ons, [3.0, 8.0]);
    let tempi: Vec<(f64, f32)> = tl
        .audio
        .iter()
        .filter_map(|c| match c.action {
            AudioAction::Param {
                param: AudioParam::TempoBpm,
                value,
                ..
            } => Some((c.time_s, value)),
            _ => None,
        })
        .collect();
    assert_eq!(tempi, [(0.0, 120.0), (4.0, 60.0)]);
    assert_eq!(tl.tempo.bpm_at(5.0), 60.0);
}

#[test]
fn bad_musical_positions_and_tempo_changes_are_reported() {
    let (_d, perf) = project();
    let text = "duration = 60\npreset = \"a\"\n[[tempo]]\nat = \"5|1\"\nbpm = 90\n[[tempo]]\nat = \"3|1\"\nbpm = 500\n[[cue]]\nat = \"2|7\"\n";
    let errs = compile_text(&perf, text).unwrap_err();
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [7, 10], "{errs:#?}");
    assert!(errs[1].message.contains("beats"), "{}", errs[1]);
}

#[test]
fn all_errors_in_a_file_are_reported_together() {
    let (_d, perf) = project();
    let text = "duration = 10\npreset = \"a\"\n[[cue]]\nat = 5\nset = { glw = 1 }\n[[cue]]\nat = 3\nnotes = [\"Q4\"]\n[[cue]]\nat = 20\n";
    let errs = compile_text(&perf, text).unwrap_err();
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [5, 7, 8, 10], "{errs:#?}");
}
