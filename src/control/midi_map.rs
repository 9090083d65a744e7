//! What MIDI bytes mean to the show: messages parsed from raw bytes (never trusted), and a
//! mapping file that binds controllers to parameters. Pure, so it is tested without a device;
//! the midir wrapper feeds it.
//!
//! ```toml
//! [[cc]]
//! cc = 74                  # controller number
//! channel = 1              # 1..16; absent: any channel
//! param = "cutoff_hz"      # an audio parameter
//! min = 200                # the value at CC 0 (default: the parameter's own range)
//! max = 8000               # the value at CC 127
//! curve = "exponential"    # linear (default), exponential, s-curve
//! invert = false
//! relative = false         # an endless encoder: 1..63 up, 65..127 down, in steps
//!
//! [go]
//! note = 60                # this note (or `cc = 20`, any value above 63) is GO
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::bridge::{AudioParam, Curve};
use crate::show::Diagnostic;
use crate::show::diag::did_you_mean;

/// A MIDI message the show acts on. Channels are 0..15.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MidiMsg {
    NoteOn {
        channel: u8,
        note: u8,
        velocity: u8,
    },
    NoteOff {
        channel: u8,
        note: u8,
    },
    Control {
        channel: u8,
        cc: u8,
        value: u8,
    },
    /// -8192..8191.
    PitchBend {
        channel: u8,
        bend: i16,
    },
    Program {
        channel: u8,
        program: u8,
    },
    /// MIDI clock: 24 a quarter note.
    Clock,
    Start,
    Continue,
    Stop,
}

/// Parses one message; anything malformed or of no interest is `None`.
pub fn parse(bytes: &[u8]) -> Option<MidiMsg> {
    let (&status, data) = bytes.split_first()?;
    let channel = status & 0x0F;
    let d = |i: usize| data.get(i).copied().filter(|b| *b < 0x80);
    Some(match status {
        0xF8 => MidiMsg::Clock,
        0xFA => MidiMsg::Start,
        0xFB => MidiMsg::Continue,
        0xFC => MidiMsg::Stop,
        0x80..=0x8F => MidiMsg::NoteOff {
            channel,
            note: d(0)?,
        },
        // A note-on with velocity 0 is a note-off, by MIDI's running-status convention.
        0x90..=0x9F => match (d(0)?, d(1)?) {
            (note, 0) => MidiMsg::NoteOff { channel, note },
            (note, velocity) => MidiMsg::NoteOn {
                channel,
                note,
                velocity,
            },
        },
        0xB0..=0xBF => MidiMsg::Control {
            channel,
            cc: d(0)?,
            value: d(1)?,
        },
        0xC0..=0xCF => MidiMsg::Program {
            channel,
            program: d(0)?,
        },
        0xE0..=0xEF => MidiMsg::PitchBend {
            channel,
            bend: ((i16::from(d(1)?) << 7) | i16::from(d(0)?)) - 8192,
        },
        _ => return None,
    })
}

/// One controller binding.
#[derive(Clone, Debug, PartialEq)]
pub struct CcBinding {
    pub cc: u8,
    /// 0..15; `None`: any.
    pub channel: Option<u8>,
    pub param: AudioParam,
    pub min: f32,
    pub max: f32,
    pub curve: Curve,
    pub invert: bool,
    pub relative: bool,
}

impl CcBinding {
    /// The parameter value for controller value `value` (absolute), or after moving from
    /// `current` (relative encoders: each tick is 1/128 of the range).
    pub fn value(&self, value: u8, current: f32) -> f32 {
        if self.relative {
            let ticks = match value {
                1..=63 => f32::from(value),
                65..=127 => -f32::from(128 - value),
                _ => 0.0,
            };
            let dir = if self.invert { -1.0 } else { 1.0 };
            let span = self.max - self.min;
            return (current + dir * ticks * span / 128.0)
                .clamp(self.min.min(self.max), self.max.max(self.min));
        }
        let mut x = f64::from(value.min(127)) / 127.0;
        if self.invert {
            x = 1.0 - x;
        }
        self.curve
            .between(f64::from(self.min), f64::from(self.max), x) as f32
    }

    fn matches(&self, channel: u8, cc: u8) -> bool {
        self.cc == cc && self.channel.is_none_or(|c| c == channel)
    }
}

