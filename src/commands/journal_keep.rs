//! Keeping a show's journal for `play` and `kiosk`: where it goes (the project's `journals/`
//! unless `--journal FILE`), pruning the folder to its cap, the engine's tap, the writer
//! thread, and the files the show began with.

use std::path::{Path, PathBuf};

use crate::audio::Engine;
use crate::bridge::{JournalNotes, journal_channel, journal_notes};
use crate::show::journal::{EXTENSION, JournalSummary, JournalWriter, Start, prune::prune};

/// What the command line asked of the journal.
#[derive(Clone, Debug)]
pub struct JournalChoice {
    /// `--journal FILE`: write here.
    pub path: Option<PathBuf>,
    /// `--no-journal`.
    pub off: bool,
    /// `--journals-keep-mb`: the most the journals folder may hold; one journal stops there.
    pub keep_mb: u64,
}

impl Default for JournalChoice {
    fn default() -> Self {
        Self {
            path: None,
            off: false,
            keep_mb: DEFAULT_KEEP_MB,
        }
    }
}

/// The journals folder's cap unless said otherwise: weeks of a busy kiosk.
pub const DEFAULT_KEEP_MB: u64 = 2048;
/// Entries the engine's ring holds: a second of a dense show many times over.
const RING_ENTRIES: usize = 1 << 15;
/// Notes the other threads may have waiting.
const NOTES: usize = 8192;

/// A running journal: the writer, and every thread's way to it.
pub struct KeptJournal {
    pub writer: JournalWriter,
    pub notes: JournalNotes,
    pub root: PathBuf,
}

/// Why a journal asked for by name cannot be kept.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the journal {path}: {why}")]
#[non_exhaustive]
pub struct JournalRefused {
    pub path: String,
    pub why: std::io::Error,
}

/// The journal's start for a show of `command` (`play`, `kiosk`) called `title`: its engine's
/// settings as made from `timeline`, its window, and its performance (relative to the
/// project's folder) when the picture can be drawn again from it.
pub fn show_start(
    command: &str,
    title: &str,
    timeline: &crate::show::Timeline,
    engine: &Engine,
    window: &crate::render::window::WindowOptions,
    performance: Option<String>,
) -> Start {
    let (width, height) = window.size.unwrap_or((0, 0));
    Start {
        command: command.into(),
        title: title.into(),
        started_utc: jiff::Timestamp::now().to_string(),
        sample_rate_hz: engine.sample_rate_hz(),
        patch: timeline.initial_patch,
        master: timeline.master,
        latency_frames: engine.latency_samples() as u32,
        flash_guard: window.flash_guard,
        width,
        height,
        performance,
        ..Start::default()
    }
}

/// The journal a show of `title` in the project at `root` keeps by default.
pub fn default_path(root: &Path, title: &str) -> PathBuf {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_matches('-');
    let slug = if slug.is_empty() { "show" } else { slug };
    root.join("journals")
        .join(format!("{stamp}-{slug}.{EXTENSION}"))
}

/// Starts the journal `choice` asks for, its tap on `engine`. `None` when it is off, or when
/// the default one cannot be made (said as a warning: the show goes on); a `--journal FILE`
/// that cannot be made is said and refused with exit status 3.
pub fn start(
    choice: &JournalChoice,
    root: &Path,
    start: &Start,
    engine: &mut Engine,
    watch: crate::show::journal::writer::Watch,
    who: &str,
) -> Result<Option<KeptJournal>, i32> {
    if choice.off {
        return Ok(None);
    }
    let keep_bytes = choice.keep_mb.saturating_mul(1 << 20);
    let path = choice
        .path
        .clone()
        .unwrap_or_else(|| default_path(root, &start.title));
    if let Some(dir) = path.parent() {
        for gone in prune(dir, keep_bytes, None) {
            tracing::info!(
                "{who}: removed the old journal {} (the folder keeps {} MB)",
                gone.display(),
                choice.keep_mb
            );
        }
    }
    let (tap, drain) = journal_channel(RING_ENTRIES);
    let (notes, notes_rx) = journal_notes(drain.counters.clone(), NOTES, root.to_path_buf());
    match JournalWriter::start(&path, start, drain, notes_rx, keep_bytes, Some(watch)) {
        Ok(writer) => {
            engine.attach_journal(tap);
            tracing::info!("{who}: keeping the show's journal in {}", path.display());
            Ok(Some(KeptJournal {
                writer,
                notes,
                root: root.to_path_buf(),
            }))
        }
        Err(why) if choice.path.is_some() => {
            let refused = JournalRefused {
                path: path.display().to_string(),
                why,
            };
            tracing::error!("{who}: {refused}");
            Err(super::EXIT_OUTPUT_FAILED)
        }
        Err(why) => {
            tracing::warn!(
                "{who}: cannot keep a journal at {}: {why}; the show goes on without one \
                 (--no-journal says so quietly)",
                path.display()
            );
            Ok(None)
        }
    }
}

