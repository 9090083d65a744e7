//! How the show is doing, for the health endpoint and `/somnia/status`: the render thread's
//! frames (their rate, the 99th percentile of their times, the ones dropped), GPU device
//! losses, what is playing, and since when. Tier 2: the render thread records each presented
//! frame under a mutex that only it and the reporters (the web and OSC threads) take, once a
//! frame; the audio thread never touches any of it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How much of the recent past the frame rate and the percentile look at.
const WINDOW: Duration = Duration::from_secs(10);
/// Most frame times kept (10 s at 240 Hz), so the window is bounded whatever the rate.
const MAX_FRAMES: usize = 2400;
/// A frame later than this many refresh periods after the last one counts as dropped.
const DROPPED_AFTER_PERIODS: f64 = 1.5;
/// A frame whose mean relative luminance is below this is black: a uniform field of it is
/// under 2/255 in sRGB, darker than any look meant to be seen.
pub const BLACK_LUMINANCE: f32 = 0.0005;

/// The render thread's recent frames, under one lock taken once a frame.
#[derive(Debug)]
struct FrameLog {
    /// When the last frame was presented.
    last: Option<Instant>,
    /// (when presented, time since the frame before, s), newest last.
    recent: VecDeque<(Instant, f32)>,
}

#[derive(Debug)]
pub struct Health {
    started: Instant,
    frames: Mutex<FrameLog>,
    presented: AtomicU64,
    dropped_frames: AtomicU64,
    gpu_device_losses: AtomicU64,
    playing: Mutex<String>,
    /// Bumped with each change of `playing`, so the render loop can tell the service manager
    /// without taking the lock every frame.
    playing_changes: AtomicU64,
    kiosk: Mutex<KioskHealth>,
    restarts: AtomicU64,
    /// Whether any frame's brightness was measured (the flash guard measures it).
    metered: AtomicBool,
    /// The last measured frame's mean relative luminance, as `f32` bits.
    luminance_bits: AtomicU32,
    /// Black frames in a row up to the last measured one, and the most ever in a row.
    black_run_frames: AtomicU64,
    black_longest_frames: AtomicU64,
    gpu_memory: Mutex<Option<GpuMemory>>,
    /// The sound's level as the picture last saw it: rms, peak and the eight bands, as `f32`
    /// bits (the render thread reads the analysis once a frame; a console shows it as meters).
    level_bits: [AtomicU32; 10],
    /// The preset showing (its index in the show's presets), `u32::MAX` before the first frame.
    showing: AtomicU32,
    /// Its layer's parameter values as the last frame drew them, as `f32` bits.
    showing_params: [AtomicU32; SHOWN_PARAMS],
    /// The errors the rehearsal overlay shows (whether or not it is on): file:line:col, what.
    errors: Mutex<Vec<String>>,
    /// The output map's outputs, as the render thread last drew them (for the console).
    outputs: Mutex<Vec<OutputReport>>,
    /// Each sync source's standing (the sync thread writes it).
    pub sync: super::SyncBoard,
    /// Live changes to the picture lately: (when shown, ms from their controller receiving
    /// them to the frame that showed them), newest last.
    look_latencies: Mutex<VecDeque<(Instant, f32)>>,
}

/// One output of the output map, as the console lists it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputReport {
    pub name: String,
    pub size: (u32, u32),
    pub test_card: bool,
    /// Where its corners land, output pixels: tl, tr, br, bl.
    pub corners: [[f64; 2]; 4],
}

/// Most live changes' latencies kept (the window is also bounded in time).
const MAX_LATENCIES: usize = 8192;

/// How long live changes took to reach the picture, over the recent window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatencyReport {
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Changes measured in the window.
    pub count: usize,
}

/// Most layer parameters whose values are reported (every one a preset may have).
pub const SHOWN_PARAMS: usize = 48;

/// The sound's level, as meters show it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Levels {
    pub rms: f32,
    pub peak: f32,
    pub bands: [f32; 8],
}

/// The GPU allocator's report, in brief.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuMemory {
    /// Bytes in live allocations.
    pub allocated_bytes: u64,
    /// Bytes of the memory blocks the allocator holds from the driver.
    pub reserved_bytes: u64,
    /// Live allocations.
    pub allocations: u64,
}

/// What the measured frames say about the picture.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PictureReport {
    /// The last measured frame's mean relative luminance, 0..1.
    pub luminance: f32,
    /// Black frames in a row, up to now.
    pub black_frames_now: u64,
    /// The most black frames in a row since the start.
    pub black_frames_longest: u64,
}

