//! A compiled performance: audio actions with a time (the scheduler turns them into
//! sample-stamped events) and visual changes that the render thread evaluates as a pure
//! function of time. Evaluating rather than replaying is what makes an offline frame at time t
//! identical to the live frame at t. [`super::compile`] builds it from a performance file.

use std::sync::Arc;

use super::cues::CueTiming;
use super::look::{BlendMode, DreamerState, MAX_DREAMERS, MAX_LAYER_PARAMS, Mosaic, Post};
use super::loops::{Loop, score_time};
use super::preset::Preset;
use crate::bridge::{AudioParam, Curve, MasterSettings, Patch};
use crate::clock::{Musical, Tempo};

/// Something the audio thread must do at a time, before conversion to samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AudioAction {
    NoteOn {
        note: u8,
        velocity: f32,
    },
    NoteOff {
        note: u8,
    },
    Param {
        param: AudioParam,
        value: f32,
        ramp_s: f64,
        curve: Curve,
    },
    Patch(Patch),
    AllNotesOff,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioCue {
    pub time_s: f64,
    pub action: AudioAction,
}

/// What a visual change moves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// A layer parameter of the performance's own preset, while that preset shows.
    Layer {
        preset: usize,
        param: usize,
    },
    /// A post setting of the preset showing, while it shows.
    Post {
        preset: usize,
        setting: usize,
    },
    /// The dream mosaic's unity.
    Unity,
    /// The audience page's join code on the picture: 1 shown, 0 hidden (a cue's
    /// `join_code`).
    JoinCode,
    /// How much the audience's agreement sets the unity instead, 0..1 (a cue's
    /// `unity = "crowd"` moves it to 1; a number for `unity` moves it back to 0).
    UnityCrowd,
    /// The show's glitch (the picture's glitch is the larger of this and the preset's).
    Glitch,
    /// A layer parameter of a dreamer (numbered from 0 here).
    DreamerParam {
        dreamer: usize,
        param: usize,
    },
    DreamerOpacity {
        dreamer: usize,
    },
    /// 1 in, 0 withdrawn.
    DreamerPresence {
        dreamer: usize,
    },
}

/// A change to one visual value: jump (`over_s == 0`) or ramp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VisualChange {
    pub time_s: f64,
    pub target: Target,
    pub to: f32,
    pub over_s: f64,
    pub curve: Curve,
}

/// A layer of the dream mosaic, as the performance declares it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dreamer {
    pub preset: usize,
    pub blend: BlendMode,
    pub opacity: f32,
    /// False: starts withdrawn.
    pub present: bool,
}

/// What the picture should show at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VisualState {
    pub preset: usize,
    pub params: [f32; MAX_LAYER_PARAMS],
    /// During a crossfade: the outgoing preset, still running, and how far the new one is in.
    pub fade: Option<Fade>,
    /// The dreamer layers over the preset (none unless the performance has dreamers).
    pub mosaic: Mosaic,
    /// The post chain (blended across a crossfade).
    pub post: Post,
    /// Where the preset's clock starts on the show clock: its shaders see the show time less
    /// this (see [`Timeline::origin_s`]).
    pub origin_s: f64,
    /// How much of the audience page's join code shows, 0..1 (a cue's `join_code`).
    pub join_code: f32,
}

impl VisualState {
    /// The same state with every preset index moved up by `base` (a kiosk's outgoing item,
    /// whose presets follow the new item's).
    pub fn with_presets_from(mut self, base: usize) -> Self {
        self.preset += base;
        if let Some(f) = &mut self.fade {
            f.preset += base;
            // Its styles are the outgoing show's own: a plain mix instead.
            f.style = None;
        }
        for d in &mut self.mosaic.layers {
            d.preset += base;
        }
        self
    }
}

/// A value moved by jumps and ramps, evaluated at any time.
#[derive(Clone, Copy, Debug)]
struct Track {
    value: f32,
    /// (from, to, start, duration, shape)
    ramp: Option<(f32, f32, f64, f64, Curve)>,
}

impl Track {
    fn new(value: f32) -> Self {
        Self { value, ramp: None }
    }

    fn at(&self, t: f64) -> f32 {
        match self.ramp {
            None => self.value,
            Some((from, to, start, over, curve)) => {
                if over <= 0.0 || t >= start + over {
                    to
                } else {
                    curve.between(f64::from(from), f64::from(to), (t - start) / over) as f32
                }
            }
        }
    }

