//! When each cue fires, after QLab's model. A cue fires
//! - at its `at` on the show clock (a timed cue);
//! - on GO, if it is manual (`go = true`); in a render, at its `at`, or when the cue before it
//!   finishes if it has none;
//! - `post_wait_s` after the previous cue starts, if that one is `auto-continue`;
//! - when the previous cue's actions finish, if that one is `auto-follow`;
//! - with the first cue of its group, for later members of a group.
//!
//! Its actions then wait its `pre_wait_s`. A cue that depends on a manual cue not yet GOne has
//! no time yet: it is left out of the timeline until the GO comes.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::diag::{Diagnostic, did_you_mean};
use super::performance::CueFile;
use crate::clock::Tempo;

/// Where manual cues' GOs come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum GoPlan {
    /// Each manual cue is GOne at its planned time (renders, checks).
    #[default]
    Planned,
    /// What the performers have done so far, live.
    Live(LiveInput),
}

/// What happened live that the show is compiled with: the GOs, and changes made from a
/// controller (OSC, MIDI) that the file does not have.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveInput {
    /// Cue index to the show time it was GOne.
    pub gos: BTreeMap<usize, f64>,
    /// Presets changed to live: (show time, name, fade_s).
    pub presets: Vec<(f64, String, f64)>,
    /// Composer macros changed live: (show time, change).
    pub macros: Vec<(f64, LiveMacros)>,
}

/// A live change to the composer's macros; `None` leaves one as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveMacros {
    pub key: Option<String>,
    pub mode: Option<String>,
    pub tension: Option<f32>,
    pub density: Option<f32>,
    pub unity: Option<f32>,
}

/// What starts the cue after this one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Continue {
    /// Nothing: the next cue has its own trigger.
    #[default]
    No,
    AutoContinue,
    AutoFollow,
}

impl Continue {
    const NAMES: [&str; 3] = ["no", "auto-continue", "auto-follow"];

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "no" => Self::No,
            "auto-continue" => Self::AutoContinue,
            "auto-follow" => Self::AutoFollow,
            _ => return None,
        })
    }
}

/// How a cue fires and when (if known yet).
#[derive(Clone, Debug, PartialEq)]
pub struct CueTiming {
    /// When it fires; `None` while it waits for a GO (its own or an earlier cue's).
    pub fire_s: Option<f64>,
    /// When its actions happen: `fire_s` plus its pre-wait.
    pub action_s: Option<f64>,
    /// It waits for GO.
    pub manual: bool,
    pub label: Option<String>,
}

