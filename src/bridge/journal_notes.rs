//! What the other threads tell the show's journal: each live input as it arrived and from
//! whom (an OSC sender, a MIDI port, the console, the keyboard), the files the show used, and
//! what happened to it (a device lost, the GPU rebuilt). Each note is stamped with the engine's
//! output frame as it is sent. A bounded channel: a full one drops the note and counts it,
//! never blocks a controller. With the journal off nothing is formatted or sent.

use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use super::journal_tap::JournalCounters;

/// One note for the journal.
#[derive(Clone, Debug, PartialEq)]
pub enum Note {
    /// A file the show uses, as it is now (`path` relative to the project's folder).
    File { path: String, bytes: Vec<u8> },
    /// A live input, from whom.
    Input { from: String, what: String },
    /// Something that happened to the show.
    Said(String),
    /// A change to the picture as the render thread applied it, at the show time of the frame
    /// it first showed on.
    Look {
        show_s: f64,
        look: super::LookCommand,
    },
    /// What the live show's timeline was compiled with when it was handed to the picture (the
    /// GOs so far and the controllers' changes), in the journal's own encoding: the show side
    /// writes and reads it.
    Plan(Vec<u8>),
    /// The audience's crowd as the render thread gave it to the shaders (each change; figures
    /// only, nothing of who).
    Crowd(super::Crowd),
    /// Where the audience joins, as the join code on the picture holds it; `always`: shown
    /// over everything (a kiosk's `join_code = true`), else when a cue shows it.
    Join { url: String, always: bool },
}

/// A note and the engine's output frame when it was sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped {
    pub frame: u64,
    pub note: Note,
}

#[derive(Debug)]
struct Line {
    tx: SyncSender<Stamped>,
    counters: Arc<JournalCounters>,
    dropped: AtomicU64,
    /// The project's folder: files are journaled by their path inside it.
    root: std::path::PathBuf,
    /// Each file's (modified, length) as last sent: an unchanged file is not read again (a
    /// live show recompiles on every GO). Only the control and render threads take it.
    sent:
        Mutex<std::collections::HashMap<std::path::PathBuf, (Option<std::time::SystemTime>, u64)>>,
}

/// Every thread's way to the journal; cheap to clone. [`JournalNotes::off`] when there is none.
#[derive(Clone, Debug, Default)]
pub struct JournalNotes {
    line: Option<Arc<Line>>,
}

/// The journal writer's end.
pub type NoteReceiver = Receiver<Stamped>;

/// A channel of `capacity` notes, stamped from `counters` (the engine's tap's), for a show of
/// the project at `root`.
pub fn journal_notes(
    counters: Arc<JournalCounters>,
    capacity: usize,
    root: std::path::PathBuf,
) -> (JournalNotes, NoteReceiver) {
    let (tx, rx) = sync_channel(capacity.max(1));
    (
        JournalNotes {
            line: Some(Arc::new(Line {
                tx,
                counters,
                dropped: AtomicU64::new(0),
                root,
                sent: Mutex::default(),
            })),
        },
        rx,
    )
}

impl JournalNotes {
    /// No journal: every note is left unsaid.
    pub fn off() -> Self {
        Self::default()
    }

    pub fn is_on(&self) -> bool {
        self.line.is_some()
    }

    /// Sends `note`, or drops and counts it when the channel is full or the journal has gone.
    pub fn send(&self, note: Note) {
        let Some(line) = &self.line else { return };
        let frame = line.counters.frames.load(Ordering::Acquire);
        match line.tx.try_send(Stamped { frame, note }) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                line.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A live input `what` from `from` (formatted only when the journal is on).
    pub fn input(&self, from: impl Display, what: impl Display) {
        if self.is_on() {
            self.send(Note::Input {
                from: from.to_string(),
                what: what.to_string(),
            });
        }
    }

    /// The file at `path` as it is now (read here: only when a show loads or a file is saved),
    /// by its path inside the project where it lies there.
    pub fn file(&self, path: &std::path::Path) {
        let Some(line) = &self.line else { return };
        let stamp = std::fs::metadata(path)
            .ok()
            .map(|m| (m.modified().ok(), m.len()));
        if let (Some(stamp), Ok(mut sent)) = (stamp, line.sent.lock()) {
            if sent.get(path) == Some(&stamp) {
                return;
            }
            sent.insert(path.to_path_buf(), stamp);
        }
        let Ok(bytes) = std::fs::read(path) else {
            return;
        };
        let shown = path.strip_prefix(&line.root).unwrap_or(path);
        self.send(Note::File {
            path: shown.to_string_lossy().into_owned(),
            bytes,
        });
    }

    /// Something that happened to the show.
    pub fn said(&self, what: impl Display) {
        if self.is_on() {
            self.send(Note::Said(what.to_string()));
        }
    }

    /// Notes dropped for a full channel so far.
    pub fn dropped(&self) -> u64 {
        self.line
            .as_ref()
            .map_or(0, |l| l.dropped.load(Ordering::Relaxed))
    }
}

/// A [`JournalNotes`] to be given out later (the process's threads start before its journal
/// is known): the latest set wins.
#[derive(Debug, Default)]
pub struct JournalNotesCell(Mutex<JournalNotes>);

impl JournalNotesCell {
    pub fn set(&self, notes: JournalNotes) {
        if let Ok(mut n) = self.0.lock() {
            *n = notes;
        }
    }

    pub fn get(&self) -> JournalNotes {
        self.0.lock().map(|n| n.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_stamped_with_the_engines_frame_and_a_full_channel_drops_and_counts() {
        let counters = Arc::new(JournalCounters::default());
        let (notes, rx) = journal_notes(counters.clone(), 1, "/show".into());
        counters.frames.store(4800, Ordering::Release);
        notes.input("OSC 127.0.0.1:9000", "/somnia/note 60");
        notes.said("the sound card came back");
        assert_eq!(
            rx.try_recv().unwrap(),
            Stamped {
                frame: 4800,
                note: Note::Input {
                    from: "OSC 127.0.0.1:9000".into(),
                    what: "/somnia/note 60".into()
                }
            }
        );
        assert_eq!(notes.dropped(), 1);
        assert!(!JournalNotes::off().is_on());
    }
}