    fn apply(&mut self, c: &VisualChange) {
        let from = self.at(c.time_s);
        self.ramp = Some((from, c.to, c.time_s, c.over_s, c.curve));
    }
}

/// The S-curve crossfades and presence fades follow.
fn s_curve(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// The outgoing side of a crossfade.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fade {
    pub preset: usize,
    pub params: [f32; MAX_LAYER_PARAMS],
    /// Weight of the incoming preset, 0..1 (an S-curve over the fade's time).
    pub weight_new: f32,
    /// Where the outgoing layer's clock starts on the show clock (see [`Timeline::origin_s`]).
    pub origin_s: f64,
    /// How the two meet: an ISF transition of [`Timeline::fade_styles`], or a plain mix.
    pub style: Option<usize>,
}

/// A change of preset: a cut when `fade_s` is 0, else a crossfade over `fade_s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Switch {
    pub time_s: f64,
    pub preset: usize,
    pub fade_s: f64,
    /// The crossfade's style ([`Timeline::fade_styles`]); a plain mix when `None`.
    pub style: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    pub title: String,
    pub tempo: Tempo,
    pub duration_s: f64,
    /// Every preset the performance uses; indices into this are preset ids.
    pub presets: Vec<Preset>,
    pub initial_patch: Patch,
    /// Limiter ceiling and on/off; the command line may override the file.
    pub master: MasterSettings,
    /// Sorted by time; at equal times note-offs come first so repeated notes retrigger.
    pub audio: Vec<AudioCue>,
    /// Preset changes, sorted, the first at 0.
    pub switches: Vec<Switch>,
    /// The ISF transitions crossfades use (`fade_style` on a cue), each as a preset whose
    /// layer is the transition's shader and whose parameters are its inputs.
    pub fade_styles: Vec<Preset>,
    /// Sorted by time.
    pub changes: Vec<VisualChange>,
    /// The dream mosaic's layers, in drawing order.
    pub dreamers: Vec<Dreamer>,
    /// The mosaic's unity at the start.
    pub unity: f32,
    /// Narrative captions, sorted by start.
    pub captions: Vec<Caption>,
    /// Every cue of the file, in order, with when it fires (if known yet), in score time.
    pub cues: Vec<CueTiming>,
    /// Whether a composer plays (a `[symphony]` table): its macros can be moved live.
    pub symphony: bool,
    /// Loop regions, in score time; `duration_s` and the sound include their repeats.
    pub loops: Vec<Loop>,
    /// Where this timeline's 0 is on the show clock. A performance played alone starts at 0; a
    /// kiosk's item starts wherever the clock has got to (after weeks: millions of seconds),
    /// and everything in it (cues, tempo, captions, its shaders' clock) counts from here, so a
    /// shader's `f32` time stays as fine on the fortieth day as on the first.
    pub origin_s: f64,
    /// A kiosk's crossfade from the item before, which runs on its own clock until the fade
    /// (from `origin_s`) is over. Its presets follow this timeline's own in `presets`.
    pub before: Option<Before>,
}

/// The item a kiosk is crossfading from.
#[derive(Clone, Debug, PartialEq)]
pub struct Before {
    /// Its timeline, with no `before` of its own.
    pub timeline: Arc<Timeline>,
    pub fade_s: f64,
    /// Where its presets start in the new timeline's `presets`.
    pub preset_base: usize,
}

/// Where a caption sits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaptionPlace {
    Top,
    Center,
    #[default]
    Bottom,
}

impl CaptionPlace {
    pub const NAMES: [&str; 3] = ["top", "center", "bottom"];

    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "top" => Self::Top,
            "center" => Self::Center,
            "bottom" => Self::Bottom,
            _ => return None,
        })
    }
}

/// A narrative caption: fades in over `fade_s`, holds `hold_s`, fades out over `fade_s`.
#[derive(Clone, Debug, PartialEq)]
pub struct Caption {
    pub start_s: f64,
    pub text: String,
    pub place: CaptionPlace,
    pub fade_s: f64,
    pub hold_s: f64,
    /// Relative size (1: about a twentieth of the picture's height).
    pub size: f32,
}

impl Caption {
    pub fn end_s(&self) -> f64 {
        self.start_s + 2.0 * self.fade_s + self.hold_s
    }

