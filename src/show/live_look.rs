//! What performers and audiences steer live on the picture, over what the timeline says: a
//! dreamer's layer parameters and opacity, their leaving (by consent) and returning, the
//! mosaic's unity, the glitch, and live captions. Kept on the render thread; commands arrive
//! over a bounded channel (OSC now, MIDI next).
//!
//! A dreamer who leaves fades out over [`LEAVE_FADE_S`], and everything they sent is forgotten
//! at that moment: nothing of their input is kept.

use super::look::MAX_DREAMERS;
use super::look::MAX_LAYER_PARAMS;
use super::timeline::{Caption, CaptionPlace, Timeline, VisualState};
use crate::bridge::LookCommand;

/// How long a leaving (or returning) dreamer takes to fade.
pub const LEAVE_FADE_S: f64 = 2.0;
/// Longest caption text taken from the network, in characters.
pub const MAX_CAPTION_CHARS: usize = 200;
/// Most live captions kept at once (the oldest goes first).
const MAX_LIVE_CAPTIONS: usize = 4;

#[derive(Clone, Copy, Debug)]
struct DreamerLive {
    params: [Option<f32>; MAX_LAYER_PARAMS],
    opacity: Option<f32>,
    /// (from, to, start): the live presence factor's fade, if any.
    presence: Option<(f32, f32, f64)>,
}

impl Default for DreamerLive {
    fn default() -> Self {
        Self {
            params: [None; MAX_LAYER_PARAMS],
            opacity: None,
            presence: None,
        }
    }
}

impl DreamerLive {
    fn presence_at(&self, now_s: f64) -> f32 {
        match self.presence {
            None => 1.0,
            Some((from, to, start)) => {
                let x = ((now_s - start) / LEAVE_FADE_S).clamp(0.0, 1.0) as f32;
                let x = x * x * (3.0 - 2.0 * x);
                from + (to - from) * x
            }
        }
    }
}

/// A preset change as [`Timeline::switch_at`] gives it: its (score) time and preset.
type SwitchId = (f64, usize);

#[derive(Clone, Debug, Default)]
pub struct LiveLook {
    dreamers: [DreamerLive; MAX_DREAMERS],
    unity: Option<f32>,
    glitch: f32,
    captions: Vec<Caption>,
    /// Layer parameters of the preset showing, by name, with the preset change they were set
    /// under: the next cut (or crossfade) resets them, as it resets the file's own.
    layer: Vec<(String, f32, Option<SwitchId>)>,
}

impl LiveLook {
    /// Takes one command at show time `now_s`. Names and numbers the show does not have are
    /// ignored (returns false).
    pub fn apply(&mut self, cmd: LookCommand, timeline: &Timeline, now_s: f64) -> bool {
        let finite = |v: f32| v.is_finite().then_some(v);
        match cmd {
            LookCommand::LayerParam { name, value } => {
                let known = timeline
                    .presets
                    .iter()
                    .any(|p| p.layer.param_index(&name).is_some());
                let Some(value) = finite(value).filter(|_| known) else {
                    return false;
                };
                let under = timeline.switch_at(now_s);
                self.layer.retain(|(n, _, s)| *n != name && *s == under);
                self.layer.push((name, value, under));
            }
            LookCommand::DreamerParam {
                dreamer,
                name,
                value,
            } => {
                let Some(d) = timeline.dreamers.get(dreamer) else {
                    return false;
                };
                let Some(def_i) = timeline
                    .presets
                    .get(d.preset)
                    .and_then(|p| p.layer.param_index(&name))
                else {
                    return false;
                };
                let def = &timeline.presets[d.preset].layer.params[def_i];
                self.dreamers[dreamer].params[def_i] = finite(value).map(|v| def.clamp(v));
            }
            LookCommand::DreamerOpacity { dreamer, value } => {
                if dreamer >= timeline.dreamers.len() {
                    return false;
                }
                self.dreamers[dreamer].opacity = finite(value).map(|v| v.clamp(0.0, 1.0));
            }
            LookCommand::DreamerLeave { dreamer } | LookCommand::DreamerReturn { dreamer }
                if dreamer >= timeline.dreamers.len() =>
            {
                return false;
            }
            LookCommand::DreamerLeave { dreamer } => {
                let from = self.dreamers[dreamer].presence_at(now_s);
                // By consent: nothing of what they sent is kept.
                self.dreamers[dreamer] = DreamerLive {
                    presence: Some((from, 0.0, now_s)),
                    ..DreamerLive::default()
                };
            }
            LookCommand::DreamerReturn { dreamer } => {
                let from = self.dreamers[dreamer].presence_at(now_s);
                self.dreamers[dreamer].presence = Some((from, 1.0, now_s));
            }
            LookCommand::Unity(u) => self.unity = finite(u).map(|u| u.clamp(0.0, 1.0)),
            LookCommand::Glitch(g) => self.glitch = finite(g).map_or(0.0, |g| g.clamp(0.0, 1.0)),
            // The output stage's, not the look's: the render thread takes these first.
            LookCommand::Output(_) => return false,
            LookCommand::Caption { text, hold_s } => {
                let text: String = text.chars().take(MAX_CAPTION_CHARS).collect();
                if text.trim().is_empty() {
                    return false;
                }
                if self.captions.len() >= MAX_LIVE_CAPTIONS {
                    self.captions.remove(0);
                }
                self.captions.push(Caption {
                    start_s: now_s,
                    text,
                    place: CaptionPlace::Center,
                    fade_s: 0.5,
                    hold_s: f64::from(hold_s.clamp(0.5, 60.0)),
                    size: 0.9,
                });
            }
        }
        true
    }

