//! Performance (cue) files: a title, a tempo, a length, an opening preset and a list of
//! timed cues. Parsing keeps every position so `somnia check` can point at the exact spot.
//!
//! ```toml
//! title = "First Light"
//! tempo_bpm = 96
//! duration = "0:32"
//! preset = "aurora"
//!
//! [[cue]]
//! at = "0:08"
//! preset = "canopy"
//! notes = ["C3", "G3", "E4"]
//! length_s = 4
//! set = { glow = 0.8 }
//! ramp = { param = "cutoff_hz", to = 4000, over_s = 6 }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::diag::Diagnostic;
use super::schema::{Nested, Shape};
use super::time::TimeSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceFile {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub tempo_bpm: Option<Spanned<f64>>,
    #[serde(default)]
    pub beats_per_bar: Option<Spanned<i64>>,
    /// Tempo changes, in order.
    #[serde(default, rename = "tempo")]
    pub tempo_changes: Vec<TempoChangeFile>,
    pub duration: Spanned<TimeSpec>,
    /// The preset showing when the performance starts.
    pub preset: Spanned<String>,
    /// The safety limiter's true-peak ceiling in dBFS (default -1).
    #[serde(default)]
    pub limiter_ceiling_db: Option<Spanned<f64>>,
    /// The generative composer, if the performance uses it.
    #[serde(default)]
    pub symphony: Option<Spanned<SymphonyFile>>,
    /// The dream mosaic's starting unity: 0 each dreamer in a tile, 1 merged (the default).
    #[serde(default)]
    pub unity: Option<Spanned<f64>>,
    /// The dream mosaic's layers, one per dreamer, drawn over the performance's preset.
    #[serde(default, rename = "dreamer")]
    pub dreamers: Vec<DreamerFile>,
    #[serde(default, rename = "cue")]
    pub cues: Vec<Spanned<CueFile>>,
    /// Stretches of the show that play more than once.
    #[serde(default, rename = "loop")]
    pub loops: Vec<Spanned<LoopFile>>,
}

/// The `[symphony]` table: the neuro-symphony composer's seed, span and starting macros.
/// The macro fields repeat [`MacrosFile`]'s because serde cannot `flatten` a struct into one
/// that denies unknown fields, and a misspelt field must be an error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymphonyFile {
    #[serde(default)]
    pub seed: Option<Spanned<i64>>,
    /// When the composer starts (default 0) and stops (default: the end).
    #[serde(default)]
    pub start: Option<Spanned<TimeSpec>>,
    #[serde(default)]
    pub stop: Option<Spanned<TimeSpec>>,
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    pub tension: Option<Spanned<f64>>,
    #[serde(default)]
    pub density: Option<Spanned<f64>>,
    #[serde(default)]
    pub unity: Option<Spanned<f64>>,
}

impl SymphonyFile {
    /// The macro fields, as a cue's change would give them.
    pub fn macros(&self) -> MacrosFile {
        MacrosFile {
            key: self.key.clone(),
            mode: self.mode.clone(),
            tension: self.tension.clone(),
            density: self.density.clone(),
            unity: self.unity.clone(),
        }
    }
}

