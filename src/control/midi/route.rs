//! From MIDI messages to what the show does: notes to the synth, controllers through the map,
//! transport and GO, program changes to presets, MIDI clock to tempo and beat, and MIDI learn.
//! Pure (no device, no threads), so every rule is tested here; the midir wrapper
//! ([`super::input`]) carries out what it returns.

use std::collections::HashMap;

use super::binding::{CcBinding, CcTarget, MidiMap, SeekTarget, Trigger};
use super::clock::BeatClock;
use super::learn::{LearnTarget, Learned};
use super::wire::{MidiMsg, MmcCommand};
use crate::bridge::{AudioParam, EventKind, LookCommand, ShowCommand};
use crate::clock::Tempo;
use crate::control::intent::Intent;

/// Controllers with a fixed meaning when the map does not bind them.
const CC_SUSTAIN: u8 = 64;
const CC_ALL_SOUND_OFF: u8 = 120;
const CC_ALL_NOTES_OFF: u8 = 123;

/// The smallest tempo change from MIDI clock passed to the engine (clock jitter moves the
/// average by less).
const TEMPO_STEP_BPM: f64 = 0.1;

/// One thing a message asks for: an intent, or (MIDI's own) a binding MIDI learn made, to
/// be saved to the map file.
#[derive(Clone, Debug, PartialEq)]
pub enum Routed {
    Steer(Intent),
    Learned(Learned),
}

pub struct Router {
    map: MidiMap,
    /// The show's tempo map, for seeks to bar|beat.
    tempo: Tempo,
    /// The project's presets, sorted: program change N picks the Nth unless the map says.
    presets: Vec<String>,
    /// Controllers above 63, a bit per controller, per channel: triggers fire as one rises.
    high: [u128; 16],
    /// Where each relative encoder's target is.
    positions: HashMap<CcTarget, f32>,
    clock: BeatClock,
    /// MTC's quarter frames, put back together.
    mtc: crate::control::sync::mtc::MtcReader,
    learn: Option<LearnTarget>,
    tempo_sent_bpm: f64,
}

impl Router {
    pub fn new(map: MidiMap, tempo: Tempo, presets: Vec<String>) -> Self {
        Self {
            map,
            tempo,
            presets,
            high: [0; 16],
            positions: HashMap::new(),
            clock: BeatClock::default(),
            mtc: Default::default(),
            learn: None,
            tempo_sent_bpm: 0.0,
        }
    }

    /// Arms MIDI learn for `target` (`None` disarms).
    pub fn arm(&mut self, target: Option<LearnTarget>) {
        self.learn = target;
    }

    pub fn armed(&self) -> Option<&LearnTarget> {
        self.learn.as_ref()
    }