impl KeptJournal {
    /// Every thread's way to `journal`, or to nowhere without one.
    pub fn notes_of(journal: &Option<Self>) -> JournalNotes {
        journal
            .as_ref()
            .map_or_else(JournalNotes::off, |j| j.notes.clone())
    }

    /// Puts the files at `paths` in the journal as they are now (each version once).
    pub fn files<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) {
        keep_files(&self.notes, paths);
    }

    /// Ends the journal once the sound has stopped, and says what it holds.
    pub fn finish(self, sample_rate_hz: u32, who: &str) -> Option<JournalSummary> {
        let summary = self.writer.finish()?;
        let lost = if summary.dropped_entries > 0 {
            format!(
                "; {} of the engine's entries were lost (a re-render may differ after the first)",
                summary.dropped_entries
            )
        } else {
            String::new()
        };
        tracing::info!(
            "{who}: the journal {} holds {:.1} s of the show in {:.1} KB{lost}",
            summary.path.display(),
            summary.frames as f64 / f64::from(sample_rate_hz.max(1)),
            summary.bytes as f64 / 1024.0
        );
        Some(summary)
    }
}

/// Sends each file at `paths` (read now) to the journal, by its path inside the project.
pub fn keep_files<'a>(notes: &JournalNotes, paths: impl IntoIterator<Item = &'a Path>) {
    for path in paths {
        notes.file(path);
    }
}

/// What the journal notes of the show's devices once a second: the sound card lost (the
/// engine runs on through it, on its stand-in clock) and the GPU device lost and rebuilt.
pub fn device_watch(
    transport: std::sync::Arc<crate::bridge::Transport>,
    health: std::sync::Arc<crate::bridge::Health>,
) -> crate::show::journal::writer::Watch {
    let (mut audio, mut gpu) = (0u64, 0u64);
    Box::new(move || {
        let mut said = Vec::new();
        let now = transport.device_losses();
        if now > audio {
            said.push(format!(
                "the sound device was lost ({now} in all); the engine runs on, and plays on it again when it returns"
            ));
            audio = now;
        }
        let now = health.gpu_device_losses();
        if now > gpu {
            said.push(format!(
                "the GPU device was lost and rebuilt ({now} in all)"
            ));
            gpu = now;
        }
        said
    })
}

/// Every file `timeline` was made from: its presets, their shaders and filters.
pub fn timeline_files(timeline: &crate::show::Timeline) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in timeline.presets.iter().chain(&timeline.fade_styles) {
        files.push(p.path.clone());
        files.push(p.layer.shader_path.clone());
        files.extend(p.layer.filter.clone());
    }
    files.sort();
    files.dedup();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_journal_is_named_by_its_time_and_title_in_the_projects_journals_folder() {
        let p = default_path(Path::new("/show"), "First Light: Dawn");
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(p.starts_with("/show/journals"));
        assert!(
            name.ends_with("-first-light--dawn.somnia-journal"),
            "{name}"
        );
        assert_eq!(
            name.len(),
            "20261203-101500-".len() + "first-light--dawn.somnia-journal".len()
        );
    }
}