/// Resolves every cue's time. Problems (a cue with no trigger, a chained cue with its own
/// `at`, bad waits, timed cues out of order) are reported; a cue with a problem does not fire.
pub fn resolve(
    cues: &[Spanned<CueFile>],
    tempo: &Tempo,
    plan: &GoPlan,
    path: &Path,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<CueTiming> {
    let mut out: Vec<CueTiming> = Vec::with_capacity(cues.len());
    let mut prev: Option<(&CueFile, Continue, f64, f64)> = None; // (cue, mode, post wait, length)
    let mut last_timed = 0.0f64;
    for (i, spanned) in cues.iter().enumerate() {
        let cue = spanned.get_ref();
        let mut bad = |span: std::ops::Range<usize>, msg: String, hint: &str| {
            let mut d = Diagnostic::at(path, src, span, msg);
            if !hint.is_empty() {
                d = d.with_hint(hint);
            }
            diags.push(d);
        };
        let mut wait = |w: &Option<Spanned<f64>>, name: &str| match w {
            Some(v) if v.get_ref().is_finite() && *v.get_ref() >= 0.0 => *v.get_ref(),
            Some(v) => {
                bad(v.span(), format!("{name} must be zero or more seconds"), "");
                0.0
            }
            None => 0.0,
        };
        let pre_wait = wait(&cue.pre_wait_s, "pre_wait_s");
        let post_wait = wait(&cue.post_wait_s, "post_wait_s");
        let mode = match &cue.continue_ {
            None => Continue::No,
            Some(c) => Continue::from_name(c.get_ref()).unwrap_or_else(|| {
                let hint = match did_you_mean(c.get_ref(), Continue::NAMES) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("one of: {}", Continue::NAMES.join(", ")),
                };
                bad(
                    c.span(),
                    format!("unknown continue mode `{}`", c.get_ref()),
                    &hint,
                );
                Continue::No
            }),
        };
        let manual = cue.go.as_ref().is_some_and(|g| *g.get_ref());
        let at = cue.at.as_ref().and_then(|a| {
            a.get_ref()
                .seconds(tempo)
                .map_err(|e| bad(a.span(), e, ""))
                .ok()
        });
        let in_group = match (&cue.group, prev) {
            (Some(g), Some((p, ..))) => p.group.as_ref() == Some(g),
            _ => false,
        };
        let prev_fire = out.last().and_then(|p| p.fire_s);
        let prev_action = out.last().and_then(|p| p.action_s);
        let chained = prev.is_some_and(|(_, m, ..)| m != Continue::No);
        if (in_group || chained) && (cue.at.is_some() || manual) {
            let why = if in_group {
                "it fires with the first cue of its group"
            } else {
                "the cue before it continues into it"
            };
            bad(
                spanned.span(),
                format!("this cue has its own trigger (`at` or `go`), but {why}"),
                "remove `at`/`go`, or the group or the previous cue's `continue`",
            );
        }
        let fire_s = if in_group {
            prev_fire
        } else if let Some((_, m, prev_post, prev_len)) = prev.filter(|_| chained) {
            match m {
                Continue::AutoContinue => prev_action.map(|s| s + prev_post),
                _ => prev_action.map(|s| s + prev_len),
            }
        } else if manual {
            match plan {
                GoPlan::Live(live) => live.gos.get(&i).copied(),
                // No planned time: as if the previous cue's end were the GO.
                GoPlan::Planned => at.or_else(|| Some(prev_action? + prev?.3)),
            }
        } else if let Some(t) = at {
            if t < last_timed {
                bad(
                    cue.at.as_ref().map_or(spanned.span(), Spanned::span),
                    format!("cue at {t} s comes before the previous cue at {last_timed} s"),
                    "keep cues in time order",
                );
            }
            last_timed = last_timed.max(t);
            Some(t)
        } else if cue.at.is_some() {
            None // its `at` was bad, and said so
        } else {
            bad(
                spanned.span(),
                "this cue has no trigger".into(),
                "give it `at` (a time), `go = true` (it waits for GO), or let the cue before it `continue` into it",
            );
            None
        };
        out.push(CueTiming {
            fire_s,
            action_s: fire_s.map(|f| f + pre_wait),
            manual,
            label: cue.label.clone(),
        });
        prev = Some((cue, mode, post_wait, cue_length_s(cue, tempo, fire_s)));
    }
    out
}

