//! Compilation of a performance file into a [`Timeline`]: positions resolved on the tempo
//! map, presets loaded by name, cue actions turned into audio actions (sample-stamped later by
//! the scheduler) and visual changes (evaluated by the render thread). Every problem found is
//! reported, each at its file:line:col.

use std::collections::HashMap;
use std::path::Path;

use super::chord::chord_notes;
use super::cues::{self, GoPlan, LiveInput};
use super::diag::{Diagnostic, did_you_mean};
use super::look::{BlendMode, MAX_DREAMERS, Post};
use super::loops::{self, Loop};
use super::performance::{CaptionFile, MacrosFile, NoteSpec, PerformanceFile, parse_performance};
use super::preset::{Preset, load_preset};
use super::project::Project;
use super::symphony::{Macros, Mode, SymphonySpec, compose, key_from_name};
use super::timeline::{
    AudioAction, AudioCue, Caption, CaptionPlace, Curve, Dreamer, Switch, Target, Timeline,
    VisualChange,
};
use crate::bridge::LiveMacros;
use crate::bridge::MasterSettings;
use crate::bridge::Patch;
use crate::bridge::{AudioParam, MIN_RAMP_S};
use crate::clock::Tempo;

/// Loads a performance file and every preset it uses, and compiles it. Returns every problem
/// found in the performance and in its presets.
pub fn load_timeline(path: &Path) -> Result<Timeline, Vec<Diagnostic>> {
    load_timeline_with(path, &GoPlan::Planned)
}

/// [`load_timeline`] with manual cues GOne as `plan` says (live: the GOs so far).
pub fn load_timeline_with(path: &Path, plan: &GoPlan) -> Result<Timeline, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::file(
            path,
            format!("cannot read performance: {e}"),
        )]
    })?;
    let (file, mut diags) = parse_performance(path, &src)?;
    match compile(&Project::of_file(path), path, &src, &file, plan) {
        Ok(timeline) if diags.is_empty() => Ok(timeline),
        Ok(_) => Err(diags),
        Err(more) => {
            diags.extend(more);
            sort_diagnostics(path, &mut diags);
            Err(diags)
        }
    }
}

