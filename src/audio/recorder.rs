//! `somnia play --record FILE`: the engine's own output, before the sound card, written to a
//! WAV file in the offline render's format (48 kHz stereo 32-bit float) by a thread of its own
//! (`somnia-record`). The audio callback only hands blocks over ([`crate::bridge::RecordTap`]);
//! everything that touches the disk is here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::bridge::{RecordDrain, RecordTap, record_channel};

/// How much the ring holds: the disk may stall this long before blocks are dropped.
const RING_S: f64 = 4.0;
/// How often the thread empties the ring.
const EVERY: Duration = Duration::from_millis(50);

/// Why a recording could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("cannot write the recording {path}: {reason}")]
    Create { path: PathBuf, reason: String },
}

/// A recording under way. Dropping it finishes the file.
pub struct Recorder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The frames a recording kept and dropped, for the log.
pub struct Recorded {
    pub path: PathBuf,
    pub frames: u64,
    pub dropped_frames: u64,
}

impl Recorder {
    /// Opens `path` and starts the writer; the tap goes to the audio callback. The first
    /// `skip_frames` (the limiter's lookahead) are left out, so frame n of the file is the
    /// show's sample n, as in an offline render.
    pub fn start(
        path: &Path,
        sample_rate_hz: u32,
        skip_frames: usize,
        done: impl FnOnce(Recorded) + Send + 'static,
    ) -> Result<(Self, RecordTap), RecordError> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: sample_rate_hz,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let fail = |reason: String| RecordError::Create {
            path: path.to_path_buf(),
            reason,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| fail(e.to_string()))?;
        let (tap, drain) = record_channel(RING_S, sample_rate_hz, skip_frames);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let path = path.to_path_buf();
            std::thread::Builder::new()
                .name("somnia-record".into())
                .spawn(move || done(write(writer, drain, &stop, path)))
                .map_err(|e| fail(e.to_string()))?
        };
        Ok((
            Self {
                stop,
                thread: Some(thread),
            },
            tap,
        ))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Empties the ring into the file until told to stop, then once more, and finishes the file.
fn write<W: std::io::Write + std::io::Seek>(
    mut writer: hound::WavWriter<W>,
    mut drain: RecordDrain,
    stop: &AtomicBool,
    path: PathBuf,
) -> Recorded {
    let mut failed: Option<String> = None;
    loop {
        let last = stop.load(Ordering::Relaxed);
        drain.drain(|samples| {
            if failed.is_none() {
                for s in samples {
                    if let Err(e) = writer.write_sample(*s) {
                        failed = Some(e.to_string());
                        break;
                    }
                }
            }
        });
        if last {
            break;
        }
        std::thread::sleep(EVERY);
    }
    if let Err(e) = writer.finalize() {
        failed.get_or_insert(e.to_string());
    }
    if let Some(e) = failed {
        // A full disk stops the recording, never the show.
        tracing::warn!("somnia: the recording {} stopped: {e}", path.display());
    }
    Recorded {
        path,
        frames: drain.counters.kept.load(Ordering::Relaxed),
        dropped_frames: drain.counters.dropped.load(Ordering::Relaxed),
    }
}
