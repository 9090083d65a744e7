//! What MIDI bytes mean to the show: messages parsed from raw bytes (never trusted), and a
//! mapping file that binds controllers to parameters, transport and presets. Pure, so it is
//! tested without a device; the midir wrapper ([`super::midi`]) feeds it.
//!
//! ```toml
//! [[cc]]
//! cc = 74                  # controller number
//! channel = 1              # 1..16; absent: any channel
//! param = "cutoff_hz"      # an audio parameter, `unity`, `glitch`, `layer.NAME`,
//!                          # `dreamer.N.NAME` or `dreamer.N.opacity`
//! min = 200                # the value at CC 0 (default: the parameter's own range, or 0)
//! max = 8000               # the value at CC 127 (default: the parameter's own range, or 1)
//! curve = "exponential"    # linear (default), exponential, s-curve
//! invert = false
//! relative = false         # an endless encoder: 1..63 up, 65..127 down, in steps
//!
//! [go]                     # also [play], [pause], [stop], [next], [prev]
//! note = 60                # this note, or `cc = 20` (fires as it rises past 63)
//!
//! [[seek]]
//! note = 36
//! to = "1:30"              # or `cue = 3`
//!
//! [[program]]
//! program = 1              # 1..128, as controllers show them
//! preset = "aurora"
//! fade_s = 2
//! ```

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::bridge::ShowCommand;
use crate::bridge::{AudioParam, Curve};
use crate::show::Diagnostic;
use crate::show::diag::did_you_mean;
use crate::show::look::MAX_DREAMERS;
use crate::show::time::{Position, TimeSpec};

/// A MIDI Machine Control command (a universal real-time System Exclusive message), the
/// transport messages DAWs and control surfaces send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MmcCommand {
    Stop,
    Play,
    Pause,
    /// Back to the start.
    Rewind,
    /// Go to a time, seconds.
    Locate(f64),
}

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
    /// Song position pointer, in sixteenth notes from the start.
    SongPosition(u16),
    Mmc(MmcCommand),
}