/// What only a kiosk reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KioskHealth {
    /// The next opening or closing, RFC 3339.
    pub next_change: Option<String>,
    /// Items passed over until their files change, in words.
    pub quarantined: Vec<String>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new(Instant::now())
    }
}

/// The frames' figures at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FrameReport {
    /// Frames presented a second, over the recent window.
    pub fps: f64,
    /// 99th percentile of the time between frames over the recent window, ms.
    pub frame_time_p99_ms: f64,
    pub presented: u64,
    /// Frames that came more than 1.5 refresh periods after the one before.
    pub dropped: u64,
}

impl Health {
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            frames: Mutex::new(FrameLog {
                last: None,
                recent: VecDeque::with_capacity(MAX_FRAMES),
            }),
            presented: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            gpu_device_losses: AtomicU64::new(0),
            playing: Mutex::new(String::new()),
            playing_changes: AtomicU64::new(0),
            metered: AtomicBool::new(false),
            luminance_bits: AtomicU32::new(0),
            black_run_frames: AtomicU64::new(0),
            black_longest_frames: AtomicU64::new(0),
            gpu_memory: Mutex::new(None),
            level_bits: Default::default(),
            showing: AtomicU32::new(u32::MAX),
            showing_params: std::array::from_fn(|_| AtomicU32::new(0)),
            errors: Mutex::new(Vec::new()),
            outputs: Mutex::new(Vec::new()),
            sync: Default::default(),
            look_latencies: Mutex::new(VecDeque::with_capacity(MAX_LATENCIES)),
            kiosk: Mutex::new(KioskHealth::default()),
            restarts: AtomicU64::new(0),
        }
    }

    /// How many times the process was started again (a kiosk counts its starts).
    pub fn set_restarts(&self, n: u64) {
        self.restarts.store(n, Ordering::Relaxed);
    }

    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub fn set_next_change(&self, at: Option<String>) {
        if let Ok(mut k) = self.kiosk.lock() {
            k.next_change = at;
        }
    }

    pub fn set_quarantined(&self, items: Vec<String>) {
        if let Ok(mut k) = self.kiosk.lock() {
            k.quarantined = items;
        }
    }

    pub fn kiosk(&self) -> KioskHealth {
        self.kiosk.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// `ok` while frames are presented; `starting` before the first; `stalled` when none came
    /// for two seconds (a hung GPU or render thread: what a monitor should act on).
    pub fn status(&self, now: Instant) -> &'static str {
        match self.frames.lock().ok().and_then(|f| f.last) {
            None => "starting",
            Some(t) if now.saturating_duration_since(t) > Duration::from_secs(2) => "stalled",
            Some(_) => "ok",
        }
    }

    /// Seconds since the show started.
    pub fn uptime_s(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.started).as_secs_f64()
    }

    /// The render thread presented a frame at `now`; `period_s` is the display's refresh
    /// period (`None`: no vsync, nothing counts as dropped).
    pub fn frame_presented(&self, now: Instant, period_s: Option<f64>) {
        self.presented.fetch_add(1, Ordering::Relaxed);
        let Ok(mut log) = self.frames.lock() else {
            return;
        };
        let since = log
            .last
            .map(|l| now.saturating_duration_since(l).as_secs_f64());
        log.last = Some(now);
        let Some(since) = since else { return };
        if period_s.is_some_and(|p| since > DROPPED_AFTER_PERIODS * p) {
            self.dropped_frames.fetch_add(1, Ordering::Relaxed);
        }
        {
            let frames = &mut log.recent;
            if frames.len() == MAX_FRAMES {
                frames.pop_front();
            }
            frames.push_back((now, since as f32));
            while frames
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
            {
                frames.pop_front();
            }
        }
    }

    /// The picture had to be rebuilt on a new GPU device.
    pub fn count_gpu_device_loss(&self) {
        self.gpu_device_losses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn gpu_device_losses(&self) -> u64 {
        self.gpu_device_losses.load(Ordering::Relaxed)
    }

    /// A presented frame's mean relative luminance (render thread, in frame order).
    pub fn frame_luminance(&self, mean: f32) {
        self.metered.store(true, Ordering::Relaxed);
        self.luminance_bits.store(mean.to_bits(), Ordering::Relaxed);
        // NaN is not black: only a measured darkness counts.
        if mean < BLACK_LUMINANCE {
            let run = self.black_run_frames.fetch_add(1, Ordering::Relaxed) + 1;
            self.black_longest_frames.fetch_max(run, Ordering::Relaxed);
        } else {
            self.black_run_frames.store(0, Ordering::Relaxed);
        }
    }

    /// The picture's brightness figures; `None` when no frame was measured (the flash guard
    /// is off, or nothing was presented yet).
    pub fn picture(&self) -> Option<PictureReport> {
        self.metered.load(Ordering::Relaxed).then(|| PictureReport {
            luminance: f32::from_bits(self.luminance_bits.load(Ordering::Relaxed)),
            black_frames_now: self.black_run_frames.load(Ordering::Relaxed),
            black_frames_longest: self.black_longest_frames.load(Ordering::Relaxed),
        })
    }

    pub fn set_gpu_memory(&self, m: GpuMemory) {
        if let Ok(mut g) = self.gpu_memory.lock() {
            *g = Some(m);
        }
    }

    /// The GPU allocator's last report, where the backend gives one.
    pub fn gpu_memory(&self) -> Option<GpuMemory> {
        self.gpu_memory.lock().ok().and_then(|g| *g)
    }

    /// What is playing, in words (a performance's title, a kiosk's item).
    /// A frame presented at `now` showed live changes received at `received`.
    pub fn looks_shown(&self, now: Instant, received: &[Instant]) {
        if received.is_empty() {
            return;
        }
        let Ok(mut l) = self.look_latencies.lock() else {
            return;
        };
        for r in received {
            if l.len() == MAX_LATENCIES {
                l.pop_front();
            }
            l.push_back((now, now.saturating_duration_since(*r).as_secs_f32() * 1e3));
        }
        while l
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > WINDOW)
        {
            l.pop_front();
        }
    }

    /// How long live changes took to reach the picture over the last 10 s; `None` with none.
    pub fn look_latency(&self, now: Instant) -> Option<LatencyReport> {
        let l = self.look_latencies.lock().ok()?;
        let mut ms: Vec<f32> = l
            .iter()
            .filter(|(t, _)| now.saturating_duration_since(*t) <= WINDOW)
            .map(|(_, ms)| *ms)
            .collect();
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f32::total_cmp);
        let at = |q: f64| f64::from(ms[((ms.len() - 1) as f64 * q).round() as usize]);
        Some(LatencyReport {
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            count: ms.len(),
        })
    }

    /// The sound's level as this frame drew it.
    pub fn set_levels(&self, levels: Levels) {
        let values = [levels.rms, levels.peak].into_iter().chain(levels.bands);
        for (slot, v) in self.level_bits.iter().zip(values) {
            slot.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    pub fn levels(&self) -> Levels {
        let v = |i: usize| f32::from_bits(self.level_bits[i].load(Ordering::Relaxed));
        Levels {
            rms: v(0),
            peak: v(1),
            bands: std::array::from_fn(|i| v(2 + i)),
        }
    }

    /// The preset showing, by its index in the show's presets, and its layer's values.
    pub fn set_showing(&self, preset: usize, params: &[f32]) {
        self.showing
            .store(u32::try_from(preset).unwrap_or(u32::MAX), Ordering::Relaxed);
        for (slot, v) in self.showing_params.iter().zip(params) {
            slot.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    /// The showing preset's layer values, in its order (as many as it has, the caller knows).
    pub fn showing_params(&self) -> [f32; SHOWN_PARAMS] {
        std::array::from_fn(|i| f32::from_bits(self.showing_params[i].load(Ordering::Relaxed)))
    }

    pub fn showing(&self) -> Option<usize> {
        match self.showing.load(Ordering::Relaxed) {
            u32::MAX => None,
            i => Some(i as usize),
        }
    }

    /// The show's current errors (a file that does not load, a shader that does not build).
    pub fn set_errors(&self, errors: &[String]) {
        if let Ok(mut e) = self.errors.lock() {
            if e.as_slice() != errors {
                *e = errors.to_vec();
            }
        }
    }

    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The output map's outputs now (the render thread, when they change).
    pub fn set_outputs(&self, outputs: Vec<OutputReport>) {
        if let Ok(mut o) = self.outputs.lock() {
            *o = outputs;
        }
    }

    pub fn outputs(&self) -> Vec<OutputReport> {
        self.outputs.lock().map(|o| o.clone()).unwrap_or_default()
    }

    pub fn set_playing(&self, what: &str) {
        if let Ok(mut p) = self.playing.lock() {
            what.clone_into(&mut p);
        }
        self.playing_changes.fetch_add(1, Ordering::Release);
    }

    /// How many times what is playing has changed.
    pub fn playing_changes(&self) -> u64 {
        self.playing_changes.load(Ordering::Acquire)
    }

    pub fn playing(&self) -> String {
        self.playing.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// The frames' figures at `now`, over the recent window.
    pub fn frames(&self, now: Instant) -> FrameReport {
        let mut report = FrameReport {
            presented: self.presented.load(Ordering::Relaxed),
            dropped: self.dropped_frames.load(Ordering::Relaxed),
            ..FrameReport::default()
        };
        let Ok(log) = self.frames.lock() else {
            return report;
        };
        let recent: Vec<f32> = log
            .recent
            .iter()
            .filter(|(t, _)| now.saturating_duration_since(*t) <= WINDOW)
            .map(|(_, dt)| *dt)
            .collect();
        drop(log);
        if recent.is_empty() {
            return report;
        }
        let total_s: f64 = recent.iter().map(|dt| f64::from(*dt)).sum();
        if total_s > 0.0 {
            report.fps = recent.len() as f64 / total_s;
        }
        let mut sorted = recent;
        sorted.sort_by(f32::total_cmp);
        let k = ((sorted.len() as f64 * 0.99).ceil() as usize).clamp(1, sorted.len()) - 1;
        report.frame_time_p99_ms = f64::from(sorted[k]) * 1000.0;
        report
    }
}

/// This process's resident memory, from /proc (Linux); 0 elsewhere.
pub fn resident_memory_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    #[cfg(target_os = "linux")]
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    #[cfg(not(target_os = "linux"))]
    let page = 4096;
    pages * page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_frames_are_counted_in_runs_and_the_longest_run_is_kept() {
        let h = Health::default();
        assert_eq!(h.picture(), None, "nothing measured yet");
        for mean in [0.2, 0.0, 0.0, 0.0, 0.1, 0.0, f32::NAN, 0.0, 0.0] {
            h.frame_luminance(mean);
        }
        let p = h.picture().unwrap();
        assert_eq!((p.black_frames_now, p.black_frames_longest), (2, 3));
        h.frame_luminance(BLACK_LUMINANCE * 2.0);
        assert_eq!(h.picture().unwrap().black_frames_now, 0);
    }

    #[test]
    fn a_steady_picture_reports_its_rate_and_a_late_frame_counts_as_dropped() {
        let t0 = Instant::now();
        let h = Health::new(t0);
        let period = 1.0 / 60.0;
        let mut t = t0;
        for _ in 0..120 {
            t += Duration::from_secs_f64(period);
            h.frame_presented(t, Some(period));
        }
        let r = h.frames(t);
        assert!((r.fps - 60.0).abs() < 0.5, "{r:?}");
        assert!((r.frame_time_p99_ms - 16.67).abs() < 0.1, "{r:?}");
        assert_eq!((r.presented, r.dropped), (120, 0));
        // One frame 50 ms late: dropped, but one frame in 121 is under the percentile.
        t += Duration::from_millis(50);
        h.frame_presented(t, Some(period));
        let r = h.frames(t);
        assert_eq!(r.dropped, 1);
        assert!((r.frame_time_p99_ms - 16.67).abs() < 0.1, "{r:?}");
        // Two more: three slow frames in 123 reach it.
        for _ in 0..2 {
            t += Duration::from_millis(50);
            h.frame_presented(t, Some(period));
        }
        let r = h.frames(t);
        assert_eq!(r.dropped, 3);
        assert!((r.frame_time_p99_ms - 50.0).abs() < 0.1, "{r:?}");
        // Long after, the window is empty but the counts stay.
        let r = h.frames(t + Duration::from_secs(60));
        assert_eq!((r.fps, r.presented, r.dropped), (0.0, 123, 3));
    }

    #[test]
    fn the_frame_window_stays_bounded() {
        let t0 = Instant::now();
        let h = Health::new(t0);
        for i in 0..(3 * MAX_FRAMES as u64) {
            h.frame_presented(t0 + Duration::from_micros(i), None);
        }
        assert!(h.frames.lock().unwrap().recent.len() <= MAX_FRAMES);
    }
}