/// Compiles a parsed performance file. `src` is its text, for error positions.
pub fn compile(
    project: &Project,
    path: &Path,
    src: &str,
    file: &PerformanceFile,
    plan: &GoPlan,
) -> Result<Timeline, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut presets: Vec<Preset> = Vec::new();
    let mut by_name: HashMap<String, Option<usize>> = HashMap::new();
    let available = project.preset_names();

    // Resolves a preset name to an index, loading it once; errors are reported at `span`.
    let mut resolve = |name: &toml::Spanned<String>,
                       diags: &mut Vec<Diagnostic>,
                       presets: &mut Vec<Preset>|
     -> Option<usize> {
        if let Some(found) = by_name.get(name.get_ref()) {
            return *found;
        }
        let result = match project.preset_path(name.get_ref()) {
            Err(e) => {
                diags.push(Diagnostic::at(path, src, name.span(), e));
                None
            }
            Ok(p) if !p.exists() => {
                let mut d = Diagnostic::at(
                    path,
                    src,
                    name.span(),
                    format!("no preset named `{}`", name.get_ref()),
                );
                d = d.with_hint(
                    match did_you_mean(name.get_ref(), available.iter().map(String::as_str)) {
                        Some(s) => format!(
                            "did you mean `{s}`? (presets live in {})",
                            project.presets_dir().display()
                        ),
                        None => format!(
                            "presets live in {}: {}",
                            project.presets_dir().display(),
                            available.join(", ")
                        ),
                    },
                );
                diags.push(d);
                None
            }
            Ok(p) => match load_preset(project, &p) {
                Ok(preset) => {
                    presets.push(preset);
                    Some(presets.len() - 1)
                }
                Err(errs) => {
                    diags.extend(errs);
                    None
                }
            },
        };
        by_name.insert(name.get_ref().clone(), result);
        result
    };

    let tempo = tempo_map(file, path, src, &mut diags);
    let time =
        |spec: &toml::Spanned<super::time::TimeSpec>, diags: &mut Vec<Diagnostic>| -> Option<f64> {
            spec.get_ref()
                .seconds(&tempo)
                .map_err(|e| diags.push(Diagnostic::at(path, src, spec.span(), e)))
                .ok()
        };

    let duration_s = time(&file.duration, &mut diags).unwrap_or(0.0);
    if duration_s <= 0.0 && diags.is_empty() {
        diags.push(Diagnostic::at(
            path,
            src,
            file.duration.span(),
            "duration must be more than zero",
        ));
    }
    let mut master = MasterSettings::default();
    if let Some(c) = &file.limiter_ceiling_db {
        if (-24.0..=0.0).contains(c.get_ref()) {
            master.limiter_ceiling_db = *c.get_ref() as f32;
        } else {
            diags.push(Diagnostic::at(
                path,
                src,
                c.span(),
                format!(
                    "limiter_ceiling_db must be within -24..0 dBFS, not {}",
                    c.get_ref()
                ),
            ));
        }
    }

    // The engine's tempo (for synced delays and stutters) follows the performance's map.
    let mut audio: Vec<AudioCue> = tempo
        .segments()
        .iter()
        .map(|seg| AudioCue {
            time_s: seg.start_s,
            action: AudioAction::Param {
                param: AudioParam::TempoBpm,
                value: seg.bpm as f32,
                ramp_s: 0.0,
                curve: Curve::Linear,
            },
        })
        .collect();
    let mut switches = Vec::new();
    let mut changes = Vec::new();
    let mut captions = Vec::new();
    let mut initial_patch = Patch::default();
    let mut active = resolve(&file.preset, &mut diags, &mut presets);
    if let Some(i) = active {
        switches.push(Switch {
            time_s: 0.0,
            preset: i,
            fade_s: 0.0,
        });
        if let Some(p) = presets[i].patch {
            initial_patch = p;
        }
    }

    // The dream mosaic: its dreamers' layers and starting unity.
    let mut dreamers = Vec::new();
    if file.dreamers.len() > MAX_DREAMERS {
        diags.push(Diagnostic::at(
            path,
            src,
            file.dreamers[MAX_DREAMERS].preset.span(),
            format!("a mosaic has at most {MAX_DREAMERS} dreamers"),
        ));
    }
    for d in file.dreamers.iter().take(MAX_DREAMERS) {
        let preset = resolve(&d.preset, &mut diags, &mut presets);
        let blend = match &d.blend {
            None => BlendMode::default(),
            Some(b) => BlendMode::from_name(b.get_ref()).unwrap_or_else(|| {
                let hint = match did_you_mean(b.get_ref(), BlendMode::NAMES) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("one of: {}", BlendMode::NAMES.join(", ")),
                };
                diags.push(
                    Diagnostic::at(
                        path,
                        src,
                        b.span(),
                        format!("unknown blend mode `{}`", b.get_ref()),
                    )
                    .with_hint(hint),
                );
                BlendMode::default()
            }),
        };
        let opacity = unit_value(d.opacity.as_ref(), "opacity", 1.0, path, src, &mut diags);
        if let Some(preset) = preset {
            dreamers.push(Dreamer {
                preset,
                blend,
                opacity,
                present: d.present.unwrap_or(true),
            });
        }
    }
    let unity = unit_value(file.unity.as_ref(), "unity", 1.0, path, src, &mut diags);

    // The composer: its starting macros, then the cues' changes, composed after the loop.
    let mut macros = Macros::default();
    let mut macro_changes = Vec::new();
    if let Some(sym) = &file.symphony {
        apply_macros(&mut macros, &sym.get_ref().macros(), path, src, &mut diags);
    }
    let opening_macros = macros;

    let loop_regions = loop_regions(file, &tempo, duration_s, path, src, &mut diags);
    // GOs happen on the show clock; cues are placed in score time.
    let live = match plan {
        GoPlan::Live(live) => live.clone(),
        GoPlan::Planned => LiveInput::default(),
    };
    let score = |t: f64| loops::score_time(&loop_regions, t);
    let is_live = matches!(plan, GoPlan::Live(_));
    let plan = match plan {
        GoPlan::Live(live) => GoPlan::Live(LiveInput {
            gos: live
                .gos
                .iter()
                .map(|(k, t)| (k.clone(), score(*t)))
                .collect(),
            ..LiveInput::default()
        }),
        GoPlan::Planned => GoPlan::Planned,
    };
    let resolved = cues::resolve(
        &file.cues,
        &tempo,
        &plan,
        file.symphony.is_some(),
        duration_s,
        path,
        src,
        &mut diags,
    );
    // The preset showing at each cue in a render: live, a cue's parameter that this preset has
    // is no error even when something else shows (an act passed over, a live preset change).
    let mut planned_active = active;
    for (spanned, timing) in file.cues.iter().zip(&resolved.cues) {
        let cue = spanned.get_ref();
        if let Some(name) = &cue.preset {
            planned_active = resolve(name, &mut diags, &mut presets);
        }
        if let Some(t) = timing.planned_action_s.filter(|t| *t > duration_s) {
            let span = cue.at.as_ref().map_or(spanned.span(), toml::Spanned::span);
            diags.push(Diagnostic::at(
                path,
                src,
                span,
                format!("cue at {t} s is after the end of the performance ({duration_s} s)"),
            ));
        }
        // A cue still waiting for a GO (its own act's) does nothing yet.
        let Some(t) = timing.action_s else {
            continue;
        };

        let fade_s = match &cue.fade_s {
            Some(f) if *f.get_ref() >= 0.0 && f.get_ref().is_finite() => Some(*f.get_ref()),
            Some(f) => {
                diags.push(Diagnostic::at(
                    path,
                    src,
                    f.span(),
                    "fade_s must be zero or more",
                ));
                None
            }
            None => None,
        };
        // Audio parameters this cue moves to a new value at its own moment (its preset's patch,
        // its `set`): a ramp of one of them in the same cue starts from that value.
        let mut jumped: Vec<AudioParam> = cue
            .set
            .iter()
            .flatten()
            .flat_map(|(name, v)| flatten_set(name, v.get_ref()))
            .filter_map(|(name, _)| AudioParam::from_name(&name))
            .collect();
        if let Some(name) = &cue.preset {
            if let Some(i) = resolve(name, &mut diags, &mut presets) {
                let fade_s = fade_s.unwrap_or(0.0);
                switches.push(Switch {
                    time_s: t,
                    preset: i,
                    fade_s,
                });
                active = Some(i);
                if let Some(p) = presets[i].patch {
                    audio.push(AudioCue {
                        time_s: t,
                        action: AudioAction::Patch(p),
                    });
                    jumped.extend(AudioParam::ALL.into_iter().filter(|p| p.follows_patch()));
                }
            } else {
                active = None;
            }
        }

        let velocity = match &cue.velocity {
            Some(v) if (0.0..=1.0).contains(v.get_ref()) => *v.get_ref() as f32,
            Some(v) => {
                diags.push(Diagnostic::at(
                    path,
                    src,
                    v.span(),
                    "velocity must be within 0..1",
                ));
                0.8
            }
            None => 0.8,
        };
        let length_s = match &cue.length_s {
            Some(l) if *l.get_ref() > 0.0 && l.get_ref().is_finite() => *l.get_ref(),
            Some(l) => {
                diags.push(Diagnostic::at(
                    path,
                    src,
                    l.span(),
                    "length_s must be more than zero",
                ));
                1.0
            }
            None => 1.0,
        };
        let mut play = |note: u8, on_s: f64, off_s: f64| {
            audio.push(AudioCue {
                time_s: on_s,
                action: AudioAction::NoteOn { note, velocity },
            });
            audio.push(AudioCue {
                time_s: off_s,
                action: AudioAction::NoteOff { note },
            });
        };
        for n in cue.notes.iter().flatten() {
            match n.get_ref().to_midi() {
                Ok(note) => play(note, t, t + length_s),
                Err(e) => diags.push(Diagnostic::at(path, src, n.span(), e)),
            }
        }
        if let Some(chord) = &cue.chord {
            let octave = cue.octave.as_ref().map_or(3, |o| *o.get_ref());
            match i32::try_from(octave)
                .map_err(|_| format!("octave {octave} is out of range"))
                .and_then(|o| chord_notes(chord.get_ref(), o))
            {
                Ok(notes) => notes.into_iter().for_each(|n| play(n, t, t + length_s)),
                Err(e) => diags.push(Diagnostic::at(path, src, chord.span(), e)),
            }
        }
        if let Some(phrase) = &cue.phrase {
            let p = phrase.get_ref();
            let step = p.step_beats.unwrap_or(0.5);
            let length = p.length_beats.unwrap_or(step * 0.9);
            if !(step > 0.0 && step.is_finite() && length > 0.0 && length.is_finite()) {
                diags.push(Diagnostic::at(
                    path,
                    src,
                    phrase.span(),
                    "step_beats and length_beats must be more than zero",
                ));
            } else {
                let beat0 = tempo.beats_at(t);
                for (k, n) in p.notes.iter().enumerate() {
                    if matches!(n.get_ref(), NoteSpec::Name(r) if r.trim() == "-") {
                        continue;
                    }
                    let b = beat0 + k as f64 * step;
                    match n.get_ref().to_midi() {
                        Ok(note) => {
                            play(note, tempo.time_at_beat(b), tempo.time_at_beat(b + length))
                        }
                        Err(e) => diags.push(
                            Diagnostic::at(path, src, n.span(), e).with_hint("\"-\" is a rest"),
                        ),
                    }
                }
            }
        }

        // The glitch, on picture and sound: the picture's glitch at the intensity, the sound
        // crushed in proportion and, from half intensity, stuttering.
        if let Some(g) = &cue.glitch {
            let x = *g.get_ref();
            if (0.0..=1.0).contains(&x) {
                changes.push(VisualChange {
                    time_s: t,
                    target: Target::Glitch,
                    to: x as f32,
                    over_s: 0.0,
                    curve: Curve::Linear,
                });
                for (param, value) in crate::bridge::events::glitch_sound(x) {
                    audio.push(AudioCue {
                        time_s: t,
                        action: AudioAction::Param {
                            param,
                            value,
                            ramp_s: 0.0,
                            curve: Curve::Linear,
                        },
                    });
                }
            } else {
                diags.push(
                    Diagnostic::at(
                        path,
                        src,
                        g.span(),
                        format!("glitch must be within 0..1, not {x}"),
                    )
                    .with_hint("0 turns it off"),
                );
            }
        }

        if let Some(c) = &cue.caption {
            if let Some(caption) = caption(c, t, path, src, &mut diags) {
                captions.push(caption);
            }
        }

        // Withdraw and return: the dreamer's presence fades over `fade_s` (default 2 s).
        for (list, to) in [(&cue.withdraw, 0.0), (&cue.return_, 1.0)] {
            for n in list.iter().flatten() {
                match usize::try_from(*n.get_ref()) {
                    Ok(k) if (1..=dreamers.len()).contains(&k) => changes.push(VisualChange {
                        time_s: t,
                        target: Target::DreamerPresence { dreamer: k - 1 },
                        to,
                        over_s: fade_s.unwrap_or(DEFAULT_PRESENCE_FADE_S),
                        curve: Curve::Linear,
                    }),
                    _ => diags.push(
                        Diagnostic::at(
                            path,
                            src,
                            n.span(),
                            format!("there is no dreamer {}", n.get_ref()),
                        )
                        .with_hint(format!(
                            "dreamers are numbered 1 to {} in the order of the [[dreamer]] tables",
                            dreamers.len()
                        )),
                    ),
                }
            }
        }

        let mut param_change = |name: &str,
                                span: std::ops::Range<usize>,
                                to: f64,
                                over_s: f64,
                                curve: Curve,
                                diags: &mut Vec<Diagnostic>| {
            match resolve_param(name, active, &presets, &dreamers) {
                // The engine spreads a jump over MIN_RAMP_S; a ramp of a parameter the cue
                // also jumps waits for it to land, then ramps from there.
                Ok(ParamRef::Audio(param)) if over_s > 0.0 && jumped.contains(&param) => audio
                    .push(AudioCue {
                        time_s: t + MIN_RAMP_S,
                        action: AudioAction::Param {
                            param,
                            value: to as f32,
                            ramp_s: (over_s - MIN_RAMP_S).max(0.0),
                            curve,
                        },
                    }),
                Ok(ParamRef::Audio(param)) => audio.push(AudioCue {
                    time_s: t,
                    action: AudioAction::Param {
                        param,
                        value: to as f32,
                        ramp_s: over_s,
                        curve,
                    },
                }),
                Ok(ParamRef::Visual(target)) => changes.push(VisualChange {
                    time_s: t,
                    target,
                    to: to as f32,
                    over_s,
                    curve,
                }),
                Err(None) => {}
                Err(_)
                    if is_live
                        && active != planned_active
                        && resolve_param(name, planned_active, &presets, &dreamers).is_ok() => {}
                Err(Some((message, hint))) => {
                    diags.push(Diagnostic::at(path, src, span, message).with_hint(hint))
                }
            }
        };
        for (name, v) in cue.set.iter().flatten() {
            for (name, value) in flatten_set(name, v.get_ref()) {
                match value {
                    Some(x) => param_change(&name, v.span(), x, 0.0, Curve::Linear, &mut diags),
                    None => diags.push(
                        Diagnostic::at(path, src, v.span(), format!("`{name}` needs a number"))
                            .with_hint("write e.g. `set = { glow = 0.5, post.glitch = 0.3 }`"),
                    ),
                }
            }
        }
        if let Some(change) = &cue.symphony {
            if file.symphony.is_none() {
                diags.push(
                    Diagnostic::at(path, src, spanned.span(), "this cue changes the symphony, but the performance has no [symphony] table")
                        .with_hint("add a [symphony] table with a key, mode and macros"),
                );
            }
            apply_macros(&mut macros, change, path, src, &mut diags);
            macro_changes.push((t, macros));
        }
        for r in cue.ramp.iter().chain(&cue.ramps) {
            let rf = r.get_ref();
            let curve = match &rf.curve {
                None => Curve::Linear,
                Some(c) => Curve::from_name(c.get_ref()).unwrap_or_else(|| {
                    let hint = match did_you_mean(c.get_ref(), Curve::NAMES) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("one of: {}", Curve::NAMES.join(", ")),
                    };
                    diags.push(
                        Diagnostic::at(
                            path,
                            src,
                            c.span(),
                            format!("unknown curve `{}`", c.get_ref()),
                        )
                        .with_hint(hint),
                    );
                    Curve::Linear
                }),
            };
            if rf.over_s < 0.0 || !rf.over_s.is_finite() {
                diags.push(Diagnostic::at(
                    path,
                    src,
                    r.span(),
                    "over_s must be zero or more",
                ));
            } else {
                param_change(
                    rf.param.get_ref(),
                    rf.param.span(),
                    rf.to,
                    rf.over_s,
                    curve,
                    &mut diags,
                );
            }
        }
    }

    // Changes made live from a controller, at their (score) times.
    for (at, name, fade_s) in &live.presets {
        let t = score(*at);
        let spanned = toml::Spanned::new(0..0, name.clone());
        let mut found = Vec::new();
        match resolve(&spanned, &mut found, &mut presets) {
            Some(i) => {
                switches.push(Switch {
                    time_s: t,
                    preset: i,
                    fade_s: fade_s.clamp(0.0, 60.0),
                });
                if let Some(p) = presets[i].patch {
                    audio.push(AudioCue {
                        time_s: t,
                        action: AudioAction::Patch(p),
                    });
                }
            }
            // A name the project does not have is reported, without a file position: it
            // came from the network, not from the file.
            None => diags.extend(found.into_iter().map(|d| Diagnostic {
                hint: d.hint.clone(),
                ..Diagnostic::file(path, format!("live preset change: {}", d.message))
            })),
        }
    }
    switches.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    for (at, change) in &live.macros {
        let t = score(*at);
        let mut m = macro_changes
            .iter()
            .rev()
            .find(|(when, _)| *when <= t)
            .map_or(opening_macros, |(_, m)| *m);
        match apply_live_macros(&mut m, change) {
            Ok(()) => {
                let at = macro_changes.partition_point(|(when, _)| *when <= t);
                macro_changes.insert(at, (t, m));
            }
            Err(e) => diags.push(Diagnostic::file(path, format!("live symphony change: {e}"))),
        }
    }

    if let Some(sym) = &file.symphony {
        let sym = sym.get_ref();
        let start_s = sym
            .start
            .as_ref()
            .and_then(|t| time(t, &mut diags))
            .unwrap_or(0.0);
        let end_s = sym
            .stop
            .as_ref()
            .and_then(|t| time(t, &mut diags))
            .unwrap_or(duration_s)
            .min(duration_s);
        let mut base = Macros::default();
        apply_macros(&mut base, &sym.macros(), path, src, &mut Vec::new());
        let spec = SymphonySpec {
            seed: sym.seed.as_ref().map_or(1, |s| *s.get_ref() as u64),
            start_s,
            end_s,
            base,
            changes: macro_changes,
        };
        audio.extend(compose(&spec, &tempo));
    }

    if !diags.is_empty() {
        sort_diagnostics(path, &mut diags);
        return Err(diags);
    }
    // Live, the end moves with the last act GOne.
    let duration_s = resolved.end_s;
    audio.push(AudioCue {
        time_s: duration_s,
        action: AudioAction::AllNotesOff,
    });
    let mut audio = loops::unroll(&loop_regions, audio);
    audio.sort_by(|a, b| {
        // Releases first at equal times, so a note (or a loop's jump back) that ends as another
        // begins never cuts the new one.
        let rank = |c: &AudioCue| {
            u8::from(!matches!(
                c.action,
                AudioAction::NoteOff { .. } | AudioAction::AllNotesOff
            ))
        };
        a.time_s.total_cmp(&b.time_s).then(rank(a).cmp(&rank(b)))
    });
    changes.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    captions.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    Ok(Timeline {
        title: file.title.clone().unwrap_or_else(|| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("untitled")
                .to_string()
        }),
        tempo,
        duration_s: loops::show_length_s(&loop_regions, duration_s),
        loops: loop_regions,
        presets,
        initial_patch,
        master,
        audio,
        switches,
        changes,
        dreamers,
        unity,
        captions,
        cues: resolved.cues,
    })
}

