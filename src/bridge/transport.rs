//! Latest-value-wins state shared by every thread: the master clock position the audio
//! thread publishes and transport requests from the control side. All plain atomics: no
//! thread ever waits on another.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering, fence};
use std::time::Instant;

use super::priority::{self, Priority};

/// Shared transport and clock state. Create one per playback and share it in an `Arc`.
#[derive(Debug)]
pub struct Transport {
    sample_rate_hz: u32,
    /// Sample position of the start of the block last rendered (published with it).
    position_samples: AtomicU64,
    /// Nanoseconds since `epoch` at which the sample at `position_samples` is (or was) heard.
    published_ns: AtomicU64,
    /// Length of the last published block, to bound how far the render side extrapolates.
    block_frames: AtomicU32,
    /// Nanoseconds since `epoch` of the last device callback (for the stall watchdog).
    callback_ns: AtomicU64,
    /// Nanoseconds since `epoch` (at least 1) at which the first block a sound device took is
    /// heard; 0 until then (the stand-in clock that runs while there is none does not count).
    /// Start-up is said with it.
    first_heard_ns: AtomicU64,
    epoch: Instant,
    pause_requested: AtomicBool,
    /// Live events the engine dropped because too many were waiting for their sample.
    dropped_events: AtomicU64,
    /// Events that arrived after their sample had passed and were applied at once.
    late_events: AtomicU64,
    /// Times the device ran dry (it asked for sound before a block was ready).
    underruns: AtomicU64,
    /// Times the sound card was lost and the show went on silently until it came back.
    device_losses: AtomicU64,
    /// Blocks held back because the device took sound faster than real time.
    paced_blocks: AtomicU64,
    /// When each show sample is heard: a filtered line through the published (position,
    /// heard) pairs, for placing time-tagged events on the exact sample whatever the jitter of
    /// device timestamps.
    heard: HeardLine,
    /// The underruns counted when the heard line was last drawn: a new one means the sound
    /// slipped against the clock, and the line is drawn afresh from the next block.
    heard_underruns: AtomicU64,
    /// Show samples per sound sample (f64 bits): 1 unless the show follows another clock's
    /// tempo (Ableton Link). Written by the sync thread, read by the audio thread per block.
    show_rate: AtomicU64,
    /// A tempo a controller asked for (OSC, the console, MIDI), f64 bits, 0: none since last
    /// taken. For whoever shares the show's tempo with others (Link), which takes it.
    tempo_request_bpm: AtomicU64,
    /// A seek the control thread asks for: the target sample + 1 (0: none).
    seek_to: AtomicU64,
    /// How many seeks the audio side has carried out.
    seeks_done: AtomicU64,
    /// An external MIDI clock, when one is followed (the picture's beat).
    external_clock: super::ExternalClock,
    /// What the audio thread was granted when it asked for real-time priority
    /// (`priority::encode`; 0: not asked yet).
    audio_priority: AtomicI32,
}

impl Transport {
    pub fn new(sample_rate_hz: u32) -> Self {
        Self {
            sample_rate_hz,
            position_samples: AtomicU64::new(0),
            published_ns: AtomicU64::new(0),
            block_frames: AtomicU32::new(0),
            callback_ns: AtomicU64::new(0),
            first_heard_ns: AtomicU64::new(0),
            epoch: Instant::now(),
            pause_requested: AtomicBool::new(false),
            dropped_events: AtomicU64::new(0),
            late_events: AtomicU64::new(0),
            underruns: AtomicU64::new(0),
            device_losses: AtomicU64::new(0),
            paced_blocks: AtomicU64::new(0),
            heard: HeardLine::default(),
            heard_underruns: AtomicU64::new(0),
            show_rate: AtomicU64::new(1f64.to_bits()),
            tempo_request_bpm: AtomicU64::new(0),
            seek_to: AtomicU64::new(0),
            seeks_done: AtomicU64::new(0),
            external_clock: super::ExternalClock::default(),
            audio_priority: AtomicI32::new(0),
        }
    }