    /// What `msg`, arriving at `time_s` (any steady clock), asks for, appended to `out`.
    pub fn route(&mut self, msg: &MidiMsg, time_s: f64, out: &mut Vec<Routed>) {
        let rose = self.note_level(msg);
        if let Some(target) = self.learn.clone() {
            if let Some(learned) = self.learn_from(&target, msg, rose) {
                self.learn = None;
                let is_cc = matches!(learned, Learned::Cc(_));
                out.push(Routed::Learned(learned));
                if !is_cc {
                    return; // the press that taught a trigger does not also fire it
                }
            }
        }
        for (trigger, kind) in &self.map.triggers {
            if trigger.fires(msg, rose) {
                out.push(Routed::Steer(Intent::Show(kind.command())));
                return;
            }
            if trigger.releases(msg) {
                return;
            }
        }
        for (trigger, target) in &self.map.seeks {
            if trigger.fires(msg, rose) {
                let command = match target {
                    SeekTarget::Cue(n) => Some(ShowCommand::SeekCue(*n)),
                    SeekTarget::Time(p) => p.seconds(&self.tempo).ok().map(ShowCommand::Seek),
                };
                out.extend(command.map(|c| Routed::Steer(Intent::Show(c))));
                return;
            }
            if trigger.releases(msg) {
                return;
            }
        }
        match *msg {
            MidiMsg::NoteOn { note, velocity, .. } => out.push(Routed::Steer(Intent::Engine {
                kind: EventKind::NoteOn {
                    note,
                    velocity: f32::from(velocity) / 127.0,
                },
                at: None,
            })),
            MidiMsg::NoteOff { note, .. } => {
                out.push(Routed::Steer(Intent::Engine {
                    kind: EventKind::NoteOff { note },
                    at: None,
                }));
            }
            MidiMsg::Control { channel, cc, value } => self.control(channel, cc, value, out),
            MidiMsg::PitchBend { bend, .. } => out.push(set(
                AudioParam::PitchBend,
                (f32::from(bend) / 8192.0).clamp(-1.0, 1.0),
            )),
            MidiMsg::Program { channel, program } => {
                let bound = self
                    .map
                    .programs
                    .iter()
                    .find(|p| p.program == program && p.channel.is_none_or(|c| c == channel));
                let (name, fade_s) = match bound {
                    Some(p) => (Some(p.preset.clone()), p.fade_s),
                    None => (self.presets.get(usize::from(program)).cloned(), 0.0),
                };
                if let Some(name) = name {
                    out.push(Routed::Steer(Intent::Show(ShowCommand::Preset {
                        name,
                        fade_s,
                    })));
                }
            }
            MidiMsg::Clock => {
                if let Some(reading) = self.clock.tick(time_s) {
                    out.push(Routed::Steer(Intent::Clock {
                        beats: reading.beats,
                        bpm: reading.bpm,
                    }));
                    if (reading.bpm - self.tempo_sent_bpm).abs() >= TEMPO_STEP_BPM {
                        self.tempo_sent_bpm = reading.bpm;
                        out.push(set(AudioParam::TempoBpm, reading.bpm as f32));
                    }
                }
            }
            MidiMsg::Start => self.clock.start(),
            MidiMsg::Continue => self.clock.resume(),
            MidiMsg::Stop => {
                self.clock.stop();
                out.push(Routed::Steer(Intent::ClockStopped));
            }
            MidiMsg::SongPosition(sixteenths) => self.clock.locate(sixteenths),
            MidiMsg::QuarterFrame(data) => {
                if let Some((frames, rate)) = self.mtc.quarter(data, time_s) {
                    out.push(Routed::Steer(Intent::Timecode {
                        source: crate::bridge::TimecodeSource::Mtc,
                        frames,
                        rate,
                        running: true,
                    }));
                }
            }
            MidiMsg::FullFrame(tc, rate) => out.push(Routed::Steer(Intent::Timecode {
                source: crate::bridge::TimecodeSource::Mtc,
                frames: self.mtc.full(tc, rate),
                rate,
                running: false,
            })),
            // A DAW's stop keeps its place, so MMC stop pauses; rewind goes to the start.
            MidiMsg::Mmc(command) => out.push(Routed::Steer(Intent::Show(match command {
                MmcCommand::Stop | MmcCommand::Pause => ShowCommand::Pause,
                MmcCommand::Play => ShowCommand::Resume,
                MmcCommand::Rewind => ShowCommand::Seek(0.0),
                MmcCommand::Locate(s) => ShowCommand::Seek(s),
            }))),
        }
    }

    /// Tracks which controllers are above 63; true when `msg` just took one there.
    fn note_level(&mut self, msg: &MidiMsg) -> bool {
        let MidiMsg::Control { channel, cc, value } = *msg else {
            return false;
        };
        let (row, bit) = (
            &mut self.high[usize::from(channel & 0x0F)],
            1u128 << (cc & 0x7F),
        );
        let was = *row & bit != 0;
        if value > 63 {
            *row |= bit;
        } else {
            *row &= !bit;
        }
        value > 63 && !was
    }

