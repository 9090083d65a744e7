//! Chord symbols as musicians write them (`"Dm7"`, `"F#maj7"`, `"Bbsus4"`, `"Cadd9"`) turned
//! into MIDI notes, root in a chosen octave.

/// Intervals above the root, in semitones, of each quality, longest names first so that
/// `"maj7"` is not read as `"m"` + `"aj7"`.
const QUALITIES: [(&str, &[u8]); 17] = [
    ("maj9", &[0, 4, 7, 11, 14]),
    ("maj7", &[0, 4, 7, 11]),
    ("add9", &[0, 4, 7, 14]),
    ("sus2", &[0, 2, 7]),
    ("sus4", &[0, 5, 7]),
    ("dim7", &[0, 3, 6, 9]),
    ("m7b5", &[0, 3, 6, 10]),
    ("dim", &[0, 3, 6]),
    ("aug", &[0, 4, 8]),
    ("min", &[0, 3, 7]),
    ("m9", &[0, 3, 7, 10, 14]),
    ("m7", &[0, 3, 7, 10]),
    ("m6", &[0, 3, 7, 9]),
    ("9", &[0, 4, 7, 10, 14]),
    ("7", &[0, 4, 7, 10]),
    ("6", &[0, 4, 7, 9]),
    ("m", &[0, 3, 7]),
];

/// Why a chord in a file cannot be played.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChordError {
    /// Not a chord symbol: write it another way.
    #[error(
        "`{0}` is not a chord; write a root and a quality: C, Dm, F#maj7, Bb7, Esus4, Gm7b5, Aadd9"
    )]
    NotAChord(String),
    /// A chord, but some of its notes are beyond MIDI's range there: choose another octave.
    #[error("`{symbol}` in octave {octave} is outside MIDI's range")]
    OutOfRange { symbol: String, octave: i32 },
}

/// The notes of chord `symbol` with its root in `octave` (C4 = 60, so octave 3 starts at 48).
pub fn chord_notes(symbol: &str, octave: i32) -> Result<Vec<u8>, ChordError> {
    let bad = || ChordError::NotAChord(symbol.to_string());
    let s = symbol.trim();
    let mut chars = s.chars();
    let root = match chars.next() {
        Some('C') => 0,
        Some('D') => 2,
        Some('E') => 4,
        Some('F') => 5,
        Some('G') => 7,
        Some('A') => 9,
        Some('B') => 11,
        _ => return Err(bad()),
    };
    let mut rest = chars.as_str();
    let accidental = if let Some(r) = rest.strip_prefix('#') {
        rest = r;
        1
    } else if let Some(r) = rest.strip_prefix('b') {
        rest = r;
        -1
    } else {
        0
    };
    let intervals: &[u8] = if rest.is_empty() || rest == "maj" {
        &[0, 4, 7]
    } else {
        QUALITIES
            .iter()
            .find(|(name, _)| *name == rest)
            .map(|(_, i)| *i)
            .ok_or_else(bad)?
    };
    let base = (octave + 1) * 12 + root + accidental;
    intervals
        .iter()
        .map(|i| {
            u8::try_from(base + i32::from(*i))
                .ok()
                .filter(|n| *n <= 127)
                .ok_or_else(|| ChordError::OutOfRange {
                    symbol: symbol.to_string(),
                    octave,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chord_symbols_give_their_notes_above_the_root() {
        assert_eq!(chord_notes("C", 4).unwrap(), [60, 64, 67]);
        assert_eq!(chord_notes("Dm7", 3).unwrap(), [50, 53, 57, 60]);
        assert_eq!(chord_notes("F#maj7", 3).unwrap(), [54, 58, 61, 65]);
        assert_eq!(chord_notes("Bbsus4", 2).unwrap(), [46, 51, 53]);
        assert_eq!(chord_notes("Am", 3).unwrap(), [57, 60, 64]);
    }

    #[test]
    fn unknown_chords_and_out_of_range_octaves_are_errors() {
        for bad in ["", "H", "Cx", "dm", "C#b"] {
            assert!(chord_notes(bad, 3).is_err(), "{bad}");
        }
        assert!(chord_notes("G9", 9).is_err());
    }
}