/// What a MIDI note or controller fires GO.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GoBinding {
    pub note: Option<u8>,
    pub cc: Option<u8>,
}

/// A mapping file, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MidiMap {
    pub cc: Vec<CcBinding>,
    pub go: GoBinding,
}

impl MidiMap {
    /// The binding for controller `cc` on `channel`, if any (the first that matches).
    pub fn binding(&self, channel: u8, cc: u8) -> Option<&CcBinding> {
        self.cc.iter().find(|b| b.matches(channel, cc))
    }

    /// Whether this message is GO.
    pub fn is_go(&self, msg: &MidiMsg) -> bool {
        match *msg {
            MidiMsg::NoteOn { note, .. } => self.go.note == Some(note),
            MidiMsg::Control { cc, value, .. } => self.go.cc == Some(cc) && value > 63,
            _ => false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    cc: Vec<Spanned<CcFile>>,
    #[serde(default)]
    go: Option<GoFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CcFile {
    cc: Spanned<i64>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    param: Spanned<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    curve: Option<Spanned<String>>,
    #[serde(default)]
    invert: bool,
    #[serde(default)]
    relative: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GoFile {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
}

/// Parses a mapping file; every problem is reported, each at its place.
pub fn parse_map(path: &std::path::Path, src: &str) -> Result<MidiMap, Vec<Diagnostic>> {
    let file: MapFile =
        toml::from_str(src).map_err(|e| vec![crate::show::preset::toml_error(path, src, &e)])?;
    let mut diags = Vec::new();
    let mut at = |span: std::ops::Range<usize>, msg: String| {
        diags.push(Diagnostic::at(path, src, span, msg));
    };
    let byte = |v: &Spanned<i64>, hi: i64, what: &str, at: &mut dyn FnMut(_, String)| {
        let x = *v.get_ref();
        if (0..=hi).contains(&x) {
            Some(x as u8)
        } else {
            at(v.span(), format!("{what} must be within 0..={hi}, not {x}"));
            None
        }
    };
    let mut map = MidiMap::default();
    for spanned in &file.cc {
        let c = spanned.get_ref();
        let cc = byte(&c.cc, 127, "cc", &mut at);
        let channel = match &c.channel {
            None => Some(None),
            Some(ch) if (1..=16).contains(ch.get_ref()) => Some(Some(*ch.get_ref() as u8 - 1)),
            Some(ch) => {
                at(
                    ch.span(),
                    format!("channel must be within 1..=16, not {}", ch.get_ref()),
                );
                None
            }
        };
        let param = match AudioParam::from_name(c.param.get_ref()) {
            Some(p) => Some(p),
            None => {
                let names = AudioParam::ALL.iter().map(|p| p.name());
                let hint = did_you_mean(c.param.get_ref(), names)
                    .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                at(
                    c.param.span(),
                    format!("`{}` is not an audio parameter{hint}", c.param.get_ref()),
                );
                None
            }
        };
        let curve = match &c.curve {
            None => Some(Curve::Linear),
            Some(cv) => Curve::from_name(cv.get_ref()).or_else(|| {
                at(
                    cv.span(),
                    format!(
                        "unknown curve `{}`; one of: {}",
                        cv.get_ref(),
                        Curve::NAMES.join(", ")
                    ),
                );
                None
            }),
        };
        let (Some(cc), Some(channel), Some(param), Some(curve)) = (cc, channel, param, curve)
        else {
            continue;
        };
        let (lo, hi) = param.range();
        let (min, max) = (
            c.min.map_or(lo, |v| v as f32),
            c.max.map_or(hi, |v| v as f32),
        );
        if !(min.is_finite() && max.is_finite()) {
            at(spanned.span(), "min and max must be numbers".into());
            continue;
        }
        map.cc.push(CcBinding {
            cc,
            channel,
            param,
            min: min.clamp(lo, hi),
            max: max.clamp(lo, hi),
            curve,
            invert: c.invert,
            relative: c.relative,
        });
    }
    if let Some(g) = &file.go {
        map.go = GoBinding {
            note: g.note.as_ref().and_then(|n| byte(n, 127, "note", &mut at)),
            cc: g.cc.as_ref().and_then(|n| byte(n, 127, "cc", &mut at)),
        };
    }
    if diags.is_empty() {
        Ok(map)
    } else {
        Err(diags)
    }
}

/// Tempo from MIDI clock: 24 ticks a quarter note, averaged over the last beat.
#[derive(Clone, Debug, Default)]
pub struct ClockFollower {
    ticks: std::collections::VecDeque<f64>,
}

impl ClockFollower {
    /// A clock tick at `time_s`; returns the tempo once a beat's worth of ticks is in.
    pub fn tick(&mut self, time_s: f64) -> Option<f64> {
        if self.ticks.back().is_some_and(|t| time_s - t > 1.0) {
            self.ticks.clear(); // the clock stopped: start again
        }
        self.ticks.push_back(time_s);
        if self.ticks.len() > 25 {
            self.ticks.pop_front();
        }
        if self.ticks.len() < 25 {
            return None;
        }
        let beat_s = self.ticks.back()? - self.ticks.front()?;
        (beat_s > 0.0).then(|| (60.0 / beat_s).clamp(10.0, 400.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn midi_bytes_parse_to_messages_and_garbage_to_nothing() {
        assert_eq!(
            parse(&[0x91, 60, 100]),
            Some(MidiMsg::NoteOn {
                channel: 1,
                note: 60,
                velocity: 100
            })
        );
        assert_eq!(
            parse(&[0x90, 60, 0]),
            Some(MidiMsg::NoteOff {
                channel: 0,
                note: 60
            })
        );
        assert_eq!(
            parse(&[0xE0, 0, 0x40]),
            Some(MidiMsg::PitchBend {
                channel: 0,
                bend: 0
            })
        );
        assert_eq!(
            parse(&[0xE0, 0x7F, 0x7F]),
            Some(MidiMsg::PitchBend {
                channel: 0,
                bend: 8191
            })
        );
        assert_eq!(parse(&[0xF8]), Some(MidiMsg::Clock));
        for junk in [&[][..], &[0x90], &[0x90, 200, 1], &[0x42, 1, 2], &[0xB0, 7]] {
            assert_eq!(parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn a_mapping_file_binds_controllers_and_go() {
        let src = "[[cc]]\ncc = 74\nchannel = 2\nparam = \"cutoff_hz\"\nmin = 100\nmax = 1600\ncurve = \"exponential\"\n[[cc]]\ncc = 10\nparam = \"reverb_mix\"\ninvert = true\n[[cc]]\ncc = 16\nparam = \"delay_mix\"\nrelative = true\n[go]\nnote = 60\n";
        let map = parse_map(Path::new("m.toml"), src).unwrap();
        let cutoff = map.binding(1, 74).unwrap();
        assert!(map.binding(0, 74).is_none(), "channel 2 only");
        assert!((cutoff.value(127, 0.0) - 1600.0).abs() < 0.01);
        assert!((cutoff.value(64, 0.0) - 100.0 * 16f32.powf(64.0 / 127.0)).abs() < 0.5);
        assert_eq!(map.binding(5, 10).unwrap().value(127, 0.0), 0.0, "inverted");
        let enc = map.binding(0, 16).unwrap();
        assert!((enc.value(2, 0.5) - (0.5 + 2.0 / 128.0)).abs() < 1e-6);
        assert!((enc.value(126, 0.5) - (0.5 - 2.0 / 128.0)).abs() < 1e-6);
        assert!(map.is_go(&MidiMsg::NoteOn {
            channel: 3,
            note: 60,
            velocity: 1
        }));
    }

    #[test]
    fn every_problem_in_a_mapping_file_is_reported() {
        let src = "[[cc]]\ncc = 300\nparam = \"cutof_hz\"\n[[cc]]\ncc = 1\nchannel = 17\nparam = \"gain_db\"\ncurve = \"log\"\n";
        let errs = parse_map(Path::new("m.toml"), src).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 6, 8], "{errs:#?}");
        assert!(errs[1].message.contains("did you mean `cutoff_hz`?"));
    }

    #[test]
    fn midi_clock_gives_the_tempo() {
        let mut c = ClockFollower::default();
        let mut bpm = None;
        for i in 0..48 {
            bpm = c.tick(f64::from(i) * 0.5 / 24.0).or(bpm);
        }
        assert!((bpm.unwrap() - 120.0).abs() < 1e-6);
    }
}
