//! A show's journal on disk: a magic line, then records, each framed as its length (u32,
//! little-endian), a CRC-32 of its bytes, and the bytes (postcard: compact, versioned by the
//! magic line). Append-only: a record is written whole after every record before it, so a file
//! cut off anywhere (a crash, a power loss, a full disk) reads up to its last whole record and
//! the torn tail is left aside, said, never an error.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bridge::journal_tap::Entry;
use crate::bridge::{MasterSettings, Patch};

/// The file's first bytes: what it is and which version of the records follows.
pub const MAGIC: &[u8; 16] = b"somnia journal 1";

/// The largest record read back (a file snapshot: a shader or a performance is kilobytes).
pub const MAX_RECORD_BYTES: u32 = 64 << 20;

/// How the show began: what its engine needs to run again, and what it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// `somnia --version` of the show: a re-render is exact on the same engine.
    pub somnia: String,
    /// `play` or `kiosk`.
    pub command: String,
    /// The performance's (or the kiosk's) title.
    pub title: String,
    /// When the show began, RFC 3339 in UTC.
    pub started_utc: String,
    pub sample_rate_hz: u32,
    /// The engine's first patch and its master bus (limiter on or off, ceiling).
    pub patch: Patch,
    pub master: MasterSettings,
    /// The frames of the limiter's lookahead at the start of the output (left out of WAVs).
    pub latency_frames: u32,
    pub flash_guard: bool,
    /// The window's size when the show began.
    pub width: u32,
    pub height: u32,
    /// The performance played, relative to the project's folder (`None`: a preset's preview,
    /// or a kiosk's playlist).
    pub performance: Option<String>,
}

/// What a timeline handed to the picture was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Plan {
    /// A performance played live, compiled with the GOs and live changes (presets, macros)
    /// so far.
    Live(crate::show::cues::LiveInput),
    /// A kiosk's look placed on the show clock at `origin_s`, crossfading over `fade_s` from
    /// the look before it (placed at its own origin) if there was one.
    Kiosk {
        look: KioskLook,
        origin_s: f64,
        before: Option<(KioskLook, f64)>,
        fade_s: f64,
    },
    /// A preset's preview (`play --preset NAME`), `seconds` long: said once as the show begins;
    /// each timeline after it is the preview compiled again from the files as they stood.
    /// (Added last: a journal's older records keep their numbers.)
    Preset { name: String, seconds: f64 },
}

impl Default for Start {
    /// A show of this Somnia at 48 kHz with the engine's defaults, its lookahead none, no
    /// window: what a caller fills in.
    fn default() -> Self {
        Self {
            somnia: env!("CARGO_PKG_VERSION").into(),
            command: String::new(),
            title: String::new(),
            started_utc: String::new(),
            sample_rate_hz: crate::SAMPLE_RATE_HZ,
            patch: Patch::default(),
            master: MasterSettings::default(),
            latency_frames: 0,
            flash_guard: true,
            width: 0,
            height: 0,
            performance: None,
        }
    }
}

/// One of a kiosk's looks, by name (`show::kiosk::Look`, as the journal keeps it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KioskLook {
    Performance {
        name: String,
        hold_s: Option<f64>,
    },
    Preset {
        name: String,
        hold_s: f64,
    },
    /// A preset shown still and silent (the closed look).
    Still(String),
    /// A built-in look (`black`, `rest`).
    BuiltIn(String),
}

/// One record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// Always first.
    Start(Start),
    /// A file the show used, by content: written when first used and again whenever it
    /// changes (a saved edit), so the show can be rebuilt as it was even after the files move
    /// on. `path` is relative to the project's folder.
    File {
        frame: u64,
        path: String,
        bytes: Vec<u8>,
    },
    /// Something the engine applied, on its output frame.
    Engine(Entry),
    /// A live input as it arrived, with where it came from (for reading the show back:
    /// `somnia journal`); the engine's own entries are what a re-render follows.
    Input {
        frame: u64,
        from: String,
        what: String,
    },
    /// Something that happened to the show (a device lost and back, the GPU rebuilt, a file
    /// that did not load).
    Said { frame: u64, what: String },
    /// A change to the picture as the render thread applied it, at the show time of the
    /// frame it first showed on.
    Look {
        frame: u64,
        show_s: f64,
        look: crate::bridge::LookCommand,
    },
    /// The show handed the picture a timeline made by `plan` from the files as they stood.
    Plan { frame: u64, plan: Plan },
    /// How far the show had got (written every second): a journal cut off after it renders up
    /// to here. `dropped` counts the engine's entries lost for a full ring so far.
    Clock { frame: u64, dropped: u64 },
    /// The show ended here.
    End { frame: u64, dropped: u64 },
    /// The audience's crowd figures the shaders had from here on. (This and `Join` were added
    /// last: older journals read as before.)
    Crowd {
        frame: u64,
        crowd: crate::bridge::Crowd,
    },
    /// Where the audience joins, for the join code on the picture.
    Join {
        frame: u64,
        url: String,
        always: bool,
    },
}