/// Parses one message; anything malformed or of no interest is `None`. Runs in the device
/// callback, so it never allocates.
pub fn parse(bytes: &[u8]) -> Option<MidiMsg> {
    let (&status, data) = bytes.split_first()?;
    let channel = status & 0x0F;
    let d = |i: usize| data.get(i).copied().filter(|b| *b < 0x80);
    Some(match status {
        0xF8 => MidiMsg::Clock,
        0xFA => MidiMsg::Start,
        0xFB => MidiMsg::Continue,
        0xFC => MidiMsg::Stop,
        0xF2 => MidiMsg::SongPosition((u16::from(d(1)?) << 7) | u16::from(d(0)?)),
        0xF0 => MidiMsg::Mmc(parse_mmc(data)?),
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

/// `7F <device> 06 <command> ... F7` (the bytes after `F0`), to any device id.
fn parse_mmc(data: &[u8]) -> Option<MmcCommand> {
    let [0x7F, _device, 0x06, command, rest @ ..] = data else {
        return None;
    };
    Some(match command {
        0x01 => MmcCommand::Stop,
        0x02 | 0x03 => MmcCommand::Play,
        0x05 => MmcCommand::Rewind,
        0x09 => MmcCommand::Pause,
        // Locate to a time: 06 01 hr mn sc fr ff; the hour byte's bits 5-6 are the frame rate.
        0x44 => {
            let [0x06, 0x01, hr, mn, sc, fr, _subframes, ..] = rest else {
                return None;
            };
            if [*hr, *mn, *sc, *fr].iter().any(|b| *b >= 0x80) {
                return None;
            }
            let fps = [24.0, 25.0, 29.97, 30.0][usize::from((hr >> 5) & 0x03)];
            let seconds = f64::from(hr & 0x1F) * 3600.0
                + f64::from(*mn) * 60.0
                + f64::from(*sc)
                + f64::from(*fr) / fps;
            MmcCommand::Locate(seconds)
        }
        _ => return None,
    })
}

/// What a controller steers: an audio parameter, or one of the picture's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CcTarget {
    Audio(AudioParam),
    /// A parameter of the preset showing.
    Layer(String),
    /// Dreamer `dreamer` (0-based)'s layer parameter.
    Dreamer {
        dreamer: usize,
        name: String,
    },
    DreamerOpacity(usize),
    Unity,
    Glitch,
}

/// Most characters in a layer parameter name.
const MAX_NAME: usize = 64;

fn plain_param_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl CcTarget {
    /// `cutoff_hz`, `unity`, `glitch`, `layer.speed`, `dreamer.3.speed`, `dreamer.3.opacity`.
    pub fn from_name(name: &str) -> Option<Self> {
        if let Some(p) = AudioParam::from_name(name) {
            return Some(Self::Audio(p));
        }
        let parts: Vec<&str> = name.split('.').collect();
        Some(match parts.as_slice() {
            ["unity"] => Self::Unity,
            ["glitch"] => Self::Glitch,
            ["layer", p] if plain_param_name(p) => Self::Layer((*p).to_string()),
            ["dreamer", n, p] => {
                let dreamer = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_DREAMERS).contains(n))?
                    - 1;
                match *p {
                    "opacity" => Self::DreamerOpacity(dreamer),
                    p if plain_param_name(p) => Self::Dreamer {
                        dreamer,
                        name: p.to_string(),
                    },
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// The name `from_name` reads.
    pub fn name(&self) -> String {
        match self {
            Self::Audio(p) => p.name().to_string(),
            Self::Layer(p) => format!("layer.{p}"),
            Self::Dreamer { dreamer, name } => format!("dreamer.{}.{name}", dreamer + 1),
            Self::DreamerOpacity(d) => format!("dreamer.{}.opacity", d + 1),
            Self::Unity => "unity".into(),
            Self::Glitch => "glitch".into(),
        }
    }

    /// The range a controller sweeps unless the mapping says otherwise: an audio parameter's
    /// own, 0..1 for the rest.
    pub fn default_range(&self) -> (f32, f32) {
        match self {
            Self::Audio(p) => p.range(),
            _ => (0.0, 1.0),
        }
    }

    /// The legal range, if the target has one.
    fn limits(&self) -> Option<(f32, f32)> {
        match self {
            Self::Audio(p) => Some(p.range()),
            Self::Unity | Self::Glitch | Self::DreamerOpacity(_) => Some((0.0, 1.0)),
            Self::Layer(_) | Self::Dreamer { .. } => None,
        }
    }
}

/// One controller binding.
#[derive(Clone, Debug, PartialEq)]
pub struct CcBinding {
    pub cc: u8,
    /// 0..15; `None`: any.
    pub channel: Option<u8>,
    pub target: CcTarget,
    pub min: f32,
    pub max: f32,
    pub curve: Curve,
    pub invert: bool,
    pub relative: bool,
}

impl CcBinding {
    /// A binding over the target's whole default range, as MIDI learn makes it.
    pub fn learned(cc: u8, channel: u8, target: CcTarget) -> Self {
        let (min, max) = target.default_range();
        Self {
            cc,
            channel: Some(channel),
            target,
            min,
            max,
            curve: Curve::Linear,
            invert: false,
            relative: false,
        }
    }

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

    /// Where a relative encoder starts: the middle of its range.
    pub fn middle(&self) -> f32 {
        0.5 * (self.min + self.max)
    }

    fn matches(&self, channel: u8, cc: u8) -> bool {
        self.cc == cc && self.channel.is_none_or(|c| c == channel)
    }
}

/// The transport actions a note or controller can fire, by their table names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerKind {
    Go,
    Play,
    Pause,
    Stop,
    Next,
    Prev,
}

impl TriggerKind {
    pub const ALL: [TriggerKind; 6] = [
        TriggerKind::Go,
        TriggerKind::Play,
        TriggerKind::Pause,
        TriggerKind::Stop,
        TriggerKind::Next,
        TriggerKind::Prev,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::Go => "go",
            TriggerKind::Play => "play",
            TriggerKind::Pause => "pause",
            TriggerKind::Stop => "stop",
            TriggerKind::Next => "next",
            TriggerKind::Prev => "prev",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What it does to the show. `pause` toggles, like the P key.
    pub fn command(self) -> ShowCommand {
        match self {
            TriggerKind::Go => ShowCommand::Go,
            TriggerKind::Play => ShowCommand::Resume,
            TriggerKind::Pause => ShowCommand::TogglePause,
            TriggerKind::Stop => ShowCommand::Stop,
            TriggerKind::Next => ShowCommand::NextCue,
            TriggerKind::Prev => ShowCommand::PrevCue,
        }
    }
}

/// A note or a controller that fires something. A controller fires as its value rises past 63
/// (a button's press), so a fader swept through the middle fires once.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Trigger {
    pub note: Option<u8>,
    pub cc: Option<u8>,
    /// 0..15; `None`: any.
    pub channel: Option<u8>,
}

impl Trigger {
    /// Whether `msg` fires it; `rose` says whether a controller's value has just risen past 63.
    pub fn fires(&self, msg: &MidiMsg, rose: bool) -> bool {
        let on = |c: u8| self.channel.is_none_or(|ch| ch == c);
        match *msg {
            MidiMsg::NoteOn { channel, note, .. } => self.note == Some(note) && on(channel),
            MidiMsg::Control { channel, cc, .. } => rose && self.cc == Some(cc) && on(channel),
            _ => false,
        }
    }

    /// Whether `msg` is this trigger's note being let go (so it plays no note either).
    pub fn releases(&self, msg: &MidiMsg) -> bool {
        let on = |c: u8| self.channel.is_none_or(|ch| ch == c);
        matches!(*msg, MidiMsg::NoteOff { channel, note } if self.note == Some(note) && on(channel))
    }
}

/// Where a `[[seek]]` trigger goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeekTarget {
    Time(Position),
    /// 0-based.
    Cue(usize),
}

/// A program change that selects a preset.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramBinding {
    /// 0..127, as sent.
    pub program: u8,
    pub channel: Option<u8>,
    pub preset: String,
    pub fade_s: f64,
}

/// A mapping file, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MidiMap {
    pub cc: Vec<CcBinding>,
    pub triggers: Vec<(Trigger, TriggerKind)>,
    pub seeks: Vec<(Trigger, SeekTarget)>,
    pub programs: Vec<ProgramBinding>,
}

impl MidiMap {
    /// The binding for controller `cc` on `channel`, if any (the first that matches).
    pub fn binding(&self, channel: u8, cc: u8) -> Option<&CcBinding> {
        self.cc.iter().find(|b| b.matches(channel, cc))
    }

    /// Whether this message is GO (the router checks every trigger alike; this reads well in
    /// tests).
    #[cfg(test)]
    pub fn is_go(&self, msg: &MidiMsg) -> bool {
        self.triggers
            .iter()
            .any(|(t, k)| *k == TriggerKind::Go && t.fires(msg, true))
    }

    /// Adds a learned controller binding, replacing any for the same control or target.
    pub fn learn_cc(&mut self, binding: CcBinding) {
        self.cc.retain(|b| {
            !(b.cc == binding.cc && b.channel == binding.channel) && b.target != binding.target
        });
        self.cc.insert(0, binding);
    }

    /// Adds a learned trigger, replacing the old one for that action.
    pub fn learn_trigger(&mut self, trigger: Trigger, kind: TriggerKind) {
        self.triggers.retain(|(_, k)| *k != kind);
        self.triggers.push((trigger, kind));
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    cc: Vec<Spanned<CcFile>>,
    #[serde(default)]
    go: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    play: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    pause: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    stop: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    next: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    prev: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    seek: Vec<Spanned<SeekFile>>,
    #[serde(default)]
    program: Vec<Spanned<ProgramFile>>,
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
struct TriggerFile {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeekFile {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    #[serde(default)]
    to: Option<Spanned<TimeSpec>>,
    #[serde(default)]
    cue: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFile {
    program: Spanned<i64>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    preset: Spanned<String>,
    #[serde(default)]
    fade_s: Option<f64>,
}

/// Collects diagnostics at places in one file.
struct Checker<'a> {
    path: &'a Path,
    src: &'a str,
    diags: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, span: std::ops::Range<usize>, msg: String) {
        self.diags
            .push(Diagnostic::at(self.path, self.src, span, msg));
    }

    fn within(&mut self, v: &Spanned<i64>, lo: i64, hi: i64, what: &str) -> Option<i64> {
        let x = *v.get_ref();
        if (lo..=hi).contains(&x) {
            Some(x)
        } else {
            self.error(
                v.span(),
                format!("{what} must be within {lo}..={hi}, not {x}"),
            );
            None
        }
    }

    fn byte(&mut self, v: &Spanned<i64>, what: &str) -> Option<u8> {
        self.within(v, 0, 127, what).map(|x| x as u8)
    }

    /// `Some(None)` for no channel (any), `Some(Some(0..15))`, or `None` after an error.
    fn channel(&mut self, v: Option<&Spanned<i64>>) -> Option<Option<u8>> {
        match v {
            None => Some(None),
            Some(ch) => self.within(ch, 1, 16, "channel").map(|c| Some(c as u8 - 1)),
        }
    }

    fn trigger(
        &mut self,
        span: std::ops::Range<usize>,
        note: Option<&Spanned<i64>>,
        cc: Option<&Spanned<i64>>,
        channel: Option<&Spanned<i64>>,
    ) -> Option<Trigger> {
        let channel = self.channel(channel)?;
        let note = match note {
            Some(n) => Some(self.byte(n, "note")?),
            None => None,
        };
        let cc = match cc {
            Some(c) => Some(self.byte(c, "cc")?),
            None => None,
        };
        if note.is_none() && cc.is_none() {
            self.error(span, "needs a `note` or a `cc` to fire it".into());
            return None;
        }
        Some(Trigger { note, cc, channel })
    }
}

/// Parses a mapping file; every problem is reported, each at its place. `presets` are the
/// project's preset names, which `[[program]]` entries must be among.
pub fn parse_map(path: &Path, src: &str, presets: &[String]) -> Result<MidiMap, Vec<Diagnostic>> {
    let non_finite = crate::show::schema::non_finite_numbers(path, src);
    if !non_finite.is_empty() {
        return Err(non_finite);
    }
    let file: MapFile =
        toml::from_str(src).map_err(|e| vec![crate::show::diag::toml_error(path, src, &e)])?;
    let mut ck = Checker {
        path,
        src,
        diags: Vec::new(),
    };
    let mut map = MidiMap::default();
    for spanned in &file.cc {
        let c = spanned.get_ref();
        let cc = ck.byte(&c.cc, "cc");
        let channel = ck.channel(c.channel.as_ref());
        let target = match CcTarget::from_name(c.param.get_ref()) {
            Some(t) => Some(t),
            None => {
                let names = AudioParam::ALL
                    .iter()
                    .map(|p| p.name())
                    .chain(["unity", "glitch"]);
                let hint = did_you_mean(c.param.get_ref(), names)
                    .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                ck.error(
                    c.param.span(),
                    format!(
                        "`{}` is not a parameter{hint}; use an audio parameter, `unity`, `glitch`, `layer.NAME`, `dreamer.N.NAME` or `dreamer.N.opacity`",
                        c.param.get_ref()
                    ),
                );
                None
            }
        };
        let curve = match &c.curve {
            None => Some(Curve::Linear),
            Some(cv) => Curve::from_name(cv.get_ref()).or_else(|| {
                ck.error(
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
        let (Some(cc), Some(channel), Some(target), Some(curve)) = (cc, channel, target, curve)
        else {
            continue;
        };
        let (lo, hi) = target.default_range();
        let (mut min, mut max) = (
            c.min.map_or(lo, |v| v as f32),
            c.max.map_or(hi, |v| v as f32),
        );
        if !(min.is_finite() && max.is_finite()) {
            ck.error(spanned.span(), "min and max must be numbers".into());
            continue;
        }
        if let Some((lo, hi)) = target.limits() {
            (min, max) = (min.clamp(lo, hi), max.clamp(lo, hi));
        }
        map.cc.push(CcBinding {
            cc,
            channel,
            target,
            min,
            max,
            curve,
            invert: c.invert,
            relative: c.relative,
        });
    }
    let tables = [
        (&file.go, TriggerKind::Go),
        (&file.play, TriggerKind::Play),
        (&file.pause, TriggerKind::Pause),
        (&file.stop, TriggerKind::Stop),
        (&file.next, TriggerKind::Next),
        (&file.prev, TriggerKind::Prev),
    ];
    for (table, kind) in tables {
        let Some(t) = table else { continue };
        let f = t.get_ref();
        if let Some(trigger) =
            ck.trigger(t.span(), f.note.as_ref(), f.cc.as_ref(), f.channel.as_ref())
        {
            map.triggers.push((trigger, kind));
        }
    }
    for spanned in &file.seek {
        let s = spanned.get_ref();
        let trigger = ck.trigger(
            spanned.span(),
            s.note.as_ref(),
            s.cc.as_ref(),
            s.channel.as_ref(),
        );
        let target = match (&s.to, &s.cue) {
            (Some(to), None) => match to.get_ref().position() {
                Ok(p) => Some(SeekTarget::Time(p)),
                Err(e) => {
                    ck.error(to.span(), e);
                    None
                }
            },
            (None, Some(cue)) => ck
                .within(cue, 1, 100_000, "cue")
                .map(|n| SeekTarget::Cue(n as usize - 1)),
            _ => {
                ck.error(
                    spanned.span(),
                    "a seek needs `to` (a time) or `cue` (a number from 1), not both".into(),
                );
                None
            }
        };
        if let (Some(trigger), Some(target)) = (trigger, target) {
            map.seeks.push((trigger, target));
        }
    }
    for spanned in &file.program {
        let p = spanned.get_ref();
        let program = ck.within(&p.program, 1, 128, "program");
        let channel = ck.channel(p.channel.as_ref());
        let preset = p.preset.get_ref();
        let known = presets.iter().any(|n| n == preset);
        if !known {
            let hint = did_you_mean(preset, presets.iter().map(String::as_str))
                .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
            ck.error(
                p.preset.span(),
                format!("no preset `{preset}` in this project{hint}"),
            );
        }
        let fade_s = p.fade_s.unwrap_or(0.0);
        if !(0.0..=60.0).contains(&fade_s) {
            ck.error(
                spanned.span(),
                format!("fade_s must be within 0..=60, not {fade_s}"),
            );
            continue;
        }
        if let (Some(program), Some(channel), true) = (program, channel, known) {
            map.programs.push(ProgramBinding {
                program: program as u8 - 1,
                channel,
                preset: preset.clone(),
                fade_s,
            });
        }
    }
    if ck.diags.is_empty() {
        Ok(map)
    } else {
        Err(ck.diags)
    }
}

/// Reads and checks the mapping file at `path`.
pub fn load_map(path: &Path, presets: &[String]) -> Result<MidiMap, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::file(path, format!("cannot read MIDI map: {e}"))])?;
    parse_map(path, &src, presets)
}

/// What MIDI learn writes into a mapping file.
#[derive(Clone, Debug, PartialEq)]
pub enum Learned {
    Cc(CcBinding),
    Trigger(Trigger, TriggerKind),
}

impl std::fmt::Display for Learned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let channel = |c: Option<u8>| c.map_or(String::new(), |c| format!(" on channel {}", c + 1));
        match self {
            Learned::Cc(b) => write!(
                f,
                "CC {}{} steers `{}`",
                b.cc,
                channel(b.channel),
                b.target.name()
            ),
            Learned::Trigger(t, k) => match (t.note, t.cc) {
                (Some(n), _) => write!(f, "note {n}{} fires {}", channel(t.channel), k.name()),
                (None, Some(c)) => write!(f, "CC {c}{} fires {}", channel(t.channel), k.name()),
                (None, None) => write!(f, "nothing fires {}", k.name()),
            },
        }
    }
}

/// The text of the mapping file `src` (empty for a new one) with `learned` in it, replacing
/// whatever bound the same control or target. Comments and everything else are kept.
pub fn with_learned(src: &str, learned: &Learned) -> Result<String, String> {
    use toml_edit::{DocumentMut, Item, Table, value};
    let mut doc: DocumentMut = src
        .parse()
        .map_err(|e| format!("the MIDI map is not valid TOML: {e}"))?;
    let channel_of = |t: &Table| t.get("channel").and_then(Item::as_integer);
    match learned {
        Learned::Cc(b) => {
            let channel = b.channel.map(|c| i64::from(c) + 1);
            let target = b.target.name();
            let tables = doc
                .entry("cc")
                .or_insert(Item::ArrayOfTables(Default::default()))
                .as_array_of_tables_mut()
                .ok_or("`cc` in the MIDI map is not a list of [[cc]] tables")?;
            let same_control = |t: &Table| {
                t.get("cc").and_then(Item::as_integer) == Some(i64::from(b.cc))
                    && channel_of(t) == channel
            };
            // The control's own table is changed in place, so its comments stay with it; what
            // described the old target's range goes, what describes the control stays.
            let mut updated = false;
            if let Some(t) = tables.iter_mut().find(|t| same_control(t)) {
                t["param"] = value(target.clone());
                for key in ["min", "max", "curve"] {
                    t.remove(key);
                }
                updated = true;
            }
            // One control per target: the target's other bindings go.
            let mut kept_one = false;
            tables.retain(|t| {
                let is_it = same_control(t) && !kept_one;
                kept_one |= is_it;
                is_it || t.get("param").and_then(Item::as_str) != Some(target.as_str())
            });
            if !updated {
                let mut t = Table::new();
                t["cc"] = value(i64::from(b.cc));
                if let Some(c) = channel {
                    t["channel"] = value(c);
                }
                t["param"] = value(target);
                tables.push(t);
            }
        }
        Learned::Trigger(trigger, kind) => {
            let mut t = Table::new();
            if let Some(n) = trigger.note {
                t["note"] = value(i64::from(n));
            }
            if let Some(c) = trigger.cc {
                t["cc"] = value(i64::from(c));
            }
            if let Some(c) = trigger.channel {
                t["channel"] = value(i64::from(c) + 1);
            }
            doc[kind.name()] = Item::Table(t);
        }
    }
    Ok(doc.to_string())
}

/// Writes `learned` into the mapping file at `path` (made if missing), atomically: a crash
/// mid-write leaves the old file whole.
pub fn save_learned(path: &Path, learned: &Learned) -> Result<(), String> {
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# Somnia MIDI map: controllers, transport and presets (see the README, \"MIDI\").\n"
                .to_string()
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let text = with_learned(&src, learned).map_err(|e| format!("{}: {e}", path.display()))?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Tempo from MIDI clock: 24 ticks a quarter note. The tempo is the slope of a straight line
/// fitted through the last two beats of ticks, not the time between two of them: ticks arrive
/// with the jitter of the sender and of the MIDI system's periods (5 ms under JACK at 256
/// frames), which a line through many averages away.
#[derive(Clone, Debug, Default)]
pub struct ClockFollower {
    ticks: std::collections::VecDeque<f64>,
}

impl ClockFollower {
    /// Ticks the line is fitted through.
    const WINDOW: usize = 48;

    /// A clock tick at `time_s`; returns the tempo once a beat's worth of ticks is in.
    pub fn tick(&mut self, time_s: f64) -> Option<f64> {
        if self.ticks.back().is_some_and(|t| time_s - t > 1.0) {
            self.ticks.clear(); // the clock stopped: start again
        }
        self.ticks.push_back(time_s);
        if self.ticks.len() > Self::WINDOW {
            self.ticks.pop_front();
        }
        let n = self.ticks.len();
        if n < 25 {
            return None;
        }
        // Least squares: seconds per tick.
        let t0 = self.ticks[0];
        let mean_i = (n - 1) as f64 / 2.0;
        let mean_t = self.ticks.iter().map(|t| t - t0).sum::<f64>() / n as f64;
        let (mut num, mut den) = (0.0, 0.0);
        for (i, t) in self.ticks.iter().enumerate() {
            let di = i as f64 - mean_i;
            num += di * (t - t0 - mean_t);
            den += di * di;
        }
        let tick_s = num / den;
        (tick_s > 0.0).then(|| (60.0 / (24.0 * tick_s)).clamp(10.0, 400.0))
    }
}

/// Where an external MIDI clock is: its tempo and the beat its last tick marked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockReading {
    /// Beats since the clock's start (song position included), at the tick.
    pub beats: f64,
    pub bpm: f64,
}

/// Beat phase and tempo from MIDI clock, start, stop, continue and song position: the next
/// tick after a start is beat 0's; each 24 more are a beat.
#[derive(Clone, Debug)]
pub struct BeatClock {
    follower: ClockFollower,
    /// The tick count the next tick will mark.
    next_tick: u64,
    running: bool,
}

impl Default for BeatClock {
    /// Running: a clock joined mid-song (no start seen) still gives a beat.
    fn default() -> Self {
        Self {
            follower: ClockFollower::default(),
            next_tick: 0,
            running: true,
        }
    }
}

impl BeatClock {
    /// A tick at `time_s`: the reading once the tempo is known, if the clock runs.
    pub fn tick(&mut self, time_s: f64) -> Option<ClockReading> {
        let bpm = self.follower.tick(time_s);
        if !self.running {
            return None;
        }
        let beats = self.next_tick as f64 / 24.0;
        self.next_tick += 1;
        bpm.map(|bpm| ClockReading { beats, bpm })
    }

    pub fn start(&mut self) {
        self.next_tick = 0;
        self.running = true;
    }

    pub fn resume(&mut self) {
        self.running = true;
    }

    pub fn stop(&mut self) {
        self.running = false;
    }

    /// Song position pointer: six ticks a sixteenth.
    pub fn locate(&mut self, sixteenths: u16) {
        self.next_tick = u64::from(sixteenths) * 6;
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
        let map = parse_map(Path::new("m.toml"), src, &[]).unwrap();
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
    fn controllers_can_steer_the_picture_too() {
        let src = "[[cc]]\ncc = 1\nparam = \"layer.speed\"\nmin = 0\nmax = 4\n[[cc]]\ncc = 2\nparam = \"dreamer.3.opacity\"\n[[cc]]\ncc = 3\nparam = \"unity\"\nmax = 7\n";
        let map = parse_map(Path::new("m.toml"), src, &[]).unwrap();
        assert_eq!(
            map.binding(0, 1).unwrap().target,
            CcTarget::Layer("speed".into())
        );
        assert_eq!(map.binding(0, 1).unwrap().value(127, 0.0), 4.0);
        assert_eq!(
            map.binding(0, 2).unwrap().target,
            CcTarget::DreamerOpacity(2)
        );
        assert_eq!(
            map.binding(0, 3).unwrap().max,
            1.0,
            "unity is clamped to 0..1"
        );
        for name in [
            "layer.speed",
            "dreamer.12.hue",
            "dreamer.1.opacity",
            "glitch",
            "gain_db",
        ] {
            assert_eq!(CcTarget::from_name(name).unwrap().name(), name);
        }
        for bad in [
            "layer.",
            "layer.a/b",
            "dreamer.13.hue",
            "dreamer.0.hue",
            "layer.x.y",
            "../x",
        ] {
            assert_eq!(CcTarget::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn transport_seeks_and_programs_are_bound_by_tables() {
        let presets = ["aurora".to_string(), "warm".to_string()];
        let src = "[go]\nnote = 60\n[stop]\ncc = 21\nchannel = 16\n[pause]\nnote = 61\n[[seek]]\nnote = 36\nto = \"1:30\"\n[[seek]]\ncc = 22\ncue = 3\n[[program]]\nprogram = 1\npreset = \"warm\"\nfade_s = 2\n";
        let map = parse_map(Path::new("m.toml"), src, &presets).unwrap();
        let stop = map
            .triggers
            .iter()
            .find(|(_, k)| *k == TriggerKind::Stop)
            .unwrap()
            .0;
        let press = |channel, value| MidiMsg::Control {
            channel,
            cc: 21,
            value,
        };
        assert!(stop.fires(&press(15, 127), true));
        assert!(!stop.fires(&press(15, 127), false), "held: fires once");
        assert!(!stop.fires(&press(0, 127), true), "channel 16 only");
        assert_eq!(map.seeks[0].1, SeekTarget::Time(Position::Seconds(90.0)));
        assert_eq!(map.seeks[1].1, SeekTarget::Cue(2));
        assert_eq!(map.programs[0].program, 0);
        assert_eq!(map.programs[0].preset, "warm");
        assert_eq!(TriggerKind::Pause.command(), ShowCommand::TogglePause);
    }

    #[test]
    fn bad_transport_tables_are_each_reported() {
        let presets = ["warm".to_string()];
        let src = "[go]\nchannel = 1\n[[seek]]\nnote = 1\n[[seek]]\nnote = 2\nto = \"soon\"\n[[program]]\nprogram = 0\npreset = \"wram\"\n";
        let errs = parse_map(Path::new("m.toml"), src, &presets).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3, 7, 9, 10], "{errs:#?}");
        assert!(errs[0].message.contains("needs a `note` or a `cc`"));
        assert!(errs[4].message.contains("did you mean `warm`?"));
    }

    #[test]
    fn mmc_and_song_position_parse() {
        assert_eq!(
            parse(&[0xF0, 0x7F, 0x7F, 0x06, 0x02, 0xF7]),
            Some(MidiMsg::Mmc(MmcCommand::Play))
        );
        assert_eq!(
            parse(&[0xF0, 0x7F, 0x00, 0x06, 0x01, 0xF7]),
            Some(MidiMsg::Mmc(MmcCommand::Stop))
        );
        // Locate to 0:01:30 and 12 frames at 25 fps (rate bits 01).
        let locate = [
            0xF0, 0x7F, 0x7F, 0x06, 0x44, 0x06, 0x01, 0x20, 1, 30, 12, 0, 0xF7,
        ];
        assert_eq!(
            parse(&locate),
            Some(MidiMsg::Mmc(MmcCommand::Locate(90.48)))
        );
        assert_eq!(parse(&[0xF2, 0x10, 0x01]), Some(MidiMsg::SongPosition(144)));
        for junk in [
            &[0xF0, 0x7E, 0x7F, 0x06, 0x02, 0xF7][..],
            &[0xF0, 0x7F, 0x7F, 0x06, 0x44, 0x06],
            &[0xF0],
            &[0xF2, 0x80, 0],
        ] {
            assert_eq!(parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn learning_rewrites_the_file_and_keeps_its_comments() {
        let src = "# my controller\n[[cc]]\ncc = 7\nchannel = 1\nparam = \"gain_db\" # the fader\n[[cc]]\ncc = 74\nparam = \"cutoff_hz\"\n";
        let learned = Learned::Cc(CcBinding::learned(
            7,
            0,
            CcTarget::Audio(AudioParam::ReverbMix),
        ));
        let text = with_learned(src, &learned).unwrap();
        assert!(text.starts_with("# my controller"), "{text}");
        let map = parse_map(Path::new("m.toml"), &text, &[]).unwrap();
        assert_eq!(map.cc.len(), 2, "{text}");
        assert_eq!(
            map.binding(0, 7).unwrap().target,
            CcTarget::Audio(AudioParam::ReverbMix)
        );
        assert_eq!(
            map.binding(0, 74).unwrap().target,
            CcTarget::Audio(AudioParam::CutoffHz)
        );
        // Learning a target again moves it to the new control.
        let again = Learned::Cc(CcBinding::learned(
            9,
            2,
            CcTarget::Audio(AudioParam::CutoffHz),
        ));
        let map = parse_map(
            Path::new("m.toml"),
            &with_learned(&text, &again).unwrap(),
            &[],
        )
        .unwrap();
        assert!(map.binding(0, 74).is_none());
        assert_eq!(
            map.binding(2, 9).unwrap().target,
            CcTarget::Audio(AudioParam::CutoffHz)
        );
        let go = Learned::Trigger(
            Trigger {
                note: Some(48),
                cc: None,
                channel: Some(0),
            },
            TriggerKind::Go,
        );
        let map = parse_map(Path::new("m.toml"), &with_learned("", &go).unwrap(), &[]).unwrap();
        assert!(map.is_go(&MidiMsg::NoteOn {
            channel: 0,
            note: 48,
            velocity: 9
        }));
        assert!(
            with_learned("cc = 3", &learned).is_err(),
            "not a table list: refused, not clobbered"
        );
    }

    #[test]
    fn learned_bindings_are_saved_atomically_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("midi-map.toml");
        let learned = Learned::Cc(CcBinding::learned(20, 4, CcTarget::Unity));
        save_learned(&path, &learned).unwrap();
        let map = load_map(&path, &[]).unwrap();
        assert_eq!(map.binding(4, 20).unwrap().target, CcTarget::Unity);
        assert!(!dir.path().join("midi-map.toml.tmp").exists());
        // A write that cannot complete (the temporary file cannot be made) leaves the map as
        // it was, never half written.
        let before = std::fs::read_to_string(&path).unwrap();
        std::fs::create_dir(dir.path().join("midi-map.toml.tmp")).unwrap();
        let again = Learned::Cc(CcBinding::learned(21, 4, CcTarget::Unity));
        assert!(save_learned(&path, &again).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }

    #[test]
    fn the_beat_clock_counts_from_start_and_song_position() {
        let mut c = BeatClock::default();
        c.start();
        let tick_s = 0.5 / 24.0;
        let readings: Vec<_> = (0..49)
            .filter_map(|i| c.tick(f64::from(i) * tick_s))
            .collect();
        // The tempo is known from the 25th tick (a whole beat) on: beat 1.
        assert_eq!(readings[0].beats, 1.0);
        assert!((readings[0].bpm - 120.0).abs() < 1e-6);
        assert_eq!(readings.last().unwrap().beats, 2.0);
        c.locate(16); // bar 2 of 4/4
        assert_eq!(c.tick(49.0 * tick_s).unwrap().beats, 4.0);
        c.stop();
        assert_eq!(c.tick(50.0 * tick_s), None);
        c.resume();
        assert_eq!(c.tick(51.0 * tick_s).unwrap().beats, 4.0 + 1.0 / 24.0);
    }

    #[test]
    fn every_problem_in_a_mapping_file_is_reported() {
        let src = "[[cc]]\ncc = 300\nparam = \"cutof_hz\"\n[[cc]]\ncc = 1\nchannel = 17\nparam = \"gain_db\"\ncurve = \"log\"\n";
        let errs = parse_map(Path::new("m.toml"), src, &[]).unwrap_err();
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

    #[test]
    fn midi_clock_jitter_is_averaged_away() {
        let mut c = ClockFollower::default();
        let mut bpm = None;
        // 100 bpm, each tick up to 5 ms late (a JACK period), in a fixed pseudo-random pattern.
        for i in 0..48u32 {
            let late_s = f64::from((i * 7919) % 11) / 10.0 * 0.005;
            bpm = c.tick(f64::from(i) * 0.025 + late_s).or(bpm);
        }
        assert!((bpm.unwrap() - 100.0).abs() < 0.3, "{bpm:?}");
    }
}