/// In file order: the performance's own problems first, then its presets'.
fn sort_diagnostics(path: &Path, diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.path != path, &a.path, a.line, a.col).cmp(&(b.path != path, &b.path, b.line, b.col))
    });
}

/// The `[[loop]]` regions, checked: each inside the performance, at least one pass, none
/// overlapping another.
fn loop_regions(
    file: &PerformanceFile,
    tempo: &Tempo,
    duration_s: f64,
    path: &Path,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Loop> {
    let mut out: Vec<(Loop, std::ops::Range<usize>)> = Vec::new();
    for spanned in &file.loops {
        let l = spanned.get_ref();
        let at = |t: &toml::Spanned<super::time::TimeSpec>, diags: &mut Vec<Diagnostic>| {
            t.get_ref()
                .seconds(tempo)
                .map_err(|e| diags.push(Diagnostic::at(path, src, t.span(), e)))
                .ok()
        };
        let (Some(from_s), Some(to_s)) = (at(&l.from, diags), at(&l.to, diags)) else {
            continue;
        };
        let times = *l.times.get_ref();
        if !(1..=1000).contains(&times) {
            diags.push(Diagnostic::at(
                path,
                src,
                l.times.span(),
                "times must be within 1..=1000",
            ));
            continue;
        }
        if from_s >= to_s || to_s > duration_s {
            diags.push(
                Diagnostic::at(
                    path,
                    src,
                    spanned.span(),
                    format!("a loop from {from_s} s to {to_s} s does not fit"),
                )
                .with_hint(format!(
                    "`from` must come before `to`, both within the performance ({duration_s} s)"
                )),
            );
            continue;
        }
        out.push((
            Loop {
                from_s,
                to_s,
                times: times as u32,
            },
            spanned.span(),
        ));
    }
    out.sort_by(|a, b| a.0.from_s.total_cmp(&b.0.from_s));
    for pair in out.windows(2) {
        if pair[1].0.from_s < pair[0].0.to_s {
            diags.push(
                Diagnostic::at(
                    path,
                    src,
                    pair[1].1.clone(),
                    format!(
                        "this loop ({} s to {} s) overlaps the one from {} s to {} s",
                        pair[1].0.from_s, pair[1].0.to_s, pair[0].0.from_s, pair[0].0.to_s
                    ),
                )
                .with_hint("loops may follow each other but not overlap"),
            );
        }
    }
    out.into_iter().map(|(l, _)| l).collect()
}

/// A cue's caption, checked.
fn caption(
    c: &toml::Spanned<CaptionFile>,
    start_s: f64,
    path: &Path,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Caption> {
    let f = c.get_ref();
    let place = match &f.position {
        None => CaptionPlace::default(),
        Some(p) => match CaptionPlace::from_name(p.get_ref()) {
            Some(place) => place,
            None => {
                let hint = match did_you_mean(p.get_ref(), CaptionPlace::NAMES) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("one of: {}", CaptionPlace::NAMES.join(", ")),
                };
                diags.push(
                    Diagnostic::at(
                        path,
                        src,
                        p.span(),
                        format!("unknown position `{}`", p.get_ref()),
                    )
                    .with_hint(hint),
                );
                return None;
            }
        },
    };
    let (fade_s, hold_s, size) = (
        f.fade_s.unwrap_or(1.0),
        f.hold_s.unwrap_or(5.0),
        f.size.unwrap_or(1.0),
    );
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    if !(ok(fade_s) && ok(hold_s) && size > 0.0 && size <= 4.0) || f.text.trim().is_empty() {
        diags.push(
            Diagnostic::at(path, src, c.span(), "a caption needs text, fade_s and hold_s of zero or more, and a size within 0..4")
                .with_hint("e.g. caption = { text = \"The forest wakes\", position = \"bottom\", fade_s = 1, hold_s = 5 }"),
        );
        return None;
    }
    Some(Caption {
        start_s,
        text: f.text.clone(),
        place,
        fade_s,
        hold_s,
        size: size as f32,
    })
}

/// The performance's tempo map: `tempo_bpm` and `beats_per_bar`, then each `[[tempo]]`
/// change, whose position may itself be musical (read on the map so far).
fn tempo_map(file: &PerformanceFile, path: &Path, src: &str, diags: &mut Vec<Diagnostic>) -> Tempo {
    let mut bpb = 4;
    if let Some(b) = &file.beats_per_bar {
        if (1..=32).contains(b.get_ref()) {
            bpb = *b.get_ref() as u32;
        } else {
            diags.push(Diagnostic::at(
                path,
                src,
                b.span(),
                "beats_per_bar must be within 1..=32",
            ));
        }
    }
    let bpm_ok = |bpm: &toml::Spanned<f64>, diags: &mut Vec<Diagnostic>| {
        let ok = (10.0..=400.0).contains(bpm.get_ref());
        if !ok {
            diags.push(Diagnostic::at(
                path,
                src,
                bpm.span(),
                format!("a tempo must be within 10..400 BPM, not {}", bpm.get_ref()),
            ));
        }
        ok
    };
    let mut tempo = Tempo::constant(120.0, bpb);
    if let Some(bpm) = &file.tempo_bpm {
        if bpm_ok(bpm, diags) {
            tempo = Tempo::constant(*bpm.get_ref(), bpb);
        }
    }
    let mut last_beat = 0.0;
    for change in &file.tempo_changes {
        let Ok(t) = change
            .at
            .get_ref()
            .seconds(&tempo)
            .map_err(|e| diags.push(Diagnostic::at(path, src, change.at.span(), e)))
        else {
            continue;
        };
        let beat = tempo.beats_at(t);
        if beat < last_beat {
            diags.push(
                Diagnostic::at(
                    path,
                    src,
                    change.at.span(),
                    "tempo changes must be in order",
                )
                .with_hint("sort the [[tempo]] tables by their `at`"),
            );
            continue;
        }
        last_beat = beat;
        if bpm_ok(&change.bpm, diags) {
            tempo.change_at_beat(beat, *change.bpm.get_ref());
        }
    }
    tempo
}

/// How long a withdrawn or returning dreamer takes to fade when the cue gives no `fade_s`.
pub const DEFAULT_PRESENCE_FADE_S: f64 = 2.0;

/// What a parameter name in a cue refers to.
enum ParamRef {
    Audio(AudioParam),
    Visual(Target),
}

/// Resolves a cue's parameter name: an audio parameter, `unity`, `post.<setting>`,
/// `dreamer<n>.opacity`, `dreamer<n>.<param>`, or a parameter of the preset showing.
/// `Err(None)` means nothing to report (the preset it would belong to already failed);
/// `Err(Some((message, hint)))` is a problem with the name.
fn resolve_param(
    name: &str,
    active: Option<usize>,
    presets: &[Preset],
    dreamers: &[Dreamer],
) -> Result<ParamRef, Option<(String, String)>> {
    if let Some(ap) = AudioParam::from_name(name) {
        return Ok(ParamRef::Audio(ap));
    }
    if name == "unity" {
        return Ok(ParamRef::Visual(Target::Unity));
    }
    let hint_from = |word: &str, known: Vec<&str>| match did_you_mean(word, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("known here: {}", known.join(", ")),
    };
    if let Some(setting) = name.strip_prefix("post.") {
        let Some(pi) = active else { return Err(None) };
        return match Post::index(setting) {
            Some(setting) => Ok(ParamRef::Visual(Target::Post {
                preset: pi,
                setting,
            })),
            None => Err(Some((
                format!("there is no post setting `{setting}`"),
                hint_from(setting, Post::FIELDS.iter().map(|f| f.name).collect()),
            ))),
        };
    }
    if let Some(rest) = name.strip_prefix("dreamer") {
        let (number, what) = rest.split_once('.').unwrap_or((rest, ""));
        let Some(k) = number
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=dreamers.len()).contains(k))
        else {
            return Err(Some((
                format!("`{name}`: there is no dreamer {number}"),
                format!(
                    "dreamers are numbered 1 to {} in the order of the [[dreamer]] tables; write `dreamer1.opacity`",
                    dreamers.len()
                ),
            )));
        };
        let dreamer = k - 1;
        if what == "opacity" {
            return Ok(ParamRef::Visual(Target::DreamerOpacity { dreamer }));
        }
        let preset = &presets[dreamers[dreamer].preset];
        return match preset.layer.param_index(what) {
            Some(param) => Ok(ParamRef::Visual(Target::DreamerParam { dreamer, param })),
            None => {
                let known = std::iter::once("opacity")
                    .chain(preset.layer.params.iter().map(|p| p.name.as_str()))
                    .collect();
                Err(Some((
                    format!(
                        "dreamer {k} (preset `{}`) has no parameter `{what}`",
                        preset.name
                    ),
                    hint_from(what, known),
                )))
            }
        };
    }
    let Some(pi) = active else { return Err(None) };
    let layer = &presets[pi].layer;
    match layer.param_index(name) {
        Some(param) => Ok(ParamRef::Visual(Target::Layer { preset: pi, param })),
        None => {
            let known = layer
                .params
                .iter()
                .map(|p| p.name.as_str())
                .chain(AudioParam::ALL.iter().map(|p| p.name()))
                .chain(["unity", "post.glitch", "post.glow"])
                .collect();
            Err(Some((
                format!("preset `{}` has no parameter `{name}`", presets[pi].name),
                hint_from(name, known),
            )))
        }
    }
}