/// Writes one record, framed.
pub fn write_record(out: &mut impl Write, record: &Record) -> io::Result<usize> {
    let bytes = postcard::to_stdvec(record).map_err(io::Error::other)?;
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    let mut head = [0u8; 8];
    head[..4].copy_from_slice(&len.to_le_bytes());
    head[4..].copy_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
    out.write_all(&head)?;
    out.write_all(&bytes)?;
    Ok(8 + bytes.len())
}

/// A journal read back.
#[derive(Debug, Default)]
pub struct Journal {
    pub records: Vec<Record>,
    /// Bytes at the end that did not make a whole record (a show cut off), if any.
    pub torn_bytes: u64,
}

/// Why a journal cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("{path}: cannot read it: {why}")]
    Io { path: String, why: io::Error },
    #[error("{path}: not a Somnia journal (it should begin `somnia journal 1`)")]
    NotAJournal { path: String },
    #[error("{path}: the journal has no start record (cut off before the show began)")]
    NoStart { path: String },
    #[error("{path}: the journal is damaged: {why}")]
    Damaged { path: String, why: String },
}

/// The sample rates a journal may name (a sound card's, at most).
const SAMPLE_RATES_HZ: std::ops::RangeInclusive<u32> = 8_000..=384_000;
/// The most output frames a journal may cover: years of a kiosk at 48 kHz.
pub const MAX_FRAMES: u64 = 1 << 42;