    fn learn_from(&mut self, target: &LearnTarget, msg: &MidiMsg, rose: bool) -> Option<Learned> {
        match (target, *msg) {
            (LearnTarget::Control(t), MidiMsg::Control { channel, cc, .. }) => {
                let mut binding = CcBinding::learned(cc, channel, t.clone());
                // A control already mapped keeps what it is (an encoder stays relative).
                if let Some(old) = self
                    .map
                    .cc
                    .iter()
                    .find(|b| b.cc == cc && b.channel == Some(channel))
                {
                    binding.relative = old.relative;
                    binding.invert = old.invert;
                }
                self.map.learn_cc(binding.clone());
                Some(Learned::Cc(binding))
            }
            (LearnTarget::Trigger(kind), MidiMsg::NoteOn { channel, note, .. }) => {
                let trigger = Trigger {
                    note: Some(note),
                    cc: None,
                    channel: Some(channel),
                };
                self.map.learn_trigger(trigger, *kind);
                Some(Learned::Trigger(trigger, *kind))
            }
            (LearnTarget::Trigger(kind), MidiMsg::Control { channel, cc, .. }) if rose => {
                let trigger = Trigger {
                    note: None,
                    cc: Some(cc),
                    channel: Some(channel),
                };
                self.map.learn_trigger(trigger, *kind);
                Some(Learned::Trigger(trigger, *kind))
            }
            _ => None,
        }
    }

    fn control(&mut self, channel: u8, cc: u8, value: u8, out: &mut Vec<Routed>) {
        let Some(binding) = self.map.binding(channel, cc) else {
            match cc {
                CC_SUSTAIN => out.push(Routed::Steer(Intent::Engine {
                    kind: EventKind::Sustain { down: value >= 64 },
                    at: None,
                })),
                CC_ALL_SOUND_OFF | CC_ALL_NOTES_OFF => {
                    out.push(Routed::Steer(Intent::Engine {
                        kind: EventKind::AllNotesOff,
                        at: None,
                    }));
                }
                _ => {}
            }
            return;
        };
        let v = if binding.relative {
            let current = self
                .positions
                .get(&binding.target)
                .copied()
                .unwrap_or_else(|| binding.middle());
            let v = binding.value(value, current);
            self.positions.insert(binding.target.clone(), v);
            v
        } else {
            binding.value(value, 0.0)
        };
        out.push(match &binding.target {
            CcTarget::Audio(p) => set(*p, v),
            CcTarget::Layer(name) => Routed::Steer(Intent::Look(LookCommand::LayerParam {
                name: name.clone(),
                value: v,
            })),
            CcTarget::Dreamer { dreamer, name } => {
                Routed::Steer(Intent::Look(LookCommand::DreamerParam {
                    dreamer: *dreamer,
                    name: name.clone(),
                    value: v,
                }))
            }
            CcTarget::DreamerOpacity(dreamer) => {
                Routed::Steer(Intent::Look(LookCommand::DreamerOpacity {
                    dreamer: *dreamer,
                    value: v,
                }))
            }
            CcTarget::Unity => Routed::Steer(Intent::Look(LookCommand::Unity(v))),
            CcTarget::Glitch => Routed::Steer(Intent::Glitch(v)),
        });
    }
}

/// An audio parameter, set at once (the engine smooths the step).
fn set(param: AudioParam, value: f32) -> Routed {
    Routed::Steer(Intent::set(param, value))
}

#[cfg(test)]
mod tests {
    use super::super::map_file::parse_map;
    use super::*;
    use std::path::Path;

    fn router(map: &str) -> Router {
        let presets = vec!["aurora".to_string(), "cool".into(), "warm".into()];
        let map = parse_map(Path::new("m.toml"), map, &presets).unwrap();
        Router::new(map, Tempo::constant(120.0, 4), presets)
    }

    fn route(r: &mut Router, msg: MidiMsg) -> Vec<Routed> {
        let mut out = Vec::new();
        r.route(&msg, 0.0, &mut out);
        out
    }

    fn note_on(note: u8, velocity: u8) -> MidiMsg {
        MidiMsg::NoteOn {
            channel: 0,
            note,
            velocity,
        }
    }