    /// How visible the caption is at `time_s`, 0..1 (S-curve fades).
    pub fn alpha_at(&self, time_s: f64) -> f32 {
        let t = time_s - self.start_s;
        if t < 0.0 || time_s >= self.end_s() {
            return 0.0;
        }
        if self.fade_s <= 0.0 {
            return 1.0;
        }
        let fade_in = t / self.fade_s;
        let fade_out = (self.end_s() - time_s) / self.fade_s;
        s_curve(fade_in.min(fade_out).min(1.0) as f32)
    }
}

impl Timeline {
    /// The visual state at `time_s`: the preset showing, its parameters and post settings
    /// with every set and ramp up to that time applied, and the mosaic's dreamers.
    pub fn visual_state_at(&self, show_s: f64) -> VisualState {
        let Some((before, weight_out)) = self.outgoing_at(show_s) else {
            return self.own_state_at(show_s);
        };
        let base = self.before.as_ref().map_or(0, |b| b.preset_base);
        let out = before.visual_state_at(show_s).with_presets_from(base);
        if weight_out >= 1.0 {
            return out;
        }
        let mut state = self.own_state_at(show_s);
        let weight_new = 1.0 - weight_out;
        state.post = Post::lerp(&out.post, &state.post, weight_new);
        state.fade = Some(Fade {
            preset: out.preset,
            params: out.params,
            weight_new,
            origin_s: out.origin_s,
            style: None,
        });
        // Dreamers going out fade with their show, unless the new one brings its own.
        if state.mosaic.count == 0 && out.mosaic.count > 0 {
            state.mosaic = out.mosaic;
            for d in &mut state.mosaic.layers {
                d.presence *= weight_out;
            }
        }
        state
    }

    /// The item a kiosk is crossfading from at `show_s`, and its weight (1 before this
    /// timeline starts, falling to 0 over the fade); `None` once the fade is over.
    pub fn outgoing_at(&self, show_s: f64) -> Option<(&Timeline, f32)> {
        let b = self.before.as_ref()?;
        let into_s = show_s - self.origin_s;
        if into_s >= b.fade_s {
            return None;
        }
        let weight_new = if into_s <= 0.0 {
            0.0
        } else {
            s_curve((into_s / b.fade_s) as f32)
        };
        Some((&b.timeline, 1.0 - weight_new))
    }

    /// This timeline without the item it fades in over, and so with its own presets only.
    pub fn alone(self: &Arc<Self>) -> Arc<Self> {
        let Some(b) = &self.before else {
            return self.clone();
        };
        let mut t = (**self).clone();
        t.before = None;
        t.presets.truncate(b.preset_base);
        Arc::new(t)
    }

    /// [`Timeline::visual_state_at`] of this timeline alone.
    fn own_state_at(&self, show_s: f64) -> VisualState {
        let time_s = self.score_time(show_s);
        let idx = self
            .switches
            .partition_point(|s| s.time_s <= time_s)
            .saturating_sub(1);
        let (preset, params, mut post) = self.layer_state(idx, time_s);
        let fade = match (self.switches.get(idx), idx.checked_sub(1)) {
            (Some(sw), Some(prev)) if sw.fade_s > 0.0 && time_s < sw.time_s + sw.fade_s => {
                let (from, from_params, from_post) = self.layer_state(prev, time_s);
                let weight_new = s_curve(((time_s - sw.time_s) / sw.fade_s) as f32);
                (from != preset).then(|| {
                    post = Post::lerp(&from_post, &post, weight_new);
                    Fade {
                        preset: from,
                        params: from_params,
                        weight_new,
                        origin_s: self.origin_s,
                        style: sw.style,
                    }
                })
            }
            _ => None,
        };
        let (mut glitch, mut join_code) = (Track::new(0.0), Track::new(0.0));
        for c in self.changes_until(time_s) {
            match c.target {
                Target::Glitch => glitch.apply(c),
                Target::JoinCode => join_code.apply(c),
                _ => {}
            }
        }
        post.glitch = post.glitch.max(glitch.at(time_s).clamp(0.0, 1.0));
        VisualState {
            preset,
            params,
            fade,
            mosaic: self.mosaic_at(time_s),
            post,
            origin_s: self.origin_s,
            join_code: join_code.at(time_s).clamp(0.0, 1.0),
        }
    }