impl Journal {
    /// Reads the journal at `path`, up to its last whole record.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|why| ReadError::Io {
            path: shown.clone(),
            why,
        })?;
        let journal = Self::parse(&bytes).ok_or(ReadError::NotAJournal {
            path: shown.clone(),
        })?;
        let Some(start) = journal.start() else {
            return Err(ReadError::NoStart { path: shown });
        };
        let damaged = |why: String| ReadError::Damaged {
            path: shown.clone(),
            why,
        };
        if !SAMPLE_RATES_HZ.contains(&start.sample_rate_hz) {
            return Err(damaged(format!(
                "it says the show ran at {} Hz",
                start.sample_rate_hz
            )));
        }
        if journal.frames() > MAX_FRAMES {
            return Err(damaged(format!(
                "it says the show ran for {} frames",
                journal.frames()
            )));
        }
        Ok(journal)
    }

    /// The records of `bytes` up to the last whole one; `None` if it is not a journal.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let mut records = Vec::new();
        let mut at = 0usize;
        while let Some(head) = rest.get(at..at + 8) {
            let len = u32::from_le_bytes(head[..4].try_into().ok()?);
            let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
            if len > MAX_RECORD_BYTES {
                break;
            }
            let Some(body) = rest.get(at + 8..at + 8 + len as usize) else {
                break;
            };
            if crc32fast::hash(body) != crc {
                break;
            }
            let Ok(record) = postcard::from_bytes::<Record>(body) else {
                break;
            };
            records.push(record);
            at += 8 + len as usize;
        }
        Some(Self {
            records,
            torn_bytes: (rest.len() - at) as u64,
        })
    }

    pub fn start(&self) -> Option<&Start> {
        match self.records.first() {
            Some(Record::Start(s)) => Some(s),
            _ => None,
        }
    }

    /// Every engine entry, in order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.records.iter().filter_map(|r| match r {
            Record::Engine(e) => Some(e),
            _ => None,
        })
    }

    /// How far the show got: its end, else the last clock or entry heard.
    pub fn frames(&self) -> u64 {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::End { frame, .. } | Record::Clock { frame, .. } => Some(*frame),
                Record::Engine(e) => Some(e.frame),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether the show ended cleanly (else it was cut off: a crash, a kill, a power loss).
    pub fn ended(&self) -> bool {
        self.records.iter().any(|r| matches!(r, Record::End { .. }))
    }

    /// Engine entries lost for a full ring (the re-render may differ after the first).
    pub fn dropped(&self) -> u64 {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::End { dropped, .. } | Record::Clock { dropped, .. } => Some(*dropped),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::EventKind;
    use crate::bridge::journal_tap::Applied;

    fn start() -> Start {
        Start {
            command: "play".into(),
            title: "t".into(),
            latency_frames: 67,
            ..Start::default()
        }
    }

    #[test]
    fn a_crowd_change_takes_23_bytes_an_hour_in_so_a_crowd_changing_every_frame_costs_under_5_mb_an_hour()
     {
        let mut out = Vec::new();
        let n = write_record(
            &mut out,
            &Record::Crowd {
                frame: 48_000 * 3600,
                crowd: crate::bridge::Crowd {
                    energy: 0.61,
                    agreement: 0.33,
                    size: 200,
                },
            },
        )
        .unwrap();
        assert_eq!(n, 23);
        assert!((n * 60 * 3600) as f64 / 1e6 < 5.0);
    }

    fn journal_bytes() -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        write_record(&mut out, &Record::Start(start())).unwrap();
        write_record(
            &mut out,
            &Record::Engine(Entry {
                frame: 480,
                what: Applied::Event(EventKind::NoteOn {
                    note: 60,
                    velocity: 0.8,
                }),
            }),
        )
        .unwrap();
        write_record(
            &mut out,
            &Record::Clock {
                frame: 48_000,
                dropped: 0,
            },
        )
        .unwrap();
        out
    }

    #[test]
    fn a_journal_reads_back_record_for_record() {
        let j = Journal::parse(&journal_bytes()).unwrap();
        assert_eq!(j.records.len(), 3);
        assert_eq!(j.start(), Some(&start()));
        assert_eq!(j.entries().count(), 1);
        assert_eq!(j.frames(), 48_000);
        assert_eq!(j.torn_bytes, 0);
        assert!(!j.ended());
    }

    #[test]
    fn a_journal_cut_anywhere_keeps_every_whole_record_before_the_cut() {
        let bytes = journal_bytes();
        let whole = Journal::parse(&bytes).unwrap().records;
        // Every cut: the records read are exactly the whole ones before it.
        let mut ends = vec![MAGIC.len()];
        let mut at = MAGIC.len();
        while at < bytes.len() {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            at += 8 + len;
            ends.push(at);
        }
        for cut in MAGIC.len()..=bytes.len() {
            let j = Journal::parse(&bytes[..cut]).unwrap();
            let whole_before = ends.iter().filter(|&&e| e <= cut).count() - 1;
            assert_eq!(j.records, whole[..whole_before], "cut at {cut}");
            assert_eq!(j.torn_bytes as usize, cut - ends[whole_before]);
        }
    }

    #[test]
    fn a_flipped_bit_ends_the_journal_at_the_record_before_it() {
        let mut bytes = journal_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let j = Journal::parse(&bytes).unwrap();
        assert_eq!(j.records.len(), 2);
        assert!(j.torn_bytes > 0);
    }

    #[test]
    fn a_journal_naming_an_impossible_rate_or_length_is_refused_as_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.somnia-journal");
        for (rate, frame) in [(0, 10), (10_000_000, 10), (48_000, u64::MAX - 1)] {
            let mut out = MAGIC.to_vec();
            let start = Start {
                sample_rate_hz: rate,
                ..start()
            };
            write_record(&mut out, &Record::Start(start)).unwrap();
            write_record(&mut out, &Record::Clock { frame, dropped: 0 }).unwrap();
            std::fs::write(&path, out).unwrap();
            let e = Journal::read(&path).unwrap_err();
            assert!(matches!(e, ReadError::Damaged { .. }), "{e}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_refused() {
        assert!(Journal::parse(b"RIFF....WAVEfmt ").is_none());
    }
}
