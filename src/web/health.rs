//! `GET /health`: how the show is doing, as JSON, for a watchdog, a monitoring system or a
//! person with `curl`.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::WebState;

/// The `/health` document. Fields are only ever added, so readers keep working.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HealthReport {
    /// `ok` while frames are presented, `starting` before the first, `stalled` when none
    /// came for two seconds.
    pub status: &'static str,
    pub uptime_s: f64,
    /// Times the process was started again after a crash (a kiosk's; 0 for `play`).
    pub restarts: u64,
    /// What is playing.
    pub playing: String,
    /// The show's clock (seconds of show time, as rendered) and whether it is paused.
    pub show_s: f64,
    pub paused: bool,
    /// Each sync source (MTC/LTC chased in, MIDI clock and MTC out): its state (`locked`,
    /// `freewheeling`, `lost`, `waiting`) and the offset last measured (frames).
    pub sync: Vec<SyncSourceReport>,
    /// The next scheduled change (a kiosk opening or closing), RFC 3339; none for `play`.
    pub next_change: Option<String>,
    pub fps: f64,
    pub frame_time_p99_ms: f64,
    pub frames_presented: u64,
    pub dropped_frames: u64,
    pub audio_underruns: u64,
    pub audio_device_losses: u64,
    pub gpu_device_losses: u64,
    /// Items that failed and wait for their file to change (a kiosk's).
    pub quarantined: Vec<String>,
    /// Resident memory, bytes (0 where the system does not say).
    pub resident_memory_bytes: u64,
    /// The GPU allocator's report (every few seconds; none where the backend gives none).
    pub gpu_memory: Option<GpuMemoryReport>,
    /// Each presented frame's brightness, measured by the flash guard (none when it is off).
    pub picture: Option<PictureReport>,
    /// How long live changes (OSC, MIDI, phones, the console) took from their controller
    /// receiving them to the frame that showed them, over the last 10 s (none without any).
    pub look_latency_ms: Option<LatencyMsReport>,
    /// The audience page's phones and what was refused (none without the page).
    pub audience: Option<AudienceReport>,
    /// Requests to the console refused for a wrong or missing token, and commands from it not
    /// of its protocol (none without the console).
    pub console: Option<ConsoleReport>,
    /// OSCQuery's WebSocket clients open now, and their messages refused.
    pub oscquery: OscQueryReport,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencyMsReport {
    pub p50: f64,
    pub p99: f64,
    pub count: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AudienceReport {
    /// Phones joined now (dreamers and crowd).
    pub phones: usize,
    /// Phones told the room was full.
    pub turned_away: u64,
    /// Messages refused: out of range, too fast, or before agreeing.
    pub refused: u64,
    /// Messages not of the protocol (not JSON, binary, unknown).
    pub malformed: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ConsoleReport {
    pub refused_tokens: u64,
    pub malformed: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SyncSourceReport {
    pub name: &'static str,
    pub state: &'static str,
    pub offset_frames: Option<f64>,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OscQueryReport {
    pub listeners: u64,
    pub malformed: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GpuMemoryReport {
    pub allocated_bytes: u64,
    pub reserved_bytes: u64,
    pub allocations: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PictureReport {
    /// The last measured frame's mean relative luminance, 0..1.
    pub luminance: f32,
    /// Frames in a row that were black (mean relative luminance under 0.0005), up to now.
    pub black_frames_now: u64,
    /// The most black frames in a row since the start.
    pub black_frames_longest: u64,
}

impl HealthReport {
    /// The figures as they are at `now`.
    pub fn of(state: &WebState, now: Instant) -> Self {
        let frames = state.health.frames(now);
        let kiosk = state.health.kiosk();
        Self {
            status: state.health.status(now),
            uptime_s: state.health.uptime_s(now),
            restarts: state.health.restarts(),
            playing: state.health.playing(),
            show_s: crate::clock::samples_to_seconds(
                state.transport.position_samples(),
                state.transport.sample_rate_hz(),
            ),
            paused: state.transport.is_pause_requested(),
            sync: state
                .health
                .sync
                .get()
                .into_iter()
                .map(|r| SyncSourceReport {
                    name: r.name,
                    state: r.state.name(),
                    offset_frames: r.offset.filter(|o| o.is_finite()),
                    detail: r.detail,
                })
                .collect(),
            next_change: kiosk.next_change,
            fps: frames.fps,
            frame_time_p99_ms: frames.frame_time_p99_ms,
            frames_presented: frames.presented,
            dropped_frames: frames.dropped,
            audio_underruns: state.transport.underruns(),
            audio_device_losses: state.transport.device_losses(),
            gpu_device_losses: state.health.gpu_device_losses(),
            quarantined: kiosk.quarantined,
            resident_memory_bytes: crate::bridge::health::resident_memory_bytes(),
            gpu_memory: state.health.gpu_memory().map(|m| GpuMemoryReport {
                allocated_bytes: m.allocated_bytes,
                reserved_bytes: m.reserved_bytes,
                allocations: m.allocations,
            }),
            picture: state.health.picture().map(|p| PictureReport {
                luminance: p.luminance,
                black_frames_now: p.black_frames_now,
                black_frames_longest: p.black_frames_longest,
            }),
            look_latency_ms: state.health.look_latency(now).map(|l| LatencyMsReport {
                p50: l.p50_ms,
                p99: l.p99_ms,
                count: l.count,
            }),
            audience: state.audience.as_ref().and_then(|a| {
                let phones = a.audience.lock().ok()?;
                Some(AudienceReport {
                    phones: phones.len(),
                    turned_away: phones.turned_away,
                    refused: phones.refused,
                    malformed: a.malformed.load(Ordering::Relaxed),
                })
            }),
            console: state.console.as_ref().map(|c| ConsoleReport {
                refused_tokens: c.refused.load(Ordering::Relaxed),
                malformed: c.malformed.load(Ordering::Relaxed),
            }),
            oscquery: OscQueryReport {
                listeners: state.oscquery.listeners.load(Ordering::Relaxed),
                malformed: state.oscquery.malformed.load(Ordering::Relaxed),
            },
        }
    }
}

pub async fn get(State(state): State<WebState>) -> Json<HealthReport> {
    Json(HealthReport::of(&state, Instant::now()))
}