    /// Lays the live changes over `state` (of `timeline`) at show time `now_s`.
    pub fn overlay(&self, state: &mut VisualState, now_s: f64, timeline: &Timeline) {
        let showing = timeline.switch_at(now_s);
        if let Some(p) = timeline.presets.get(state.preset) {
            for (name, v, _) in self.layer.iter().filter(|(.., s)| *s == showing) {
                if let Some(i) = p.layer.param_index(name) {
                    state.params[i] = p.layer.params[i].clamp(*v);
                }
            }
        }
        let count = state.mosaic.count.min(MAX_DREAMERS);
        for (layer, live) in state.mosaic.layers[..count].iter_mut().zip(&self.dreamers) {
            for (p, v) in layer.params.iter_mut().zip(&live.params) {
                if let Some(v) = v {
                    *p = *v;
                }
            }
            if let Some(o) = live.opacity {
                layer.opacity = o;
            }
            layer.presence *= live.presence_at(now_s);
        }
        if let Some(u) = self.unity {
            // A hand on the fader takes the unity back from the crowd.
            state.mosaic.unity = u;
            state.mosaic.unity_crowd = 0.0;
        }
        state.post.glitch = state.post.glitch.max(self.glitch);
    }

    /// The live captions showing at `now_s`, with how visible each is.
    pub fn captions_at(&self, now_s: f64) -> impl Iterator<Item = (&Caption, f32)> {
        self.captions
            .iter()
            .map(move |c| (c, c.alpha_at(now_s)))
            .filter(|(_, a)| *a > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::compile::load_timeline;

    fn mosaic() -> (tempfile::TempDir, Timeline) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["presets", "performances", "shaders"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("shaders/s.wgsl"), "").unwrap();
        std::fs::write(
            root.join("presets/a.toml"),
            "[layer]\nshader = \"s.wgsl\"\n[layer.params]\nhue = { default = 0.5 }\n",
        )
        .unwrap();
        let perf = root.join("performances/p.toml");
        std::fs::write(
            &perf,
            "duration = 60\npreset = \"a\"\n[[dreamer]]\npreset = \"a\"\n[[dreamer]]\npreset = \"a\"\n",
        )
        .unwrap();
        let t = load_timeline(&perf).unwrap();
        (dir, t)
    }

    #[test]
    fn a_dreamer_steers_their_own_layer_only() {
        let (_d, tl) = mosaic();
        let mut live = LiveLook::default();
        assert!(live.apply(
            LookCommand::DreamerParam {
                dreamer: 1,
                name: "hue".into(),
                value: 7.0
            },
            &tl,
            1.0
        ));
        assert!(!live.apply(
            LookCommand::DreamerParam {
                dreamer: 1,
                name: "../../etc".into(),
                value: 1.0
            },
            &tl,
            1.0
        ));
        assert!(!live.apply(LookCommand::DreamerLeave { dreamer: 5 }, &tl, 1.0));
        assert!(live.apply(
            LookCommand::LayerParam {
                name: "hue".into(),
                value: 0.25
            },
            &tl,
            1.0
        ));
        let mut v = tl.visual_state_at(1.0);
        live.overlay(&mut v, 1.0, &tl);
        assert_eq!(v.params[0], 0.25, "the preset showing");
        assert_eq!(
            v.mosaic.layers[1].params[0], 1.0,
            "clamped to the parameter's range"
        );
        assert_eq!(v.mosaic.layers[0].params[0], 0.5);
    }

    #[test]
    fn a_live_layer_value_lasts_until_the_next_preset_cut() {
        let (d, _) = mosaic();
        let root = d.path();
        std::fs::write(
            root.join("presets/b.toml"),
            "[layer]\nshader = \"s.wgsl\"\n[layer.params]\nhue = { default = 0.7 }\n",
        )
        .unwrap();
        let perf = root.join("performances/cut.toml");
        std::fs::write(
            &perf,
            "duration = 60\npreset = \"a\"\n[[cue]]\nat = 10\npreset = \"b\"\n[[cue]]\nat = 20\npreset = \"a\"\n",
        )
        .unwrap();
        let tl = load_timeline(&perf).unwrap();
        let hue_at = |live: &LiveLook, t: f64| {
            let mut v = tl.visual_state_at(t);
            live.overlay(&mut v, t, &tl);
            v.params[0]
        };
        let mut live = LiveLook::default();
        let hue = |value| LookCommand::LayerParam {
            name: "hue".into(),
            value,
        };
        assert!(live.apply(hue(0.25), &tl, 1.0));
        assert_eq!(hue_at(&live, 9.9), 0.25, "held while the preset shows");
        assert_eq!(hue_at(&live, 10.5), 0.7, "the cut to b resets it");
        assert_eq!(hue_at(&live, 20.5), 0.5, "and it does not come back with a");
        assert!(live.apply(hue(0.1), &tl, 12.0));
        assert_eq!(hue_at(&live, 15.0), 0.1);
        assert_eq!(live.layer.len(), 1, "the stale value is forgotten");
    }

    #[test]
    fn a_dreamer_who_leaves_fades_out_and_nothing_they_sent_is_kept() {
        let (_d, tl) = mosaic();
        let mut live = LiveLook::default();
        live.apply(
            LookCommand::DreamerOpacity {
                dreamer: 0,
                value: 0.3,
            },
            &tl,
            0.0,
        );
        live.apply(LookCommand::DreamerLeave { dreamer: 0 }, &tl, 10.0);
        let at_with = |live: &LiveLook, t: f64| {
            let mut v = tl.visual_state_at(t);
            live.overlay(&mut v, t, &tl);
            v.mosaic.layers[0]
        };
        let at = |t: f64| at_with(&live, t);
        assert_eq!(at(10.0).presence, 1.0);
        assert!((at(11.0).presence - 0.5).abs() < 1e-6);
        assert_eq!(at(12.0).presence, 0.0);
        assert_eq!(at(12.0).opacity, 1.0, "their opacity setting is gone");
        assert_eq!(at(12.0).presence, 0.0);
        live.apply(LookCommand::DreamerReturn { dreamer: 0 }, &tl, 20.0);
        assert_eq!(at_with(&live, 22.0).presence, 1.0);
    }

    #[test]
    fn live_captions_are_bounded_in_length_and_number() {
        let (_d, tl) = mosaic();
        let mut live = LiveLook::default();
        for i in 0..10 {
            live.apply(
                LookCommand::Caption {
                    text: "x".repeat(1000),
                    hold_s: 5.0,
                },
                &tl,
                f64::from(i),
            );
        }
        assert_eq!(live.captions.len(), MAX_LIVE_CAPTIONS);
        assert!(
            live.captions
                .iter()
                .all(|c| c.text.len() == MAX_CAPTION_CHARS)
        );
        assert_eq!(live.captions_at(9.5).count(), 4);
    }
}
