//! How a performer's intent reads in the show's journal (`somnia journal`): short words a
//! stage manager can scan, not Rust's debug form.

use std::fmt;

use super::intent::Intent;
use crate::bridge::ShowCommand;

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tagged = |at: &Option<std::time::SystemTime>| {
            if at.is_some() { " (time-tagged)" } else { "" }
        };
        match self {
            Intent::Engine { kind, at } => write!(f, "{kind}{}", tagged(at)),
            Intent::Note {
                note,
                velocity,
                length_s,
                at,
            } => write!(
                f,
                "note {note} at {velocity:.2} for {length_s:.3} s{}",
                tagged(at)
            ),
            Intent::Param {
                param,
                value,
                ramp_s,
                at,
            } if *ramp_s > 0.0 => write!(
                f,
                "{} to {value} over {ramp_s:.3} s{}",
                param.name(),
                tagged(at)
            ),
            Intent::Param {
                param, value, at, ..
            } => write!(f, "{} to {value}{}", param.name(), tagged(at)),
            Intent::Show(c) => write!(f, "{}", ShowWords(c)),
            Intent::Look(l) => write!(f, "picture: {l:?}"),
            Intent::Glitch(x) => write!(f, "glitch at {x:.2}"),
            Intent::Learn(Some(t)) => write!(f, "MIDI learn for `{}`", t.name()),
            Intent::Learn(None) => write!(f, "MIDI learn off"),
            Intent::Clock { beats, bpm } => write!(f, "clock at beat {beats:.2}, {bpm:.1} bpm"),
            Intent::ClockStopped => write!(f, "clock stopped"),
            Intent::Timecode {
                frames, running, ..
            } => write!(
                f,
                "timecode at frame {frames:.0}{}",
                if *running { "" } else { " (stopped)" }
            ),
        }
    }
}

struct ShowWords<'a>(&'a ShowCommand);

impl fmt::Display for ShowWords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ShowCommand::Go => write!(f, "GO"),
            ShowCommand::Pause => write!(f, "pause"),
            ShowCommand::Resume => write!(f, "resume"),
            ShowCommand::TogglePause => write!(f, "pause or resume"),
            ShowCommand::Stop => write!(f, "stop"),
            ShowCommand::Seek(s) => write!(f, "seek to {s:.3} s"),
            ShowCommand::SeekCue(n) => write!(f, "jump to cue {}", n + 1),
            ShowCommand::NextCue => write!(f, "next cue"),
            ShowCommand::PrevCue => write!(f, "previous cue"),
            ShowCommand::Reload => write!(f, "reload the show's files"),
            ShowCommand::Preset { name, fade_s } => {
                write!(f, "preset `{name}` over {fade_s:.2} s")
            }
            ShowCommand::Symphony(m) => write!(f, "composer {m:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::AudioParam;

    #[test]
    fn intents_read_as_short_words() {
        let note = Intent::Note {
            note: 60,
            velocity: 0.8,
            length_s: 0.3,
            at: None,
        };
        assert_eq!(note.to_string(), "note 60 at 0.80 for 0.300 s");
        let ramp = Intent::Param {
            param: AudioParam::CutoffHz,
            value: 800.0,
            ramp_s: 2.0,
            at: Some(std::time::SystemTime::now()),
        };
        assert_eq!(
            ramp.to_string(),
            "cutoff_hz to 800 over 2.000 s (time-tagged)"
        );
        assert_eq!(Intent::Show(ShowCommand::Go).to_string(), "GO");
        assert_eq!(
            Intent::Show(ShowCommand::Seek(12.5)).to_string(),
            "seek to 12.500 s"
        );
    }
}