    fn cc(cc: u8, value: u8) -> MidiMsg {
        MidiMsg::Control {
            channel: 0,
            cc,
            value,
        }
    }

    #[test]
    fn notes_velocity_bend_and_sustain_reach_the_synth() {
        let mut r = router("");
        assert_eq!(
            route(&mut r, note_on(60, 127)),
            [Routed::Steer(Intent::Engine {
                kind: EventKind::NoteOn {
                    note: 60,
                    velocity: 1.0
                },
                at: None,
            })]
        );
        let off = MidiMsg::NoteOff {
            channel: 0,
            note: 60,
        };
        assert_eq!(
            route(&mut r, off),
            [Routed::Steer(Intent::Engine {
                kind: EventKind::NoteOff { note: 60 },
                at: None,
            })]
        );
        let bend = MidiMsg::PitchBend {
            channel: 0,
            bend: -8192,
        };
        assert_eq!(route(&mut r, bend), [set(AudioParam::PitchBend, -1.0)]);
        assert_eq!(
            route(&mut r, cc(64, 127)),
            [Routed::Steer(Intent::Engine {
                kind: EventKind::Sustain { down: true },
                at: None,
            })]
        );
        assert_eq!(
            route(&mut r, cc(123, 0)),
            [Routed::Steer(Intent::Engine {
                kind: EventKind::AllNotesOff,
                at: None,
            })]
        );
        assert_eq!(route(&mut r, cc(5, 100)), [], "an unbound controller");
    }

    #[test]
    fn mapped_controllers_steer_sound_and_picture() {
        let mut r = router(
            "[[cc]]\ncc = 74\nparam = \"cutoff_hz\"\nmin = 100\nmax = 1000\n[[cc]]\ncc = 1\nparam = \"layer.speed\"\n[[cc]]\ncc = 2\nparam = \"glitch\"\n[[cc]]\ncc = 16\nparam = \"reverb_mix\"\nrelative = true\n",
        );
        assert_eq!(
            route(&mut r, cc(74, 127)),
            [set(AudioParam::CutoffHz, 1000.0)]
        );
        assert_eq!(
            route(&mut r, cc(1, 0)),
            [Routed::Steer(Intent::Look(LookCommand::LayerParam {
                name: "speed".into(),
                value: 0.0
            }))]
        );
        assert_eq!(
            route(&mut r, cc(2, 127)),
            [Routed::Steer(Intent::Glitch(1.0))]
        );
        // An encoder starts mid-range and moves by ticks.
        route(&mut r, cc(16, 4));
        assert_eq!(
            route(&mut r, cc(16, 4)),
            [set(AudioParam::ReverbMix, 0.5 + 8.0 / 128.0)]
        );
    }

    #[test]
    fn go_and_transport_fire_from_notes_and_buttons_once_a_press() {
        let mut r = router(
            "[go]\nnote = 60\n[next]\ncc = 20\n[[seek]]\nnote = 36\nto = \"3|1\"\n[[seek]]\nnote = 37\ncue = 2\n",
        );
        assert_eq!(
            route(&mut r, note_on(60, 90)),
            [Routed::Steer(Intent::Show(ShowCommand::Go))]
        );
        let release = MidiMsg::NoteOff {
            channel: 0,
            note: 60,
        };
        assert_eq!(route(&mut r, release), [], "GO's note plays nothing");
        assert_eq!(
            route(&mut r, cc(20, 127)),
            [Routed::Steer(Intent::Show(ShowCommand::NextCue))]
        );
        assert_eq!(route(&mut r, cc(20, 100)), [], "still held");
        route(&mut r, cc(20, 0));
        assert_eq!(
            route(&mut r, cc(20, 127)),
            [Routed::Steer(Intent::Show(ShowCommand::NextCue))]
        );
        // Bar 3 at 120 bpm in 4/4 is 4 s in.
        assert_eq!(
            route(&mut r, note_on(36, 1)),
            [Routed::Steer(Intent::Show(ShowCommand::Seek(4.0)))]
        );
        assert_eq!(
            route(&mut r, note_on(37, 1)),
            [Routed::Steer(Intent::Show(ShowCommand::SeekCue(1)))]
        );
    }