/// Composer macros; in a cue, only those given change.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacrosFile {
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    pub tension: Option<Spanned<f64>>,
    #[serde(default)]
    pub density: Option<Spanned<f64>>,
    #[serde(default)]
    pub unity: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueFile {
    /// When it fires on the show clock. A manual cue (`go = true`) waits for GO instead and
    /// uses `at` only as its planned time in renders; a cue that the previous one continues
    /// into, or a later member of a group, has none.
    #[serde(default)]
    pub at: Option<Spanned<TimeSpec>>,
    #[serde(default)]
    pub label: Option<String>,
    /// Waits for GO (space or Enter, OSC `/somnia/go`, a mapped MIDI note or CC).
    #[serde(default)]
    pub go: Option<Spanned<bool>>,
    /// Seconds between the cue firing and its actions.
    #[serde(default)]
    pub pre_wait_s: Option<Spanned<f64>>,
    /// What starts the next cue: `auto-continue` (`post_wait_s` after this one starts) or
    /// `auto-follow` (when this one's actions finish). Absent: the next cue has its own trigger.
    #[serde(default, rename = "continue")]
    pub continue_: Option<Spanned<String>>,
    #[serde(default)]
    pub post_wait_s: Option<Spanned<f64>>,
    /// Consecutive cues with the same group fire together, with the first.
    #[serde(default)]
    pub group: Option<String>,
    /// Change to this preset: a cut, or a crossfade over `fade_s`.
    #[serde(default)]
    pub preset: Option<Spanned<String>>,
    /// Crossfade time for `preset`, seconds (0 or absent: a cut).
    #[serde(default)]
    pub fade_s: Option<Spanned<f64>>,
    /// How the crossfade looks: an ISF transition in `shaders/` (`NAME.fs`, with
    /// `startImage`, `endImage` and `progress`), or a plain mix when absent.
    #[serde(default)]
    pub fade_style: Option<Spanned<String>>,
    /// Notes to play, as MIDI numbers (60) or names ("C4", "F#3", "Bb2").
    #[serde(default)]
    pub notes: Option<Vec<Spanned<NoteSpec>>>,
    /// 0..1, default 0.8.
    #[serde(default)]
    pub velocity: Option<Spanned<f64>>,
    /// How long the notes hold before release, default 1 s.
    #[serde(default)]
    pub length_s: Option<Spanned<f64>>,
    /// Jump parameters to values: a layer's or an audio parameter by name, `unity`,
    /// `post.<setting>`, `dreamer<n>.opacity` or `dreamer<n>.<layer parameter>`.
    #[serde(default)]
    pub set: Option<BTreeMap<String, Spanned<toml::Value>>>,
    /// Move one parameter to a value over time.
    #[serde(default)]
    pub ramp: Option<Spanned<RampFile>>,
    /// Move several parameters, each its own way.
    #[serde(default)]
    pub ramps: Vec<Spanned<RampFile>>,
    /// Change the composer's macros from the next bar.
    #[serde(default)]
    pub symphony: Option<MacrosFile>,
    /// A chord symbol (`"Dm7"`), played like `notes`, root in `octave`.
    #[serde(default)]
    pub chord: Option<Spanned<String>>,
    /// The chord root's octave (C4 = 60), default 3.
    #[serde(default)]
    pub octave: Option<Spanned<i64>>,
    /// Notes one after another on the beat grid.
    #[serde(default)]
    pub phrase: Option<Spanned<PhraseFile>>,
    /// The glitch, 0 (off) to 1, on picture and sound together.
    #[serde(default)]
    pub glitch: Option<Spanned<f64>>,
    /// Narrative text on the picture.
    #[serde(default)]
    pub caption: Option<Spanned<CaptionFile>>,
    /// Dreamers (numbered from 1) whose layers fade out over `fade_s` (default 2 s).
    #[serde(default)]
    pub withdraw: Option<Vec<Spanned<i64>>>,
    /// Withdrawn dreamers whose layers fade back in over `fade_s` (default 2 s).
    #[serde(default, rename = "return")]
    pub return_: Option<Vec<Spanned<i64>>>,
    /// Shows (true) or hides (false) the audience page's join code on the picture: a QR code
    /// of its address, with the address in words. Live only: offline renders leave it out.
    #[serde(default)]
    pub join_code: Option<bool>,
}

/// A phrase: `notes` (names, numbers, or "-" for a rest) `step_beats` apart.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhraseFile {
    pub notes: Vec<Spanned<NoteSpec>>,
    /// Beats from one note to the next, default 0.5.
    #[serde(default)]
    pub step_beats: Option<f64>,
    /// How long each note holds, in beats; default 90% of a step.
    #[serde(default)]
    pub length_beats: Option<f64>,
}

/// A caption: text that fades in, holds and fades out.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionFile {
    pub text: String,
    /// top, center or bottom (default).
    #[serde(default)]
    pub position: Option<Spanned<String>>,
    /// Fade in and out, seconds (default 1).
    #[serde(default)]
    pub fade_s: Option<f64>,
    /// Fully shown between the fades, seconds (default 5).
    #[serde(default)]
    pub hold_s: Option<f64>,
    /// Relative size, default 1 (about a twentieth of the picture's height).
    #[serde(default)]
    pub size: Option<f64>,
}

/// A `[[loop]]` table: `from` up to `to` plays `times` times in all.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopFile {
    pub from: Spanned<TimeSpec>,
    pub to: Spanned<TimeSpec>,
    pub times: Spanned<i64>,
}

/// A `[[tempo]]` table: from `at` on, the tempo is `bpm`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempoChangeFile {
    pub at: Spanned<TimeSpec>,
    pub bpm: Spanned<f64>,
}

/// A `[[dreamer]]` table: one layer of the dream mosaic.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DreamerFile {
    pub preset: Spanned<String>,
    /// crossfade (default), add, screen or multiply.
    #[serde(default)]
    pub blend: Option<Spanned<String>>,
    /// 0..1, default 1.
    #[serde(default)]
    pub opacity: Option<Spanned<f64>>,
    /// False: the dreamer starts withdrawn and joins with a `return` cue.
    #[serde(default)]
    pub present: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RampFile {
    pub param: Spanned<String>,
    pub to: f64,
    pub over_s: f64,
    /// linear (default), exponential or s-curve.
    #[serde(default)]
    pub curve: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum NoteSpec {
    Number(i64),
    Name(String),
}

/// Why a note in a file is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Not a MIDI number or a note name: write it another way.
    #[error("`{0}` is not a note; write a MIDI number (60) or a name like C4, F#3, Bb2")]
    NotANote(String),
    /// A real note, but lower or higher than MIDI goes: move it by octaves.
    #[error("`{0}` is outside MIDI's range C-1..G9")]
    OutOfRange(String),
    #[error("note {0} is outside MIDI's 0..=127")]
    NumberOutOfRange(i64),
}

