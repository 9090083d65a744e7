//! One cue's actions: its preset, notes (single, chord, phrase), glitch, caption, dreamers'
//! presence, `set`s and ramps, and symphony changes, each placed at the cue's moment.

use std::ops::Range;

use toml::Spanned;

use super::DEFAULT_PRESENCE_FADE_S;
use super::captions::caption;
use super::compiler::Compiler;
use super::params::{ParamRef, flatten_set, resolve_param};
use crate::bridge::Curve;
use crate::bridge::{AudioParam, MIN_RAMP_S, glitch_sound};
use crate::show::chord::chord_notes;

/// How long the join code takes to appear or go: quick, but never a flash.
const JOIN_CODE_FADE_S: f64 = 0.5;
use crate::show::cues::CueTiming;
use crate::show::performance::{CueFile, NoteSpec};
use crate::show::timeline::{AudioAction, AudioCue, Switch, Target, VisualChange};

/// Where a cue's actions happen, and what it moves to a new value there.
struct Moment {
    /// When its actions happen, in score time.
    t: f64,
    /// Audio parameters this cue moves to a new value at its own moment (its preset's patch,
    /// its `set`): a ramp of one of them in the same cue starts from that value.
    jumped: Vec<AudioParam>,
}

impl Compiler<'_> {
    /// Compiles one cue, timed as `timing` says.
    pub(super) fn cue(&mut self, spanned: &Spanned<CueFile>, timing: &CueTiming) {
        let cue = spanned.get_ref();
        if let Some(name) = &cue.preset {
            self.planned_active = self.preset(name);
        }
        if let Some(t) = timing.planned_action_s.filter(|t| *t > self.duration_s) {
            let span = cue.at.as_ref().map_or(spanned.span(), Spanned::span);
            let end_s = self.duration_s;
            self.report().error(
                span,
                format!("cue at {t} s is after the end of the performance ({end_s} s)"),
            );
        }
        // A cue still waiting for a GO (its own act's) does nothing yet.
        let Some(t) = timing.action_s else {
            return;
        };

        let fade_s = match &cue.fade_s {
            Some(f) if *f.get_ref() >= 0.0 && f.get_ref().is_finite() => Some(*f.get_ref()),
            Some(f) => {
                self.report().error(f.span(), "fade_s must be zero or more");
                None
            }
            None => None,
        };
        let mut at = Moment {
            t,
            jumped: cue
                .set
                .iter()
                .flatten()
                .flat_map(|(name, v)| flatten_set(name, v.get_ref()))
                .filter_map(|(name, _)| AudioParam::from_name(&name))
                .collect(),
        };
        let style = cue.fade_style.as_ref().and_then(|s| self.fade_style(s));
        if let Some(name) = &cue.preset {
            self.switch_preset(name, fade_s.unwrap_or(0.0), style, &mut at);
        }
        self.notes(cue, t);
        if let Some(g) = &cue.glitch {
            self.glitch(g, t);
        }
        if let Some(shown) = cue.join_code {
            self.changes.push(VisualChange {
                time_s: t,
                target: Target::JoinCode,
                to: if shown { 1.0 } else { 0.0 },
                over_s: JOIN_CODE_FADE_S,
                curve: Curve::Linear,
            });
        }
        if let Some(c) = &cue.caption {
            if let Some(caption) = caption(c, t, &mut self.report()) {
                self.captions.push(caption);
            }
        }
        self.presence(cue, t, fade_s);
        for (name, v) in cue.set.iter().flatten() {
            if name == "unity" {
                self.unity_source(v, t, fade_s.unwrap_or(0.0));
                if v.get_ref().is_str() {
                    continue;
                }
            }
            for (name, value) in flatten_set(name, v.get_ref()) {
                match value {
                    Some(x) => self.param_change(&at, &name, v.span(), x, 0.0, Curve::Linear),
                    None => self.report().error_hint(
                        v.span(),
                        format!("`{name}` needs a number"),
                        "write e.g. `set = { glow = 0.5, post.glitch = 0.3 }`",
                    ),
                }
            }
        }
        if let Some(change) = &cue.symphony {
            if self.file.symphony.is_none() {
                self.report().error_hint(
                    spanned.span(),
                    "this cue changes the symphony, but the performance has no [symphony] table",
                    "add a [symphony] table with a key, mode and macros",
                );
            }
            let mut macros = self.macros;
            self.apply_macros(&mut macros, change);
            self.macros = macros;
            self.macro_changes.push((t, macros));
        }
        for r in cue.ramp.iter().chain(&cue.ramps) {
            let rf = r.get_ref();
            let curve = rf
                .curve
                .as_ref()
                .and_then(|c| {
                    self.report()
                        .choice(c, "curve", &Curve::NAMES, Curve::from_name)
                })
                .unwrap_or(Curve::Linear);
            if rf.over_s < 0.0 || !rf.over_s.is_finite() {
                self.report().error(r.span(), "over_s must be zero or more");
            } else {
                if rf.param.get_ref() == "unity" {
                    // A ramp of the unity takes it back from the crowd as it goes.
                    self.crowd_weight(t, 0.0, rf.over_s);
                }
                self.param_change(
                    &at,
                    rf.param.get_ref(),
                    rf.param.span(),
                    rf.to,
                    rf.over_s,
                    curve,
                );
            }
        }
    }

    /// A cue's `unity`: a number gives the unity back to the file (the number itself is set
    /// as any parameter is); `"crowd"` hands it to the audience's agreement, over `fade_s`.
    fn unity_source(&mut self, v: &Spanned<toml::Value>, t: f64, fade_s: f64) {
        match v.get_ref() {
            toml::Value::String(s) if s == "crowd" => self.crowd_weight(t, 1.0, fade_s),
            toml::Value::String(s) => self.report().error_hint(
                v.span(),
                format!("`unity = \"{s}\"`: unity is a number from 0 to 1, or \"crowd\""),
                "write `set = { unity = 0.5 }`, or `set = { unity = \"crowd\" }` to let the audience's agreement set it",
            ),
            _ => self.crowd_weight(t, 0.0, 0.0),
        }
    }

    fn crowd_weight(&mut self, t: f64, to: f32, over_s: f64) {
        self.changes.push(VisualChange {
            time_s: t,
            target: Target::UnityCrowd,
            to,
            over_s,
            curve: Curve::Linear,
        });
    }

    /// The cue's preset change (a fade of `fade_s`), and its patch for the sound.
    fn switch_preset(
        &mut self,
        name: &Spanned<String>,
        fade_s: f64,
        style: Option<usize>,
        at: &mut Moment,
    ) {
        self.active = self.preset(name);
        let Some(i) = self.active else { return };
        self.switches.push(Switch {
            time_s: at.t,
            preset: i,
            fade_s,
            style,
        });
        if let Some(p) = self.presets[i].patch {
            self.audio.push(AudioCue {
                time_s: at.t,
                action: AudioAction::Patch(p),
            });
            at.jumped
                .extend(AudioParam::ALL.into_iter().filter(|p| p.follows_patch()));
        }
    }

    /// The cue's notes, chord and phrase, at `t`.
    fn notes(&mut self, cue: &CueFile, t: f64) {
        let velocity = match &cue.velocity {
            Some(v) if (0.0..=1.0).contains(v.get_ref()) => *v.get_ref() as f32,
            Some(v) => {
                self.report()
                    .error(v.span(), "velocity must be within 0..1");
                0.8
            }
            None => 0.8,
        };
        let length_s = match &cue.length_s {
            Some(l) if *l.get_ref() > 0.0 && l.get_ref().is_finite() => *l.get_ref(),
            Some(l) => {
                self.report()
                    .error(l.span(), "length_s must be more than zero");
                1.0
            }
            None => 1.0,
        };
        let play = |audio: &mut Vec<AudioCue>, note: u8, on_s: f64, off_s: f64| {
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
                Ok(note) => play(&mut self.audio, note, t, t + length_s),
                Err(e) => self.report().error(n.span(), e),
            }
        }
        if let Some(chord) = &cue.chord {
            let octave = cue.octave.as_ref().map_or(3, |o| *o.get_ref());
            match i32::try_from(octave)
                .map_err(|_| format!("octave {octave} is out of range"))
                .and_then(|o| chord_notes(chord.get_ref(), o).map_err(|e| e.to_string()))
            {
                Ok(notes) => {
                    for n in notes {
                        play(&mut self.audio, n, t, t + length_s);
                    }
                }
                Err(e) => self.report().error(chord.span(), e),
            }
        }
        if let Some(phrase) = &cue.phrase {
            let p = phrase.get_ref();
            let step = p.step_beats.unwrap_or(0.5);
            let length = p.length_beats.unwrap_or(step * 0.9);
            if !(step > 0.0 && step.is_finite() && length > 0.0 && length.is_finite()) {
                self.report().error(
                    phrase.span(),
                    "step_beats and length_beats must be more than zero",
                );
                return;
            }
            let beat0 = self.tempo.beats_at(t);
            for (k, n) in p.notes.iter().enumerate() {
                if matches!(n.get_ref(), NoteSpec::Name(r) if r.trim() == "-") {
                    continue;
                }
                let b = beat0 + k as f64 * step;
                match n.get_ref().to_midi() {
                    Ok(note) => {
                        let (on_s, off_s) = (
                            self.tempo.time_at_beat(b),
                            self.tempo.time_at_beat(b + length),
                        );
                        play(&mut self.audio, note, on_s, off_s);
                    }
                    Err(e) => self.report().error_hint(n.span(), e, "\"-\" is a rest"),
                }
            }
        }
    }

    /// The glitch, on picture and sound: the picture's glitch at the intensity, the sound as
    /// [`glitch_sound`] makes it.
    fn glitch(&mut self, g: &Spanned<f64>, t: f64) {
        let x = *g.get_ref();
        if !(0.0..=1.0).contains(&x) {
            self.report().error_hint(
                g.span(),
                format!("glitch must be within 0..1, not {x}"),
                "0 turns it off",
            );
            return;
        }
        self.changes.push(VisualChange {
            time_s: t,
            target: Target::Glitch,
            to: x as f32,
            over_s: 0.0,
            curve: Curve::Linear,
        });
        for (param, value) in glitch_sound(x) {
            self.audio.push(AudioCue {
                time_s: t,
                action: AudioAction::Param {
                    param,
                    value,
                    ramp_s: 0.0,
                    curve: Curve::Linear,
                },
            });
        }
    }

    /// Withdraw and return: each dreamer's presence fades over `fade_s` (default 2 s).
    fn presence(&mut self, cue: &CueFile, t: f64, fade_s: Option<f64>) {
        for (list, to) in [(&cue.withdraw, 0.0), (&cue.return_, 1.0)] {
            for n in list.iter().flatten() {
                match usize::try_from(*n.get_ref()) {
                    Ok(k) if (1..=self.dreamers.len()).contains(&k) => {
                        self.changes.push(VisualChange {
                            time_s: t,
                            target: Target::DreamerPresence { dreamer: k - 1 },
                            to,
                            over_s: fade_s.unwrap_or(DEFAULT_PRESENCE_FADE_S),
                            curve: Curve::Linear,
                        })
                    }
                    _ => {
                        let count = self.dreamers.len();
                        self.report().error_hint(
                            n.span(),
                            format!("there is no dreamer {}", n.get_ref()),
                            format!(
                                "dreamers are numbered 1 to {count} in the order of the [[dreamer]] tables"
                            ),
                        )
                    }
                }
            }
        }
    }

    /// A `set` (`over_s` 0) or ramp of the parameter `name` to `to`, at the cue's moment.
    fn param_change(
        &mut self,
        at: &Moment,
        name: &str,
        span: Range<usize>,
        to: f64,
        over_s: f64,
        curve: Curve,
    ) {
        let t = at.t;
        match resolve_param(name, self.active, &self.presets, &self.dreamers) {
            // The engine spreads a jump over MIN_RAMP_S; a ramp of a parameter the cue also
            // jumps waits for it to land, then ramps from there.
            Ok(ParamRef::Audio(param)) if over_s > 0.0 && at.jumped.contains(&param) => {
                self.audio.push(AudioCue {
                    time_s: t + MIN_RAMP_S,
                    action: AudioAction::Param {
                        param,
                        value: to as f32,
                        ramp_s: (over_s - MIN_RAMP_S).max(0.0),
                        curve,
                    },
                })
            }
            Ok(ParamRef::Audio(param)) => self.audio.push(AudioCue {
                time_s: t,
                action: AudioAction::Param {
                    param,
                    value: to as f32,
                    ramp_s: over_s,
                    curve,
                },
            }),
            Ok(ParamRef::Visual(target)) => self.changes.push(VisualChange {
                time_s: t,
                target,
                to: to as f32,
                over_s,
                curve,
            }),
            Err(None) => {}
            Err(_)
                if self.is_live
                    && self.active != self.planned_active
                    && resolve_param(name, self.planned_active, &self.presets, &self.dreamers)
                        .is_ok() => {}
            Err(Some((message, hint))) => self.report().error_hint(span, message, hint),
        }
    }
}