    /// The preset change in effect at `show_s`: its (score) time and preset. A live change to
    /// the layer lasts until the next one.
    pub fn switch_at(&self, show_s: f64) -> Option<(f64, usize)> {
        let time_s = self.score_time(show_s);
        let idx = self.switches.partition_point(|s| s.time_s <= time_s);
        let sw = self.switches.get(idx.checked_sub(1)?)?;
        Some((sw.time_s, sw.preset))
    }

    /// The show time a frame starting at `start_s` and standing for `dt_s` is evaluated at:
    /// the last instant of its span, so an action lands on the frame whose span contains it
    /// (never a frame late). Shaders still get the frame's start as their clock.
    pub fn frame_time(start_s: f64, dt_s: f64) -> f64 {
        start_s + (dt_s - 1e-6).max(0.0)
    }

    /// The captions showing at `time_s`, with how visible each is.
    pub fn captions_at(&self, show_s: f64) -> impl Iterator<Item = (&Caption, f32)> {
        let time_s = self.score_time(show_s);
        self.captions
            .iter()
            .take_while(move |c| c.start_s <= time_s)
            .map(move |c| (c, c.alpha_at(time_s)))
            .filter(|(_, a)| *a > 0.0)
    }

    /// The preset of switch `idx`, its parameters and its post settings at `time_s`: defaults,
    /// then every set and ramp since that switch.
    fn layer_state(&self, idx: usize, time_s: f64) -> (usize, [f32; MAX_LAYER_PARAMS], Post) {
        let (since, preset) = self
            .switches
            .get(idx)
            .map_or((0.0, 0), |s| (s.time_s, s.preset));
        let mut params = [0.0f32; MAX_LAYER_PARAMS];
        let Some(p) = self.presets.get(preset) else {
            return (preset, params, Post::default());
        };
        let defs = &p.layer.params;
        let mut tracks = [Track::new(0.0); MAX_LAYER_PARAMS];
        for (track, d) in tracks.iter_mut().zip(defs) {
            *track = Track::new(d.default);
        }
        let mut post = p.post.to_array().map(Track::new);
        for c in self.changes_until(time_s).filter(|c| c.time_s >= since) {
            match c.target {
                Target::Layer { preset: q, param } if q == preset && param < MAX_LAYER_PARAMS => {
                    tracks[param].apply(c)
                }
                Target::Post { preset: q, setting } if q == preset && setting < Post::COUNT => {
                    post[setting].apply(c)
                }
                _ => {}
            }
        }
        for (i, d) in defs.iter().enumerate().take(MAX_LAYER_PARAMS) {
            params[i] = d.clamp(tracks[i].at(time_s));
        }
        let post = Post::from_array(post.map(|t| t.at(time_s)));
        (preset, params, post)
    }

    /// The dream mosaic at `time_s`.
    fn mosaic_at(&self, time_s: f64) -> Mosaic {
        let mut mosaic = Mosaic {
            count: self.dreamers.len().min(MAX_DREAMERS),
            origin_s: self.origin_s,
            ..Mosaic::default()
        };
        if mosaic.count == 0 {
            return mosaic;
        }
        let mut unity = Track::new(self.unity);
        let mut unity_crowd = Track::new(0.0);
        let mut opacity = [Track::new(1.0); MAX_DREAMERS];
        let mut presence = [Track::new(0.0); MAX_DREAMERS];
        let mut params = [[Track::new(0.0); MAX_LAYER_PARAMS]; MAX_DREAMERS];
        for (i, d) in self.dreamers.iter().take(MAX_DREAMERS).enumerate() {
            opacity[i] = Track::new(d.opacity);
            presence[i] = Track::new(if d.present { 1.0 } else { 0.0 });
            if let Some(p) = self.presets.get(d.preset) {
                for (track, def) in params[i].iter_mut().zip(&p.layer.params) {
                    *track = Track::new(def.default);
                }
            }
        }
        for c in self.changes_until(time_s) {
            match c.target {
                Target::Unity => unity.apply(c),
                Target::UnityCrowd => unity_crowd.apply(c),
                Target::DreamerOpacity { dreamer } if dreamer < mosaic.count => {
                    opacity[dreamer].apply(c)
                }
                Target::DreamerPresence { dreamer } if dreamer < mosaic.count => {
                    presence[dreamer].apply(c)
                }
                Target::DreamerParam { dreamer, param }
                    if dreamer < mosaic.count && param < MAX_LAYER_PARAMS =>
                {
                    params[dreamer][param].apply(c)
                }
                _ => {}
            }
        }
        mosaic.unity = unity.at(time_s).clamp(0.0, 1.0);
        mosaic.unity_crowd = unity_crowd.at(time_s).clamp(0.0, 1.0);
        for (i, d) in self.dreamers.iter().take(mosaic.count).enumerate() {
            let defs = self
                .presets
                .get(d.preset)
                .map(|p| p.layer.params.as_slice());
            let mut values = [0.0f32; MAX_LAYER_PARAMS];
            for (j, def) in defs
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .take(MAX_LAYER_PARAMS)
            {
                values[j] = def.clamp(params[i][j].at(time_s));
            }
            mosaic.layers[i] = DreamerState {
                preset: d.preset,
                params: values,
                blend: d.blend,
                opacity: opacity[i].at(time_s).clamp(0.0, 1.0),
                presence: s_curve(presence[i].at(time_s)),
            };
        }
        mosaic
    }

