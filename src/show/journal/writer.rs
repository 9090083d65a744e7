//! The `somnia-journal` thread: empties the engine's journal ring and the other threads' notes
//! into the journal file every 100 ms, and every second says how far the show has got, flushes
//! and syncs the file, so a crash or a power loss loses at most the last second. Never the
//! audio thread's business: it only pushes into its ring.
//!
//! A write that fails (a full disk, a pulled USB stick) stops the journal with one warning;
//! the show goes on. So does a journal past its size cap (`max_bytes`): it ends there, said,
//! rather than fill the disk.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::record::{MAGIC, Record, Start, write_record};
use crate::bridge::JournalDrain;
use crate::bridge::journal_notes::{Note, NoteReceiver, Stamped};

/// How often the rings are emptied into the file.
const DRAIN_EVERY: Duration = Duration::from_millis(100);
/// How often the file is flushed and synced, and the show's progress written.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// What a finished journal says of itself.
#[derive(Debug, Clone)]
pub struct JournalSummary {
    pub path: PathBuf,
    pub bytes: u64,
    /// The engine's output frames it covers.
    pub frames: u64,
    /// Engine entries lost for a full ring (the re-render may differ after the first).
    pub dropped_entries: u64,
    /// Why it stopped before the show did, if it did.
    pub stopped: Option<String>,
}

/// Asked once a second what has happened to the show since (a device lost, the GPU rebuilt):
/// each line goes into the journal as said.
pub type Watch = Box<dyn FnMut() -> Vec<String> + Send>;

/// The running writer; [`JournalWriter::finish`] ends the journal once the sound has stopped.
pub struct JournalWriter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<JournalSummary>>,
}

struct State {
    out: Option<BufWriter<std::fs::File>>,
    path: PathBuf,
    bytes: u64,
    max_bytes: u64,
    stopped: Option<String>,
    /// Past its cap: the output frame of the first record left out. Nothing more is written
    /// but the end, which says the journal covers the show up to there.
    capped_at: Option<u64>,
    /// The last version of each file written, by a hash of its bytes.
    files: HashMap<String, u64>,
}

/// The output frame a record is stamped with, if any.
fn frame_of(record: &Record) -> Option<u64> {
    match record {
        Record::Engine(e) => Some(e.frame),
        Record::File { frame, .. }
        | Record::Input { frame, .. }
        | Record::Said { frame, .. }
        | Record::Look { frame, .. }
        | Record::Plan { frame, .. }
        | Record::Clock { frame, .. }
        | Record::End { frame, .. }
        | Record::Crowd { frame, .. }
        | Record::Join { frame, .. } => Some(*frame),
        Record::Start(_) => None,
    }
}

impl State {
    fn write(&mut self, record: &Record) {
        let end = matches!(record, Record::End { .. });
        if self.capped_at.is_some() && !end {
            return;
        }
        if self.bytes >= self.max_bytes && !end {
            let why = format!(
                "it reached its cap of {} MB (--journals-keep-mb)",
                self.max_bytes >> 20
            );
            tracing::warn!(
                "somnia: the journal {} stopped: {why}; the show goes on without it",
                self.path.display()
            );
            self.capped_at = Some(frame_of(record).unwrap_or(0));
            self.stopped = Some(why);
            return;
        }
        let Some(out) = self.out.as_mut() else { return };
        match write_record(out, record) {
            Ok(n) => self.bytes += n as u64,
            Err(e) => self.stop(e.to_string()),
        }
    }

    fn stop(&mut self, why: String) {
        tracing::warn!(
            "somnia: the journal {} stopped: {why}; the show goes on without it",
            self.path.display()
        );
        self.out = None;
        self.stopped = Some(why);
    }

    fn sync(&mut self) {
        let Some(out) = self.out.as_mut() else { return };
        let synced = out.flush().and_then(|()| out.get_ref().sync_data());
        if let Err(e) = synced {
            self.stop(e.to_string());
        }
    }

    fn note(&mut self, Stamped { frame, note }: Stamped) {
        let record = match note {
            Note::File { path, bytes } => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut h);
                let hash = h.finish();
                if self.files.get(&path) == Some(&hash) {
                    return;
                }
                self.files.insert(path.clone(), hash);
                Record::File { frame, path, bytes }
            }
            Note::Input { from, what } => Record::Input { frame, from, what },
            Note::Said(what) => Record::Said { frame, what },
            Note::Look { show_s, look } => Record::Look {
                frame,
                show_s,
                look,
            },
            Note::Plan(bytes) => match postcard::from_bytes(&bytes) {
                Ok(plan) => Record::Plan { frame, plan },
                Err(_) => return,
            },
            Note::Crowd(crowd) => Record::Crowd { frame, crowd },
            Note::Join { url, always } => Record::Join { frame, url, always },
        };
        self.write(&record);
    }
}

