//! When each cue fires, after QLab's model. A cue fires
//! - at its `at` on the show clock (a timed cue);
//! - on GO, if it is manual (`go = true`); in a render, at its `at`, or when the cue before it
//!   finishes if it has none;
//! - `post_wait_s` after the previous cue starts, if that one is `auto-continue`;
//! - when the previous cue's actions finish, if that one is `auto-follow`;
//! - with the first cue of its group, for later members of a group.
//!
//! Its actions then wait its `pre_wait_s`.
//!
//! **Acts.** A manual cue opens an *act*: it and every cue after it, up to the next manual cue.
//! Live, an act waits for its GO, and when the GO comes the whole act plays as it was planned,
//! moved by how late (or early) the GO came: the cues keep their distances from it. With a
//! composer (`[symphony]`) the move is rounded up to whole beats, so the act's cues stay on the
//! composer's beat grid; the GOne cue itself always fires at once. A render GOes every manual
//! cue at its planned time, so a live show whose GOs come on time is the render.
//!
//! The *standby* cue is the first manual cue after the last one GOne: what the next GO fires.
//! A manual cue before the last one GOne (one added by an edit, or jumped over) is *skipped*:
//! its act does not play unless it is jumped to.
//!
//! GOs are remembered by a key that survives edits of the file (the cue's label, else its
//! number among the manual cues), so saving the file never un-GOes a cue.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::diag::{Diagnostic, suggestion};
use super::performance::CueFile;
use crate::bridge::LiveMacros;
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
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveInput {
    /// Each manual cue GOne (by its [`CueTiming::key`]) and the show time it was GOne at.
    pub gos: BTreeMap<String, f64>,
    /// Presets changed to live: (show time, name, fade_s).
    pub presets: Vec<(f64, String, f64)>,
    /// Composer macros changed live: (show time, change).
    pub macros: Vec<(f64, LiveMacros)>,
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

/// Where a cue stands in the show, live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CueState {
    /// Its act has been GOne (or it comes before the first manual cue): it has its time.
    #[default]
    Fired,
    /// Its act waits for a GO.
    Pending,
    /// Its act comes before the last act GOne and was passed over: it plays only if jumped to.
    Skipped,
}

/// How a cue fires and when (if known yet).
#[derive(Clone, Debug, PartialEq)]
pub struct CueTiming {
    /// When it fires; `None` while it waits for a GO (its own or an earlier cue's).
    pub fire_s: Option<f64>,
    /// When its actions happen: `fire_s` plus its pre-wait.
    pub action_s: Option<f64>,
    /// When it fires in a render (every manual cue GOne at its planned time).
    pub planned_s: Option<f64>,
    /// When its actions happen in a render.
    pub planned_action_s: Option<f64>,
    /// When it fires if its act is GOne on time from here: `fire_s` once known. What the
    /// transport's next and previous cue go by.
    pub expected_s: Option<f64>,
    /// It waits for GO.
    pub manual: bool,
    pub label: Option<String>,
    /// The manual cue (index) whose GO starts it: itself for a manual cue; `None` before the
    /// first manual cue.
    pub act: Option<usize>,
    /// For manual cues: what a GO is remembered by (the label if no other manual cue has it,
    /// else `#n`, its number among the manual cues from 1). Empty for other cues.
    pub key: String,
    pub state: CueState,
}

/// How far a GOne act moves from its plan.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shift {
    Seconds(f64),
    /// Whole beats on the tempo map (a show with a composer stays on its beat grid).
    Beats(f64),
}

impl Shift {
    const NONE: Shift = Shift::Seconds(0.0);

    /// The move from `planned_s` to `go_s`: exact, or rounded up to whole beats.
    fn between(planned_s: f64, go_s: f64, tempo: &Tempo, on_beats: bool) -> Self {
        if on_beats {
            let beats = tempo.beats_at(go_s) - tempo.beats_at(planned_s);
            // A hair of slack so a GO that lands on the beat is not moved a whole beat on.
            Shift::Beats((beats - 1e-6).ceil())
        } else {
            Shift::Seconds(go_s - planned_s)
        }
    }

