//! Where the live commands' log lines go, and in what form.
//!
//! The engine says what happens through `tracing` (`info!`, `warn!`, `error!`); this module is
//! the one place that decides where it lands:
//! - on a terminal (`play`, `render`, a kiosk being set up): the lines as they are, `somnia: …`,
//!   for a performer reading along;
//! - under systemd with stderr on the journal: the same lines with a `<N>` priority prefix, so
//!   `journalctl -p warning` finds the trouble (journald stamps the time itself);
//! - a kiosk not under systemd: besides the terminal, a file `somnia.log` in its state folder,
//!   each line with its UTC time and level, cut at [`LOG_FILE_BYTES`] and kept for
//!   [`LOG_FILES_KEPT`] generations, so a month alone in a gallery cannot fill the disk.
//!
//! `SOMNIA_LOG=warn` (or `error`, `info`, `debug`) sets how much Somnia says; the libraries under
//! it (winit's musings about XSETTINGS, say) speak only of errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// A kiosk's log file is cut when it passes this size…
pub const LOG_FILE_BYTES: usize = 4 * 1024 * 1024;
/// …and this many cut files are kept beside the one being written (`somnia.log.1` is the newest).
pub const LOG_FILES_KEPT: usize = 4;
/// The log file's name in a kiosk's state folder.
pub const LOG_FILE_NAME: &str = "somnia.log";

/// Lines to stderr as they are: what `play`, `render` and the other commands print.
pub fn to_terminal() {
    let stderr = tracing_subscriber::fmt::layer()
        .event_format(Plain { priority: false })
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(stderr)
        .try_init();
}

/// A kiosk's logs: to the journal with priorities under systemd; otherwise to stderr and to a
/// size-rotated `somnia.log` in `state_dir`. Returns the log file, if there is one.
pub fn for_kiosk(state_dir: Option<&Path>) -> Option<PathBuf> {
    let journal = stderr_is_journal();
    let file = match state_dir {
        Some(dir) if !journal => Some(dir.join(LOG_FILE_NAME)),
        _ => None,
    };
    let stderr = tracing_subscriber::fmt::layer()
        .event_format(Plain { priority: journal })
        .with_writer(std::io::stderr);
    let file_layer = file.as_ref().map(|path| {
        let rotating = FileRotate::new(
            path,
            AppendCount::new(LOG_FILES_KEPT),
            ContentLimit::BytesSurpassed(LOG_FILE_BYTES),
            Compression::None,
            None,
        );
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_writer(Mutex::new(Flushed(rotating)))
    });
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(stderr)
        .with(file_layer)
        .try_init();
    file
}

/// Somnia's own events at `SOMNIA_LOG`'s level (info unless set); every library's errors.
fn filter() -> Targets {
    let level = std::env::var("SOMNIA_LOG")
        .ok()
        .and_then(|s| s.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    Targets::new()
        .with_target("somnia", level)
        .with_default(LevelFilter::ERROR)
}

/// Whether stderr is the journal: systemd sets `JOURNAL_STREAM` to the `device:inode` of the
/// stream it connected, and a shell started from such a unit inherits the variable but not the
/// stream, so both must agree.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(want) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stat) = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
    else {
        return false;
    };
    want.to_str() == Some(&format!("{}:{}", stat.dev(), stat.ino()))
}

/// A line as it was said, with the journal's `<N>` priority before each line when asked.
struct Plain {
    priority: bool,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut text = String::new();
        ctx.format_fields(Writer::new(&mut text), event)?;
        if !self.priority {
            return writeln!(writer, "{text}");
        }
        // sd-daemon(3): 3 err, 4 warning, 6 info, 7 debug.
        let p = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            _ => 7,
        };
        text.lines()
            .try_for_each(|line| writeln!(writer, "<{p}>{line}"))
    }
}

/// A writer that reaches the disk at every line: a kiosk that is killed keeps its last words.
struct Flushed<W: Write>(W);

impl<W: Write> Write for Flushed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        self.0.flush()?;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_past_its_size_is_cut_and_only_the_newest_generations_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE_NAME);
        let mut w = Flushed(FileRotate::new(
            &path,
            AppendCount::new(2),
            ContentLimit::BytesSurpassed(1000),
            Compression::None,
            None,
        ));
        let line = [b'x'; 99];
        for _ in 0..100 {
            w.write_all(&line).unwrap();
            w.write_all(b"\n").unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["somnia.log", "somnia.log.1", "somnia.log.2"]);
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 3 * 1100, "{total} bytes kept");
    }
}
