//! Cue positions: seconds as a number (`90`, `12.5`) or clock text (`"1:30.5"`, `"1:02:03"`).
//! Musical positions (bar and beat) arrive with tempo maps.

use serde::Deserialize;

/// A position as written in a file, before interpretation.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TimeSpec {
    Seconds(f64),
    Text(String),
}

impl TimeSpec {
    /// The position in seconds, or a message saying what is wrong.
    pub fn to_seconds(&self) -> Result<f64, String> {
        match self {
            TimeSpec::Seconds(s) if s.is_finite() && *s >= 0.0 => Ok(*s),
            TimeSpec::Seconds(s) => Err(format!("time {s} must be zero or more seconds")),
            TimeSpec::Text(t) => parse_clock(t),
        }
    }
}

/// Parses `"SS.s"`, `"M:SS.s"` or `"H:MM:SS.s"`.
pub fn parse_clock(text: &str) -> Result<f64, String> {
    let bad =
        || format!("`{text}` is not a time; write seconds (`90`) or minutes:seconds (`1:30.5`)");
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
            return Err(format!(
                "`{text}`: minutes and seconds after a colon must be below 60"
            ));
        }
        total = total * 60.0 + v;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(err.contains('`'), "{bad}: {err}");
        }
    }

    #[test]
    fn negative_seconds_are_rejected() {
        assert!(TimeSpec::Seconds(-1.0).to_seconds().is_err());
        assert!(TimeSpec::Seconds(f64::INFINITY).to_seconds().is_err());
    }
}