    /// The changes at or before `time_s`, in time order.
    fn changes_until(&self, time_s: f64) -> impl Iterator<Item = &VisualChange> {
        let n = self.changes.partition_point(|c| c.time_s <= time_s);
        self.changes[..n].iter()
    }

    /// The score time (as the cue file writes it) that show time `show_s` plays: they differ
    /// after and inside loop regions.
    pub fn score_time(&self, show_s: f64) -> f64 {
        score_time(&self.loops, show_s - self.origin_s)
    }

    /// Beat, bar and tempo at show time `show_s`.
    pub fn musical_at(&self, show_s: f64) -> Musical {
        self.tempo.musical_at(self.score_time(show_s))
    }

    /// The synth patch playing at `time_s` (the timeline's own time, as its audio cues have
    /// it): the last preset change's, else the opening one.
    pub fn patch_at(&self, time_s: f64) -> Patch {
        self.audio
            .iter()
            .take_while(|c| c.time_s <= time_s)
            .filter_map(|c| match c.action {
                AudioAction::Patch(p) => Some(p),
                _ => None,
            })
            .last()
            .unwrap_or(self.initial_patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A built-in look shown still, its clock starting at `origin_s`.
    fn still(origin_s: f64) -> Timeline {
        let look = crate::show::preset::builtin_look(crate::show::preset::BLACK_LOOK);
        Timeline {
            origin_s,
            ..crate::show::compile::still_timeline(look, 10.0)
        }
    }

    #[test]
    fn a_kiosk_item_fades_in_over_the_one_before_each_on_its_own_clock() {
        let out = Arc::new(still(100.0));
        let mut next = still(500.0);
        next.before = Some(Before {
            timeline: out,
            fade_s: 2.0,
            preset_base: 1,
        });
        // Before the cut: the outgoing item alone, its presets after the new one's.
        let v = next.visual_state_at(499.0);
        assert_eq!((v.preset, v.origin_s, v.fade), (1, 100.0, None));
        // Half way: both, the outgoing on its own clock, weighed by the S-curve.
        let v = next.visual_state_at(501.0);
        let fade = v.fade.unwrap();
        assert_eq!((v.preset, v.origin_s), (0, 500.0));
        assert_eq!(
            (fade.preset, fade.origin_s, fade.weight_new),
            (1, 100.0, 0.5)
        );
        // After it: the new item alone.
        let v = next.visual_state_at(502.5);
        assert_eq!((v.preset, v.fade), (0, None));
        assert!(next.outgoing_at(502.5).is_none());
        assert_eq!(
            next.score_time(503.0),
            3.0,
            "its cues count from its origin"
        );
    }

    #[test]
    fn curves_start_and_end_where_asked_and_differ_in_between() {
        for c in [Curve::Linear, Curve::Exponential, Curve::SCurve] {
            assert_eq!(c.between(100.0, 1600.0, 0.0), 100.0);
            assert!((c.between(100.0, 1600.0, 1.0) - 1600.0).abs() < 1e-9);
        }
        assert_eq!(Curve::Linear.between(100.0, 1600.0, 0.5), 850.0);
        assert!((Curve::Exponential.between(100.0, 1600.0, 0.5) - 400.0).abs() < 1e-9);
        assert!(Curve::SCurve.between(0.0, 1.0, 0.1) < 0.05);
        assert_eq!(Curve::Exponential.between(-1.0, 1.0, 0.5), -0.5);
    }
}