    #[test]
    fn mmc_drives_the_transport() {
        let mut r = router("");
        let mut mmc = |c| route(&mut r, MidiMsg::Mmc(c));
        assert_eq!(
            mmc(MmcCommand::Play),
            [Routed::Steer(Intent::Show(ShowCommand::Resume))]
        );
        assert_eq!(
            mmc(MmcCommand::Stop),
            [Routed::Steer(Intent::Show(ShowCommand::Pause))]
        );
        assert_eq!(
            mmc(MmcCommand::Locate(12.5)),
            [Routed::Steer(Intent::Show(ShowCommand::Seek(12.5)))]
        );
    }

    #[test]
    fn program_changes_pick_presets_by_map_or_by_order() {
        let mut r = router("[[program]]\nprogram = 10\npreset = \"warm\"\nfade_s = 2\n");
        let program = |program| MidiMsg::Program {
            channel: 0,
            program,
        };
        assert_eq!(
            route(&mut r, program(9)),
            [Routed::Steer(Intent::Show(ShowCommand::Preset {
                name: "warm".into(),
                fade_s: 2.0
            }))]
        );
        assert_eq!(
            route(&mut r, program(1)),
            [Routed::Steer(Intent::Show(ShowCommand::Preset {
                name: "cool".into(),
                fade_s: 0.0
            }))]
        );
        assert_eq!(route(&mut r, program(99)), [], "no such preset");
    }

    #[test]
    fn midi_clock_sets_the_engine_tempo_and_the_beat() {
        let mut r = router("");
        route(&mut r, MidiMsg::Start);
        let mut readings = Vec::new();
        let mut tempos = Vec::new();
        for i in 0..48 {
            let mut out = Vec::new();
            r.route(&MidiMsg::Clock, f64::from(i) * 0.6 / 24.0, &mut out);
            for o in out {
                match o {
                    Routed::Steer(Intent::Clock { beats, .. }) => readings.push(beats),
                    Routed::Steer(Intent::Param {
                        param: AudioParam::TempoBpm,
                        value,
                        ..
                    }) => tempos.push(value),
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(tempos.len(), 1, "a steady clock sets the tempo once");
        assert!((tempos[0] - 100.0).abs() < 1e-3);
        assert_eq!(readings.first(), Some(&1.0));
        assert_eq!(
            route(&mut r, MidiMsg::Stop),
            [Routed::Steer(Intent::ClockStopped)]
        );
    }

    #[test]
    fn learn_binds_the_next_control_moved_and_applies_it() {
        let mut r = router("");
        r.arm(LearnTarget::from_name("delay_mix"));
        route(&mut r, note_on(60, 100)); // a note does not teach a controller
        let out = route(&mut r, cc(21, 127));
        assert_eq!(
            out[0],
            Routed::Learned(Learned::Cc(CcBinding::learned(
                21,
                0,
                CcTarget::Audio(AudioParam::DelayMix)
            )))
        );
        assert_eq!(out[1], set(AudioParam::DelayMix, 1.0));
        assert!(r.armed().is_none(), "learn disarms itself");
        assert_eq!(route(&mut r, cc(21, 0)), [set(AudioParam::DelayMix, 0.0)]);
    }

    #[test]
    fn learn_binds_go_to_a_note_without_firing_it() {
        let mut r = router("");
        r.arm(LearnTarget::from_name("go"));
        let out = route(&mut r, note_on(48, 100));
        assert!(matches!(out.as_slice(), [Routed::Learned(_)]), "{out:?}");
        assert_eq!(
            route(&mut r, note_on(48, 100)),
            [Routed::Steer(Intent::Show(ShowCommand::Go))]
        );
        assert!(LearnTarget::from_name("../etc").is_none());
    }
}