impl JournalWriter {
    /// Makes the journal at `path` (refusing to overwrite one), writes its start, and starts
    /// the thread that keeps it.
    pub fn start(
        path: &Path,
        start: &Start,
        mut drain: JournalDrain,
        notes: NoteReceiver,
        max_bytes: u64,
        mut watch: Option<Watch>,
    ) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        let mut out = BufWriter::new(file);
        out.write_all(MAGIC)?;
        let mut bytes = MAGIC.len() as u64;
        bytes += write_record(&mut out, &Record::Start(start.clone()))? as u64;
        out.flush()?;
        let mut state = State {
            out: Some(out),
            path: path.to_path_buf(),
            bytes,
            max_bytes,
            stopped: None,
            capped_at: None,
            files: HashMap::new(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("somnia-journal".into())
            .spawn(move || {
                let mut synced = Instant::now();
                loop {
                    let last = stopping.load(Ordering::Acquire);
                    // The frames output so far, read before the ring: every entry before them
                    // is in it by now, so a clock written after the ring covers no entry
                    // still to come.
                    let frame = drain.frames();
                    drain.drain(|e| state.write(&Record::Engine(e)));
                    while let Ok(n) = notes.try_recv() {
                        state.note(n);
                    }
                    let dropped = drain.counters.dropped.load(Ordering::Relaxed);
                    let due = synced.elapsed() >= SYNC_EVERY;
                    if last || due {
                        for what in watch.as_mut().map(|w| w()).unwrap_or_default() {
                            state.write(&Record::Said { frame, what });
                        }
                    }
                    if last {
                        let frame = state.capped_at.map_or(frame, |c| c.min(frame));
                        state.write(&Record::End { frame, dropped });
                        state.sync();
                        return JournalSummary {
                            path: state.path.clone(),
                            bytes: state.bytes,
                            frames: frame,
                            dropped_entries: dropped,
                            stopped: state.stopped.take(),
                        };
                    }
                    if due {
                        state.write(&Record::Clock { frame, dropped });
                        state.sync();
                        synced = Instant::now();
                    }
                    std::thread::park_timeout(DRAIN_EVERY);
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Ends the journal (call once the sound has stopped, so it holds every frame): what was
    /// left in the rings, then the end record.
    pub fn finish(mut self) -> Option<JournalSummary> {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread.take()?;
        thread.thread().unpark();
        thread.join().ok()
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(true, Ordering::Release);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::journal_notes::journal_notes;
    use crate::bridge::journal_tap::{Applied, Entry};
    use crate::bridge::{EventKind, journal_channel};
    use crate::show::journal::record::Journal;

    fn start() -> Start {
        Start {
            command: "play".into(),
            title: "t".into(),
            latency_frames: 67,
            ..Start::default()
        }
    }

    #[test]
    fn the_writer_keeps_entries_notes_and_each_files_versions_once_and_ends_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j/show.somnia-journal");
        let (mut tap, drain) = journal_channel(16);
        let (notes, rx) = journal_notes(drain.counters.clone(), 16, "/".into());
        let w = JournalWriter::start(&path, &start(), drain, rx, 1 << 20, None).unwrap();
        tap.push(Entry {
            frame: 10,
            what: Applied::Event(EventKind::AllNotesOff),
        });
        tap.frames_done(960);
        for bytes in [b"a = 1".to_vec(), b"a = 1".to_vec(), b"a = 2".to_vec()] {
            notes.send(Note::File {
                path: "presets/x.toml".into(),
                bytes,
            });
        }
        notes.input("keyboard", "GO");
        let summary = w.finish().unwrap();
        assert_eq!(summary.frames, 960);
        assert!(summary.stopped.is_none());
        let j = Journal::read(&path).unwrap();
        assert!(j.ended());
        assert_eq!(j.frames(), 960);
        assert_eq!(j.entries().count(), 1);
        let files = j
            .records
            .iter()
            .filter(|r| matches!(r, Record::File { .. }))
            .count();
        assert_eq!(files, 2, "{:?}", j.records);
        assert!(j.records.iter().any(|r| matches!(
            r,
            Record::Input { from, what, frame: 960 } if from == "keyboard" && what == "GO"
        )));
        // A journal is never overwritten.
        let (_, drain) = journal_channel(1);
        let (_, rx) = journal_notes(drain.counters.clone(), 1, "/".into());
        assert!(JournalWriter::start(&path, &start(), drain, rx, 1 << 20, None).is_err());
    }

    #[test]
    fn a_journal_past_its_cap_stops_with_a_reason_and_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capped.somnia-journal");
        let (mut tap, drain) = journal_channel(4096);
        let (_notes, rx) = journal_notes(drain.counters.clone(), 1, "/".into());
        let w = JournalWriter::start(&path, &start(), drain, rx, 1024, None).unwrap();
        for frame in 0..2000 {
            tap.push(Entry {
                frame,
                what: Applied::Pause(frame % 2 == 0),
            });
        }
        tap.frames_done(2000);
        let summary = w.finish().unwrap();
        assert!(summary.stopped.unwrap().contains("cap"));
        let j = Journal::read(&path).unwrap();
        assert!(j.entries().count() > 10);
        // It ends cleanly where it stopped: its end covers only the entries it holds.
        assert!(j.ended());
        let last_entry = j.entries().last().unwrap().frame;
        assert_eq!(j.frames(), last_entry + 1);
        assert!(std::fs::metadata(&path).unwrap().len() < 1200);
    }
}