/// One entry of a cue's `set` table as (name, number) pairs: a number as it is, a table
/// (`post = { glow = 1 }`, also written `post.glow = 1`) as dotted names. `None`: not a number.
fn flatten_set(name: &str, value: &toml::Value) -> Vec<(String, Option<f64>)> {
    match value {
        toml::Value::Integer(i) => vec![(name.to_string(), Some(*i as f64))],
        toml::Value::Float(f) => vec![(name.to_string(), Some(*f))],
        toml::Value::Table(t) => t
            .iter()
            .flat_map(|(k, v)| flatten_set(&format!("{name}.{k}"), v))
            .collect(),
        _ => vec![(name.to_string(), None)],
    }
}

/// A 0..1 value from the file, or `default`; out of range is reported.
fn unit_value(
    v: Option<&toml::Spanned<f64>>,
    name: &str,
    default: f32,
    path: &Path,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) -> f32 {
    match v {
        None => default,
        Some(v) if (0.0..=1.0).contains(v.get_ref()) => *v.get_ref() as f32,
        Some(v) => {
            diags.push(Diagnostic::at(
                path,
                src,
                v.span(),
                format!("{name} must be within 0..1, not {}", v.get_ref()),
            ));
            default
        }
    }
}

/// Applies a live change of macros onto `m`.
fn apply_live_macros(m: &mut Macros, l: &LiveMacros) -> Result<(), String> {
    if let Some(k) = &l.key {
        m.key = key_from_name(k).ok_or_else(|| format!("`{k}` is not a key"))?;
    }
    if let Some(md) = &l.mode {
        m.mode = Mode::from_name(md).ok_or_else(|| format!("unknown mode `{md}`"))?;
    }
    for (v, dst) in [
        (l.tension, &mut m.tension),
        (l.density, &mut m.density),
        (l.unity, &mut m.unity),
    ] {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            *dst = v.clamp(0.0, 1.0);
        }
    }
    Ok(())
}

