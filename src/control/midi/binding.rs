//! What a MIDI map binds, once checked: controllers to parameters ([`CcBinding`], with their
//! ranges and curves), notes and controllers to the transport ([`Trigger`]), seeks and program
//! changes to presets. Pure data, read by the router.

use crate::bridge::{AudioParam, Curve, ShowCommand};
use crate::show::look::MAX_DREAMERS;
use crate::show::time::Position;

use super::wire::MidiMsg;

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
    pub(super) fn limits(&self) -> Option<(f32, f32)> {
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