/// How long a cue's actions take once they start: the longest of its notes, phrase, fades,
/// ramps and caption. What `auto-follow` waits for.
pub fn cue_length_s(cue: &CueFile, tempo: &Tempo, fire_s: Option<f64>) -> f64 {
    let mut len = 0.0f64;
    if cue.notes.is_some() || cue.chord.is_some() {
        len = len.max(cue.length_s.as_ref().map_or(1.0, |l| *l.get_ref()));
    }
    if let Some(f) = &cue.fade_s {
        len = len.max(*f.get_ref());
    }
    for r in cue.ramp.iter().chain(&cue.ramps) {
        len = len.max(r.get_ref().over_s);
    }
    if let Some(c) = &cue.caption {
        let c = c.get_ref();
        len = len.max(2.0 * c.fade_s.unwrap_or(1.0) + c.hold_s.unwrap_or(5.0));
    }
    if let Some(p) = &cue.phrase {
        let p = p.get_ref();
        let step = p.step_beats.unwrap_or(0.5);
        let beats = step * p.notes.len() as f64;
        let start = fire_s.unwrap_or(0.0);
        let b0 = tempo.beats_at(start);
        len = len.max(tempo.time_at_beat(b0 + beats) - start);
    }
    if len.is_finite() { len.max(0.0) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::performance::parse_performance;

    fn timings(text: &str, plan: &GoPlan) -> (Vec<CueTiming>, Vec<Diagnostic>) {
        let path = Path::new("p.toml");
        let src = format!("duration = 600\npreset = \"a\"\n{text}");
        let file = parse_performance(path, &src).unwrap();
        let mut diags = Vec::new();
        let t = resolve(&file.cues, &Tempo::default(), plan, path, &src, &mut diags);
        (t, diags)
    }

    fn fires(t: &[CueTiming]) -> Vec<Option<f64>> {
        t.iter().map(|c| c.fire_s).collect()
    }

    const SHOW: &str = "[[cue]]\nat = 1\n[[cue]]\ngo = true\nat = 10\nnotes = [60]\nlength_s = 4\ncontinue = \"auto-follow\"\n[[cue]]\npre_wait_s = 1\ncontinue = \"auto-continue\"\npost_wait_s = 2\n[[cue]]\ngroup = \"storm\"\n[[cue]]\ngroup = \"storm\"\npre_wait_s = 0.5\n[[cue]]\nat = 30\n";

    #[test]
    fn manual_cues_wait_for_go_and_their_followers_wait_with_them() {
        let (t, diags) = timings(SHOW, &GoPlan::Live(LiveInput::default()));
        assert!(diags.is_empty(), "{diags:#?}");
        assert_eq!(fires(&t), [Some(1.0), None, None, None, None, Some(30.0)]);
        assert!(t[1].manual && !t[0].manual);
    }

    #[test]
    fn a_go_fires_the_cue_and_auto_follow_and_auto_continue_chain_from_it() {
        let gos = BTreeMap::from([(1, 12.0)]);
        let (t, _) = timings(
            SHOW,
            &GoPlan::Live(LiveInput {
                gos,
                ..LiveInput::default()
            }),
        );
        // GO at 12; its notes last 4 s, so the follower fires at 16 and acts at 17 (pre wait);
        // it auto-continues 2 s after its actions start: the group at 19, its second member
        // acting half a second later.
        assert_eq!(
            fires(&t),
            [
                Some(1.0),
                Some(12.0),
                Some(16.0),
                Some(19.0),
                Some(19.0),
                Some(30.0)
            ]
        );
        let actions: Vec<Option<f64>> = t.iter().map(|c| c.action_s).collect();
        assert_eq!(actions[2], Some(17.0));
        assert_eq!(actions[4], Some(19.5));
    }

    #[test]
    fn renders_go_manual_cues_at_their_planned_time() {
        let (t, _) = timings(SHOW, &GoPlan::Planned);
        assert_eq!(t[1].fire_s, Some(10.0));
        assert_eq!(t[2].fire_s, Some(14.0));
        // Without a planned time, a manual cue goes when the one before it has finished.
        let (t, _) = timings(
            "[[cue]]\nat = 2\nfade_s = 3\npreset = \"a\"\n[[cue]]\ngo = true\n",
            &GoPlan::Planned,
        );
        assert_eq!(t[1].fire_s, Some(5.0));
    }

    #[test]
    fn triggers_that_contradict_each_other_are_reported() {
        let (_, diags) = timings(
            "[[cue]]\nat = 1\ncontinue = \"auto-folow\"\n[[cue]]\nlabel = \"orphan\"\n[[cue]]\nat = 5\ncontinue = \"auto-continue\"\n[[cue]]\nat = 9\n",
            &GoPlan::Planned,
        );
        let msgs: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(diags.len(), 3, "{msgs:#?}");
        assert!(
            msgs[0].contains("did you mean `auto-follow`?"),
            "{}",
            msgs[0]
        );
        assert!(msgs[1].contains("no trigger"), "{}", msgs[1]);
        assert!(msgs[2].contains("own trigger"), "{}", msgs[2]);
    }
}