/// Applies the macros given in `f` onto `m`, reporting bad values.
fn apply_macros(
    m: &mut Macros,
    f: &MacrosFile,
    path: &Path,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(k) = &f.key {
        match key_from_name(k.get_ref()) {
            Some(pc) => m.key = pc,
            None => diags.push(
                Diagnostic::at(
                    path,
                    src,
                    k.span(),
                    format!("`{}` is not a key", k.get_ref()),
                )
                .with_hint("write a note name: C, F#, Bb"),
            ),
        }
    }
    if let Some(md) = &f.mode {
        match Mode::from_name(md.get_ref()) {
            Some(mode) => m.mode = mode,
            None => {
                let hint = match did_you_mean(md.get_ref(), Mode::NAMES) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("one of: {}", Mode::NAMES.join(", ")),
                };
                diags.push(
                    Diagnostic::at(
                        path,
                        src,
                        md.span(),
                        format!("unknown mode `{}`", md.get_ref()),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    for (v, name, dst) in [
        (&f.tension, "tension", &mut m.tension),
        (&f.density, "density", &mut m.density),
        (&f.unity, "unity", &mut m.unity),
    ] {
        if let Some(v) = v {
            if (0.0..=1.0).contains(v.get_ref()) {
                *dst = *v.get_ref() as f32;
            } else {
                diags.push(Diagnostic::at(
                    path,
                    src,
                    v.span(),
                    format!("{name} must be within 0..1, not {}", v.get_ref()),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::look::BlendMode;
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
                    AudioAction::Param { param, value, .. } if param == p => {
                        Some((c.time_s, value))
                    }
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
}