impl NoteSpec {
    /// The MIDI note number, or what is wrong with it.
    pub fn to_midi(&self) -> Result<u8, NoteError> {
        match self {
            NoteSpec::Number(n) if (0..=127).contains(n) => Ok(*n as u8),
            NoteSpec::Number(n) => Err(NoteError::NumberOutOfRange(*n)),
            NoteSpec::Name(s) => parse_note_name(s),
        }
    }
}

/// Parses scientific pitch notation: `C4` = 60, `A4` = 69, `F#3`, `Bb2`, `C-1` = 0.
pub fn parse_note_name(s: &str) -> Result<u8, NoteError> {
    let bad = || NoteError::NotANote(s.to_string());
    let mut chars = s.trim().chars().peekable();
    let base = match chars.next().map(|c| c.to_ascii_uppercase()) {
        Some('C') => 0,
        Some('D') => 2,
        Some('E') => 4,
        Some('F') => 5,
        Some('G') => 7,
        Some('A') => 9,
        Some('B') => 11,
        _ => return Err(bad()),
    };
    let accidental = match chars.peek() {
        Some('#') => {
            chars.next();
            1
        }
        Some('b') => {
            chars.next();
            -1
        }
        _ => 0,
    };
    let octave: i32 = chars.collect::<String>().parse().map_err(|_| bad())?;
    let midi = (octave + 1) * 12 + base + accidental;
    u8::try_from(midi)
        .ok()
        .filter(|m| *m <= 127)
        .ok_or_else(|| NoteError::OutOfRange(s.to_string()))
}

/// The performance file's shape.
pub fn performance_shape() -> Shape {
    let ramp = || Shape::of::<RampFile>(vec![]);
    Shape::of::<PerformanceFile>(vec![
        ("symphony", Nested::Table(Shape::of::<SymphonyFile>(vec![]))),
        ("dreamer", Nested::Tables(Shape::of::<DreamerFile>(vec![]))),
        (
            "tempo",
            Nested::Tables(Shape::of::<TempoChangeFile>(vec![])),
        ),
        ("loop", Nested::Tables(Shape::of::<LoopFile>(vec![]))),
        (
            "cue",
            Nested::Tables(Shape::of::<CueFile>(vec![
                ("set", Nested::Open),
                ("ramp", Nested::Table(ramp())),
                ("ramps", Nested::Tables(ramp())),
                ("phrase", Nested::Table(Shape::of::<PhraseFile>(vec![]))),
                ("caption", Nested::Table(Shape::of::<CaptionFile>(vec![]))),
                ("symphony", Nested::Table(Shape::of::<MacrosFile>(vec![]))),
            ])),
        ),
    ])
}

/// Parses the text of a performance file: the file, and its unknown keys (every one, each at
/// its place), which the caller reports together with whatever else it finds. Err when the
/// file cannot be read as a performance at all.
pub fn parse_performance(
    path: &Path,
    src: &str,
) -> Result<(PerformanceFile, Vec<Diagnostic>), Vec<Diagnostic>> {
    // serde alone would stop at the first unknown key; these are all of them, and with them
    // taken out the rest of the file is read too.
    super::schema::read_screened(path, src, &performance_shape())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_follow_scientific_pitch() {
        assert_eq!(parse_note_name("C4").unwrap(), 60);
        assert_eq!(parse_note_name("A4").unwrap(), 69);
        assert_eq!(parse_note_name("F#3").unwrap(), 54);
        assert_eq!(parse_note_name("Bb2").unwrap(), 46);
        assert_eq!(parse_note_name("C-1").unwrap(), 0);
        assert!(parse_note_name("H2").is_err());
        assert!(parse_note_name("C").is_err());
        assert!(parse_note_name("G10").is_err());
    }

    #[test]
    fn a_misspelt_cue_field_points_at_its_line() {
        let src = "duration = 10\npreset = \"a\"\n[[cue]]\nat = 1\nnotse = [60]\n";
        let (_, errs) = parse_performance(Path::new("p.toml"), src).unwrap();
        assert_eq!((errs[0].line, errs[0].col), (5, 1), "{}", errs[0]);
        assert_eq!(errs[0].hint.as_deref(), Some("did you mean `notes`?"));
    }

    #[test]
    fn times_may_be_numbers_or_clock_text() {
        let src =
            "duration = \"1:00\"\npreset = \"a\"\n[[cue]]\nat = 2.5\n[[cue]]\nat = \"0:30\"\n";
        let (f, unknown) = parse_performance(Path::new("p.toml"), src).unwrap();
        assert!(unknown.is_empty());
        assert_eq!(
            f.duration.get_ref().seconds(&Default::default()).unwrap(),
            60.0
        );
        assert_eq!(
            f.cues[1]
                .get_ref()
                .at
                .as_ref()
                .unwrap()
                .get_ref()
                .seconds(&Default::default())
                .unwrap(),
            30.0
        );
    }
}