    fn apply(self, t: f64, tempo: &Tempo) -> f64 {
        match self {
            Shift::Seconds(s) => t + s,
            Shift::Beats(0.0) => t,
            Shift::Beats(b) => tempo.time_at_beat(tempo.beats_at(t) + b),
        }
    }
}

/// What [`resolve`] found: each cue's timing, and where the end of the show moved live.
pub struct Resolved {
    pub cues: Vec<CueTiming>,
    /// The show's end (in score time, before loops) as the last act GOne moved it.
    pub end_s: f64,
}

/// Resolves every cue's time. Problems (a cue with no trigger, a chained cue with its own
/// `at`, bad waits, timed cues out of order) are reported; a cue with a problem does not fire.
/// `on_beats`: acts GOne live move by whole beats (the show has a composer). `end_s` is the
/// planned end of the show.
#[allow(clippy::too_many_arguments)]
pub fn resolve(
    cues: &[Spanned<CueFile>],
    tempo: &Tempo,
    plan: &GoPlan,
    on_beats: bool,
    end_s: f64,
    path: &Path,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) -> Resolved {
    let mut out = planned(cues, tempo, path, src, diags);
    let mut end_s = end_s;
    if let GoPlan::Live(live) = plan {
        let shift = go_live(&mut out, &live.gos, tempo, on_beats);
        end_s = shift.apply(end_s, tempo);
    }
    Resolved { cues: out, end_s }
}

/// Each manual cue's key: its label when no other manual cue has the same one, else `#n`.
fn keys(cues: &[Spanned<CueFile>]) -> Vec<String> {
    let labels: Vec<Option<&String>> = cues
        .iter()
        .map(|c| c.get_ref())
        .filter(|c| c.go.as_ref().is_some_and(|g| *g.get_ref()))
        .map(|c| c.label.as_ref())
        .collect();
    let mut manual = 0;
    cues.iter()
        .map(|c| {
            let c = c.get_ref();
            if !c.go.as_ref().is_some_and(|g| *g.get_ref()) {
                return String::new();
            }
            manual += 1;
            match &c.label {
                Some(l) if labels.iter().filter(|x| **x == Some(l)).count() == 1 => l.clone(),
                _ => format!("#{manual}"),
            }
        })
        .collect()
}

/// Moves each act GOne live by how late its GO came, leaves acts waiting without a time and
/// marks passed-over acts skipped. Returns the move of the last act GOne (the end of the show
/// moves with it).
fn go_live(
    out: &mut [CueTiming],
    gos: &BTreeMap<String, f64>,
    tempo: &Tempo,
    on_beats: bool,
) -> Shift {
    let gone = |c: &CueTiming| c.manual && gos.contains_key(&c.key);
    let last_gone = out.iter().rposition(gone);
    // The move of the act this cue belongs to (None: waiting or skipped), and of the last act
    // GOne before it (what a waiting act would move by if GOne on time).
    let mut shift = Some(Shift::NONE);
    let mut last_shift = Shift::NONE;
    let mut state = CueState::Fired;
    let mut act = None;
    for (i, c) in out.iter_mut().enumerate() {
        if c.manual {
            act = Some(i);
            shift = match (gos.get(&c.key), c.planned_s) {
                (Some(&go_s), Some(planned_s)) => {
                    let s = Shift::between(planned_s, go_s, tempo, on_beats);
                    last_shift = s;
                    Some(s)
                }
                _ => None,
            };
            state = match (shift, last_gone) {
                (Some(_), _) => CueState::Fired,
                (None, Some(l)) if l > i => CueState::Skipped,
                (None, _) => CueState::Pending,
            };
        }
        c.act = act;
        c.state = state;
        let expected = |t: Option<f64>, s: Shift| t.map(|t| s.apply(t, tempo));
        (c.fire_s, c.action_s) = match shift {
            Some(s) => (expected(c.planned_s, s), expected(c.planned_action_s, s)),
            None => (None, None),
        };
        if c.manual && state == CueState::Fired {
            // The GOne cue fires at the GO itself; only its followers keep to the beat grid.
            if let Some(&go_s) = gos.get(&c.key) {
                let pre_wait = c.planned_action_s.zip(c.planned_s).map(|(a, f)| a - f);
                c.fire_s = Some(go_s);
                c.action_s = pre_wait.map(|w| go_s + w);
            }
        }
        c.expected_s = match state {
            CueState::Fired => c.fire_s,
            CueState::Pending => expected(c.planned_s, last_shift),
            CueState::Skipped => None,
        };
    }
    last_shift
}

