//! Cue positions: seconds as a number (`90`, `12.5`), clock text (`"1:30.5"`, `"1:02:03"`), or
//! musical time, bar and beat counted from 1 (`"12|1"`, `"12|3.5"`), which the performance's
//! tempo map turns into seconds (tempo changes included).

use serde::Deserialize;

use crate::clock::Tempo;

/// A position as written in a file, before interpretation.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TimeSpec {
    Seconds(f64),
    Text(String),
}

/// A position, parsed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Position {
    Seconds(f64),
    /// Bar and beat, both from 1; the beat may be fractional.
    Musical {
        bar: u32,
        beat: f64,
    },
}

/// Why a time in a file is not one. Each says how to write it instead.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Neither seconds nor clock text nor bar|beat.
    #[error(
        "`{0}` is not a time; write seconds (`90`), minutes:seconds (`1:30.5`) or bar|beat (`12|1`)"
    )]
    NotATime(String),
    /// Clock text with a field after a colon of 60 or more.
    #[error("`{0}`: minutes and seconds after a colon must be below 60")]
    SixtyOrMore(String),
    /// `bar|beat` that does not read as two numbers from 1.
    #[error("`{0}` is not a musical position; write bar|beat, both from 1: `12|1`, `12|3.5`")]
    NotAPosition(String),
    #[error("time {0} must be zero or more seconds")]
    Negative(f64),
    /// A beat past the end of its bar on the tempo map.
    #[error("`{bar}|{beat}`: a bar has {per_bar} beats here; beats run from 1 to below {}", per_bar + 1)]
    BeatPastBar { bar: u32, beat: f64, per_bar: u32 },
}

impl Position {
    /// Seconds, through `tempo` for a musical position.
    pub fn seconds(&self, tempo: &Tempo) -> Result<f64, TimeError> {
        match *self {
            Position::Seconds(s) => Ok(s),
            Position::Musical { bar, beat } => {
                let per_bar = tempo.beats_per_bar.max(1);
                if beat >= f64::from(per_bar) + 1.0 {
                    return Err(TimeError::BeatPastBar { bar, beat, per_bar });
                }
                Ok(tempo.time_at_bar_beat(f64::from(bar), beat))
            }
        }
    }
}

impl TimeSpec {
    pub fn position(&self) -> Result<Position, TimeError> {
        match self {
            TimeSpec::Seconds(s) if s.is_finite() && *s >= 0.0 => Ok(Position::Seconds(*s)),
            TimeSpec::Seconds(s) => Err(TimeError::Negative(*s)),
            TimeSpec::Text(t) => parse_position(t),
        }
    }

    /// The position in seconds on `tempo`, or a message saying what is wrong.
    pub fn seconds(&self, tempo: &Tempo) -> Result<f64, TimeError> {
        self.position()?.seconds(tempo)
    }
}

/// Parses clock text or `BAR|BEAT`.
pub fn parse_position(text: &str) -> Result<Position, TimeError> {
    match text.split_once('|') {
        Some((bar, beat)) => parse_musical(text, bar, beat),
        None => parse_clock(text).map(Position::Seconds),
    }
}

fn parse_musical(text: &str, bar: &str, beat: &str) -> Result<Position, TimeError> {
    let bad = || TimeError::NotAPosition(text.to_string());
    let bar: u32 = bar.trim().parse().map_err(|_| bad())?;
    let beat: f64 = beat.trim().parse().map_err(|_| bad())?;
    if bar == 0 || !beat.is_finite() || beat < 1.0 || bar > 100_000 {
        return Err(bad());
    }
    Ok(Position::Musical { bar, beat })
}

/// Parses `"SS.s"`, `"M:SS.s"` or `"H:MM:SS.s"`.
pub fn parse_clock(text: &str) -> Result<f64, TimeError> {
    let bad = || TimeError::NotATime(text.to_string());
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut total = 0.0;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let v: f64 = if last {
            part.parse().map_err(|_| bad())?
        } else {
            part.parse::<u32>().map_err(|_| bad())? as f64
        };
        if !v.is_finite() || v < 0.0 {
            return Err(bad());
        }
        if i > 0 && v >= 60.0 {
            return Err(TimeError::SixtyOrMore(text.to_string()));
        }
        total = total * 60.0 + v;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn clock_text_parses_to_seconds() {
        assert_eq!(parse_clock("90").unwrap(), 90.0);
        assert_eq!(parse_clock("1:30.5").unwrap(), 90.5);
        assert_eq!(parse_clock("1:02:03").unwrap(), 3723.0);
    }

    #[test]
    fn malformed_clock_text_is_rejected_with_a_hint() {
        for bad in ["", "1:", ":30", "1:75", "a:b", "1:2:3:4", "-4", "1.5:00"] {
            let err = parse_clock(bad).unwrap_err();
            assert!(err.to_string().contains('`'), "{bad}: {err}");
        }
    }

    #[test]
    fn negative_seconds_are_rejected() {
        assert!(TimeSpec::Seconds(-1.0).position().is_err());
        assert!(TimeSpec::Seconds(f64::INFINITY).position().is_err());
    }

    #[test]
    fn bar_and_beat_count_from_one_on_the_tempo_map() {
        let tempo = Tempo::constant(120.0, 4);
        let at = |t: &str| TimeSpec::Text(t.into()).seconds(&tempo).unwrap();
        assert_eq!(at("1|1"), 0.0);
        assert_eq!(at("2|1"), 2.0);
        assert_eq!(at("2|3.5"), 3.25);
        for bad in ["0|1", "1|0", "1|", "|2", "x|1", "1|5", "1|1|1", "2|-1"] {
            let err = TimeSpec::Text(bad.into()).seconds(&tempo).unwrap_err();
            assert!(err.to_string().contains('`'), "{bad}: {err}");
        }
    }

    proptest! {
        #[test]
        fn any_clock_time_written_as_text_reads_back(h in 0u32..3, m in 0u32..60, ms in 0u32..60_000) {
            let s = f64::from(ms) / 1000.0;
            let text = if h > 0 { format!("{h}:{m:02}:{s:06.3}") } else { format!("{m}:{s:06.3}") };
            let want = f64::from(h * 3600 + m * 60) + s;
            prop_assert!((parse_clock(&text).unwrap() - want).abs() < 1e-9, "{}", text);
        }

        #[test]
        fn musical_positions_land_in_order_on_any_tempo_map(
            bpm in 30.0f64..300.0,
            change_bar in 2u32..20,
            new_bpm in 30.0f64..300.0,
            bar in 1u32..40,
            beat in 1.0f64..4.999,
        ) {
            let mut tempo = Tempo::constant(bpm, 4);
            tempo.change_at_beat(f64::from(change_bar - 1) * 4.0, new_bpm);
            let t = Position::Musical { bar, beat }.seconds(&tempo).unwrap();
            let later = Position::Musical { bar: bar + 1, beat }.seconds(&tempo).unwrap();
            prop_assert!(later > t);
            let beats = f64::from(bar - 1) * 4.0 + beat - 1.0;
            prop_assert!((tempo.beats_at(t) - beats).abs() < 1e-6);
        }

        #[test]
        fn no_text_makes_the_parser_panic(text in ".{0,24}") {
            let _ = parse_position(&text);
        }

        #[test]
        fn text_near_the_syntax_never_panics(text in "[0-9|:. -]{0,12}") {
            if let Ok(p) = parse_position(&text) {
                let _ = p.seconds(&Tempo::default());
            }
        }
    }
}