    /// The external MIDI clock's beat, written by MIDI input, read by the picture.
    pub fn external_clock(&self) -> &super::ExternalClock {
        &self.external_clock
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// Called by the audio side after each block of `block_frames` starting at
    /// `position_samples`, with the instant that block's first sample will be heard. The
    /// device wrapper reads the clock, not the engine, so the engine stays a pure function of
    /// its inputs.
    pub fn publish_position(&self, position_samples: u64, block_frames: u32, heard_at: Instant) {
        let ns = heard_at.saturating_duration_since(self.epoch).as_nanos() as u64;
        self.published_ns.store(ns, Ordering::Relaxed);
        // Where sample 0 would be heard by this block's timing at the show's rate; smoothed,
        // so one late or early device timestamp moves it by a fiftieth of its error. A jump (a
        // seek, a pause, a new device) is taken at once, and so is a millisecond or more after
        // an underrun: the sound slipped by as much as the device skipped (a JACK period is
        // a few ms), which smoothing would take a quarter of a second to own up to.
        let underruns = self.underruns();
        let slipped = self.heard_underruns.swap(underruns, Ordering::Relaxed) != underruns;
        let rate = self.show_rate();
        let sample_ns = 1e9 / (f64::from(self.sample_rate_hz) * rate);
        let measured = ns as f64 - position_samples as f64 * sample_ns;
        let origin = match self.heard.read() {
            Some((old, old_rate)) => {
                // The old line at the new rate, through the point it reached at this block.
                let old = old + position_samples as f64 * (sample_ns * rate / old_rate - sample_ns);
                let jump = (measured - old).abs();
                if jump > 20e6 || (slipped && jump >= 1e6) {
                    measured
                } else {
                    old + 0.02 * (measured - old)
                }
            }
            None => measured,
        };
        self.heard.write(origin, rate);
        self.block_frames.store(block_frames, Ordering::Relaxed);
        self.position_samples
            .store(position_samples, Ordering::Release);
    }

    /// Notes when a block a sound device took is heard (the first such is kept). Lock-free:
    /// called from the audio callback.
    pub fn note_heard(&self, heard_at: Instant) {
        if self.first_heard_ns.load(Ordering::Relaxed) == 0 {
            let ns = heard_at.saturating_duration_since(self.epoch).as_nanos() as u64;
            self.first_heard_ns.store(ns.max(1), Ordering::Relaxed);
        }
    }

    /// When the first block a sound device took is heard, once one has.
    pub fn first_heard(&self) -> Option<Instant> {
        let ns = self.first_heard_ns.load(Ordering::Relaxed);
        (ns > 0).then(|| self.epoch + std::time::Duration::from_nanos(ns))
    }

    /// Records that the device called back at `now`.
    pub fn mark_callback(&self, now: Instant) {
        let ns = now.saturating_duration_since(self.epoch).as_nanos() as u64;
        self.callback_ns.store(ns, Ordering::Relaxed);
    }

    /// Whether the show's sound is running at `now`: not paused, and its device called back
    /// within [`Transport::STALLED_S`] (a device whose callbacks come a large buffer apart
    /// is still running; one silent this long has stopped).
    pub fn sounding(&self, now: Instant) -> bool {
        !self.is_pause_requested() && self.seconds_since_callback(now) < Self::STALLED_S
    }

    /// A device silent this long has stopped, for [`Transport::sounding`].
    pub const STALLED_S: f64 = 1.0;

    /// Seconds since the device last called back.
    pub fn seconds_since_callback(&self, now: Instant) -> f64 {
        let now_ns = now.saturating_duration_since(self.epoch).as_nanos() as u64;
        now_ns.saturating_sub(self.callback_ns.load(Ordering::Relaxed)) as f64 * 1e-9
    }

    /// The first sample of the block last rendered.
    pub fn position_samples(&self) -> u64 {
        self.position_samples.load(Ordering::Acquire)
    }

    /// The first sample of the next block the engine renders: the earliest an event sent now
    /// can apply (an event stamped before it is late).
    pub fn next_block_sample(&self) -> u64 {
        self.position_samples() + u64::from(self.block_frames.load(Ordering::Relaxed))
    }

    /// The clock as the render thread should see it: the last published position plus the
    /// wall time since it started sounding, capped at `max_extrapolation_s` (or two blocks,
    /// if longer) so a stalled audio device freezes the picture's clock instead of running
    /// away from the sound.
    pub fn estimated_time_s(&self, now: Instant, max_extrapolation_s: f64) -> f64 {
        let pos = self.position_samples();
        let base_s = pos as f64 / f64::from(self.sample_rate_hz);
        if self.is_pause_requested() {
            return base_s;
        }
        let now_ns = now.saturating_duration_since(self.epoch).as_nanos() as u64;
        let since_s =
            now_ns.saturating_sub(self.published_ns.load(Ordering::Relaxed)) as f64 * 1e-9;
        let two_blocks_s = 2.0 * f64::from(self.block_frames.load(Ordering::Relaxed))
            / f64::from(self.sample_rate_hz);
        base_s + since_s.min(max_extrapolation_s.max(two_blocks_s)) * self.show_rate()
    }

    /// The engine sample that is heard at `at` (smoothed clock), if the clock has started.
    pub fn sample_heard_at(&self, at: Instant) -> Option<u64> {
        let (origin, rate) = self.heard.read()?;
        let at_ns = at.saturating_duration_since(self.epoch).as_nanos() as f64;
        let s = (at_ns - origin) * f64::from(self.sample_rate_hz) * rate / 1e9;
        Some(s.max(0.0).round() as u64)
    }

    /// Runs the show's clock at `rate` show samples per sound sample (the audio side takes it
    /// at its next block, clamped to 0.5..2): how a show follows another clock's tempo and
    /// phase without resampling its sound. 1 is the show's own pace.
    pub fn set_show_rate(&self, rate: f64) {
        let rate = if rate.is_finite() {
            rate.clamp(0.5, 2.0)
        } else {
            1.0
        };
        self.show_rate.store(rate.to_bits(), Ordering::Relaxed);
    }

    pub fn show_rate(&self) -> f64 {
        f64::from_bits(self.show_rate.load(Ordering::Relaxed))
    }

    /// A controller set the show's tempo (`tempo_bpm` over OSC, the console, MIDI).
    pub fn request_tempo(&self, bpm: f64) {
        if bpm.is_finite() && bpm > 0.0 {
            self.tempo_request_bpm
                .store(bpm.to_bits(), Ordering::Relaxed);
        }
    }

    /// The tempo last asked for since the last call, if any.
    pub fn take_tempo_request(&self) -> Option<f64> {
        let bpm = f64::from_bits(self.tempo_request_bpm.swap(0, Ordering::Relaxed));
        (bpm > 0.0).then_some(bpm)
    }

    pub fn request_pause(&self, paused: bool) {
        self.pause_requested.store(paused, Ordering::Relaxed);
    }

    /// Flips pause and returns the new state.
    pub fn toggle_pause(&self) -> bool {
        !self.pause_requested.fetch_xor(true, Ordering::Relaxed)
    }

    pub fn is_pause_requested(&self) -> bool {
        self.pause_requested.load(Ordering::Relaxed)
    }

    /// Asks the audio side to move the clock to `sample` before its next block. Returns the
    /// count [`Transport::seeks_done`] reaches once it has.
    pub fn request_seek(&self, sample: u64) -> u64 {
        let done = self.seeks_done.load(Ordering::Acquire);
        self.seek_to
            .store(sample.saturating_add(1), Ordering::Release);
        done + 1
    }

    /// For the audio side: the seek asked for, if any (taking it).
    pub fn take_seek(&self) -> Option<u64> {
        match self.seek_to.swap(0, Ordering::AcqRel) {
            0 => None,
            s => Some(s - 1),
        }
    }

    /// For the audio side: the seek is done (the engine's clock is at its sample, its queue
    /// empty).
    pub fn seek_done(&self) {
        self.seeks_done.fetch_add(1, Ordering::Release);
    }

    pub fn seeks_done(&self) -> u64 {
        self.seeks_done.load(Ordering::Acquire)
    }

    pub fn count_dropped_events(&self, n: u64) {
        if n > 0 {
            self.dropped_events.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn dropped_events(&self) -> u64 {
        self.dropped_events.load(Ordering::Relaxed)
    }

    pub fn count_late_events(&self, n: u64) {
        if n > 0 {
            self.late_events.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn late_events(&self) -> u64 {
        self.late_events.load(Ordering::Relaxed)
    }

    /// The device asked for sound faster than it plays it; the block was held back.
    pub fn count_paced_block(&self) {
        self.paced_blocks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn paced_blocks(&self) -> u64 {
        self.paced_blocks.load(Ordering::Relaxed)
    }

    pub fn count_underrun(&self) {
        self.underruns.fetch_add(1, Ordering::Relaxed);
    }

    pub fn underruns(&self) -> u64 {
        self.underruns.load(Ordering::Relaxed)
    }

    /// The sound card was lost (the supervisor took the engine back).
    pub fn count_device_loss(&self) {
        self.device_losses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn device_losses(&self) -> u64 {
        self.device_losses.load(Ordering::Relaxed)
    }

    /// Called by the audio thread once it has asked for real-time priority.
    pub fn note_audio_priority(&self, priority: Priority) {
        self.audio_priority
            .store(priority::encode(priority), Ordering::Relaxed);
    }

    pub fn audio_priority(&self) -> Option<Priority> {
        priority::decode(self.audio_priority.load(Ordering::Relaxed))
    }
}

/// The heard clock's line, (origin, rate): show sample `s` is heard at `origin` ns after the
/// transport's epoch plus `s` samples at `rate` times the sample rate. A sequence lock over
/// plain atomics (one writer, the audio side): the two always read as a pair, since a rate
/// read with another rate's origin would be seconds out.
#[derive(Debug, Default)]
struct HeardLine {
    /// Odd while a write is under way.
    seq: AtomicU64,
    /// f64 bits; 0: not yet known.
    origin_ns: AtomicU64,
    rate: AtomicU64,
}

impl HeardLine {
    fn write(&self, origin_ns: f64, rate: f64) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.origin_ns.store(origin_ns.to_bits(), Ordering::Relaxed);
        self.rate.store(rate.to_bits(), Ordering::Relaxed);
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// (origin ns, rate), once a block has been published.
    fn read(&self) -> Option<(f64, f64)> {
        for _ in 0..8 {
            let s0 = self.seq.load(Ordering::Acquire);
            if s0 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let origin = f64::from_bits(self.origin_ns.load(Ordering::Relaxed));
            let rate = f64::from_bits(self.rate.load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s0 {
                return (s0 != 0 && rate > 0.0).then_some((origin, rate));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn estimated_time_extrapolates_but_never_past_the_cap() {
        let t = Transport::new(48_000);
        let t0 = Instant::now();
        t.publish_position(48_000, 256, t0);
        let later = t0 + Duration::from_millis(5);
        let est = t.estimated_time_s(later, 0.02);
        assert!(est > 1.0 && est < 1.02, "{est}");
        let much_later = t0 + Duration::from_secs(3);
        assert!((t.estimated_time_s(much_later, 0.02) - 1.02).abs() < 1e-6);
    }

    #[test]
    fn a_block_not_yet_heard_holds_the_clock_at_its_start() {
        let t = Transport::new(48_000);
        let now = Instant::now();
        t.publish_position(48_000, 1024, now + Duration::from_millis(30));
        assert_eq!(t.estimated_time_s(now, 0.05), 1.0);
    }

    #[test]
    fn long_blocks_allow_longer_extrapolation() {
        let t = Transport::new(48_000);
        let t0 = Instant::now();
        t.publish_position(0, 4800, t0);
        let est = t.estimated_time_s(t0 + Duration::from_millis(150), 0.05);
        assert!((est - 0.15).abs() < 1e-6, "{est}");
    }

    #[test]
    fn paused_clock_does_not_extrapolate() {
        let t = Transport::new(48_000);
        let t0 = Instant::now();
        t.publish_position(96_000, 256, t0);
        t.request_pause(true);
        assert_eq!(t.estimated_time_s(t0 + Duration::from_secs(1), 0.5), 2.0);
    }

    #[test]
    fn the_heard_clock_is_smoothed_against_timestamp_jitter() {
        let t = Transport::new(48_000);
        let t0 = Instant::now();
        // Blocks of 480 every 10 ms, each timestamp off by up to +-3 ms.
        for i in 0..400u64 {
            let jitter = [0i64, 3, -3, 2, -2][(i % 5) as usize];
            let heard = t0 + Duration::from_millis(100 + 10 * i) + Duration::from_millis(3);
            let heard = if jitter >= 0 {
                heard + Duration::from_millis(jitter as u64)
            } else {
                heard - Duration::from_millis((-jitter) as u64)
            };
            t.publish_position(480 * i, 480, heard);
        }
        // Sample 48000 (1 s) is heard 103 ms + 1 s after t0, give or take a fraction of a ms.
        let s = t.sample_heard_at(t0 + Duration::from_millis(1103)).unwrap();
        assert!((s as i64 - 48_000).abs() <= 24, "{s}");
    }

    #[test]
    fn at_a_show_rate_of_1_1_the_heard_clock_runs_a_tenth_fast_and_stays_on_its_line() {
        let t = Transport::new(48_000);
        let t0 = Instant::now();
        t.set_show_rate(1.1);
        // Blocks of 480 sound samples every 10 ms: 528 show samples each.
        for i in 0..400u64 {
            let heard = t0 + Duration::from_millis(20 + 10 * i);
            t.publish_position(528 * i + 1_000, 480, heard);
        }
        // 5 s into the blocks: 5 s * 48000 * 1.1 show samples past the first.
        let s = t
            .sample_heard_at(t0 + Duration::from_millis(5_020))
            .unwrap();
        assert!((s as i64 - (264_000 + 1_000)).abs() <= 2, "{s}");
        // Back to the show's own pace: the line bends at the last block and carries on at 1.
        t.set_show_rate(1.0);
        t.publish_position(528 * 400 + 1_000, 480, t0 + Duration::from_millis(4_020));
        let s = t
            .sample_heard_at(t0 + Duration::from_millis(5_020))
            .unwrap();
        assert!((s as i64 - (528 * 400 + 1_000 + 48_000)).abs() <= 2, "{s}");
    }

    #[test]
    fn after_an_underrun_the_heard_clock_takes_the_next_blocks_timing_at_once() {
        let t = Transport::new(48_000);
        let t0 = Instant::now();
        for i in 0..100u64 {
            t.publish_position(480 * i, 480, t0 + Duration::from_millis(10 * i));
        }
        // The device skipped 5 ms: everything after is heard that much later.
        t.count_underrun();
        t.publish_position(48_000, 480, t0 + Duration::from_millis(1_005));
        let s = t
            .sample_heard_at(t0 + Duration::from_millis(1_005))
            .unwrap();
        assert_eq!(s, 48_000);
        // Without an underrun, the same 5 ms is taken as a timestamp's jitter: a fiftieth.
        t.publish_position(48_480, 480, t0 + Duration::from_millis(1_020));
        let s = t
            .sample_heard_at(t0 + Duration::from_millis(1_015))
            .unwrap();
        assert!(s.abs_diff(48_480) <= 5, "{s}");
    }

    #[test]
    fn a_tempo_asked_for_is_taken_once() {
        let t = Transport::new(48_000);
        assert_eq!(t.take_tempo_request(), None);
        t.request_tempo(f64::NAN);
        assert_eq!(t.take_tempo_request(), None);
        t.request_tempo(131.5);
        assert_eq!(t.take_tempo_request(), Some(131.5));
        assert_eq!(t.take_tempo_request(), None);
    }

    #[test]
    fn a_seek_is_taken_once_and_acknowledged() {
        let t = Transport::new(48_000);
        assert_eq!(t.take_seek(), None);
        let ticket = t.request_seek(0);
        assert_eq!(t.take_seek(), Some(0));
        assert_eq!(t.take_seek(), None);
        t.seek_done();
        assert_eq!(t.seeks_done(), ticket);
    }

    #[test]
    fn toggle_pause_returns_the_new_state() {
        let t = Transport::new(48_000);
        assert!(t.toggle_pause());
        assert!(!t.toggle_pause());
    }
}