/// Every cue's time in a render: each manual cue GOne at its planned time (its `at`, or when
/// the cue before it ends).
fn planned(
    cues: &[Spanned<CueFile>],
    tempo: &Tempo,
    path: &Path,
    src: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<CueTiming> {
    let mut keys = keys(cues);
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
                let hint = suggestion(c.get_ref(), Continue::NAMES);
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
                .map_err(|e| bad(a.span(), e.to_string(), ""))
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
            // No planned time: as if the previous cue's end were the GO (the top of the show
            // for a first cue).
            match prev {
                _ if at.is_some() => at,
                None => Some(0.0),
                Some((.., len)) => prev_action.map(|a| a + len),
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
        let action_s = fire_s.map(|f| f + pre_wait);
        out.push(CueTiming {
            fire_s,
            action_s,
            planned_s: fire_s,
            planned_action_s: action_s,
            expected_s: fire_s,
            manual,
            label: cue.label.clone(),
            act: None,
            key: std::mem::take(&mut keys[i]),
            state: CueState::Fired,
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
        let (r, diags) = resolved(text, plan, false);
        (r.cues, diags)
    }

    fn resolved(text: &str, plan: &GoPlan, on_beats: bool) -> (Resolved, Vec<Diagnostic>) {
        let path = Path::new("p.toml");
        let src = format!("duration = 600\npreset = \"a\"\n{text}");
        let (file, _) = parse_performance(path, &src).unwrap();
        let mut diags = Vec::new();
        let r = resolve(
            &file.cues,
            &Tempo::default(),
            plan,
            on_beats,
            600.0,
            path,
            &src,
            &mut diags,
        );
        (r, diags)
    }

    fn live(gos: &[(&str, f64)]) -> GoPlan {
        GoPlan::Live(LiveInput {
            gos: gos.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
            ..LiveInput::default()
        })
    }

    fn fires(t: &[CueTiming]) -> Vec<Option<f64>> {
        t.iter().map(|c| c.fire_s).collect()
    }

    const SHOW: &str = "[[cue]]\nat = 1\n[[cue]]\ngo = true\nat = 10\nnotes = [60]\nlength_s = 4\ncontinue = \"auto-follow\"\n[[cue]]\npre_wait_s = 1\ncontinue = \"auto-continue\"\npost_wait_s = 2\n[[cue]]\ngroup = \"storm\"\n[[cue]]\ngroup = \"storm\"\npre_wait_s = 0.5\n[[cue]]\nat = 30\n";

    #[test]
    fn manual_cues_wait_for_go_and_the_cues_of_their_act_wait_with_them() {
        let (t, diags) = timings(SHOW, &live(&[]));
        assert!(diags.is_empty(), "{diags:#?}");
        // The timed cue at 30 s comes after the manual cue in the file: it is in its act.
        assert_eq!(fires(&t), [Some(1.0), None, None, None, None, None]);
        assert!(t[1].manual && !t[0].manual);
        assert_eq!(t[1].key, "#1");
        assert_eq!(t[1].state, CueState::Pending);
        assert_eq!(t[5].act, Some(1));
        // Were it GOne on time, the act would come as planned.
        let expected: Vec<Option<f64>> = t.iter().map(|c| c.expected_s).collect();
        assert_eq!(
            expected,
            [
                Some(1.0),
                Some(10.0),
                Some(14.0),
                Some(17.0),
                Some(17.0),
                Some(30.0)
            ]
        );
    }

    #[test]
    fn a_go_fires_its_act_moved_by_how_late_it_came() {
        let (r, _) = resolved(SHOW, &live(&[("#1", 12.0)]), false);
        // GO at 12, 2 s after its planned 10: its notes last 4 s, so the follower fires at 16
        // and acts at 17 (pre wait); it auto-continues 2 s after its actions start: the group
        // at 19, its second member acting half a second later; the timed cue comes 2 s late.
        assert_eq!(
            fires(&r.cues),
            [
                Some(1.0),
                Some(12.0),
                Some(16.0),
                Some(19.0),
                Some(19.0),
                Some(32.0)
            ]
        );
        let actions: Vec<Option<f64>> = r.cues.iter().map(|c| c.action_s).collect();
        assert_eq!(actions[2], Some(17.0));
        assert_eq!(actions[4], Some(19.5));
        assert_eq!(
            r.end_s, 602.0,
            "the end of the show moves with the last act"
        );
    }

    #[test]
    fn with_a_composer_an_act_moves_by_whole_beats_but_its_go_fires_at_once() {
        // 120 bpm: a beat is half a second. GO 1.3 s late: the act moves 3 beats (1.5 s).
        let (r, _) = resolved(SHOW, &live(&[("#1", 11.3)]), true);
        assert_eq!(r.cues[1].fire_s, Some(11.3));
        assert_eq!(r.cues[5].fire_s, Some(31.5));
        // A GO on the planned beat moves nothing.
        let (r, _) = resolved(SHOW, &live(&[("#1", 10.0)]), true);
        assert_eq!(r.cues[5].fire_s, Some(30.0));
    }

    #[test]
    fn gos_are_kept_by_label_so_an_inserted_cue_does_not_undo_them() {
        let show = "[[cue]]\ngo = true\nat = 5\nlabel = \"wake\"\n[[cue]]\ngo = true\nat = 20\n";
        let (t, _) = timings(show, &live(&[("wake", 6.0)]));
        assert_eq!(t[0].key, "wake");
        assert_eq!(t[1].key, "#2");
        assert_eq!(fires(&t), [Some(6.0), None]);
        // A manual cue added before it: `wake` stays GOne and the new one is passed over.
        let edited = format!("[[cue]]\ngo = true\nat = 2\n{show}");
        let (t, _) = timings(&edited, &live(&[("wake", 6.0)]));
        assert_eq!(fires(&t), [None, Some(6.0), None]);
        assert_eq!(t[0].state, CueState::Skipped);
        assert_eq!(t[2].state, CueState::Pending);
        // Two manual cues with one label are told apart by number.
        let (t, _) = timings(
            "[[cue]]\ngo = true\nlabel = \"x\"\n[[cue]]\ngo = true\nlabel = \"x\"\n",
            &live(&[]),
        );
        assert_eq!((t[0].key.as_str(), t[1].key.as_str()), ("#1", "#2"));
    }

    #[test]
    fn renders_go_manual_cues_at_their_planned_time() {
        let (t, _) = timings(SHOW, &GoPlan::Planned);
        assert_eq!(t[1].fire_s, Some(10.0));
        assert_eq!(t[2].fire_s, Some(14.0));
        assert_eq!(t[5].fire_s, Some(30.0));
        // Without a planned time, a manual cue goes when the one before it has finished.
        let (t, _) = timings(
            "[[cue]]\nat = 2\nfade_s = 3\npreset = \"a\"\n[[cue]]\ngo = true\n",
            &GoPlan::Planned,
        );
        assert_eq!(t[1].fire_s, Some(5.0));
        // A GO on time live is the render.
        let (live_t, _) = timings(SHOW, &live(&[("#1", 10.0)]));
        assert_eq!(fires(&live_t), fires(&timings(SHOW, &GoPlan::Planned).0));
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
