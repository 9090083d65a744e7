//! Chasing timecode, the way a lighting desk or Resolume does: the show locates to the time it
//! hears (less an offset: the timecode at the show's start), follows while it runs, carries on
//! by itself for a few frames when the timecode drops out (freewheel), and stops when it
//! stays gone. A pure state machine: the sync thread feeds it what it heard and the show's
//! own time, and carries out what it says.
//!
//! The show follows the source's speed by locating again whenever the two drift more than
//! [`RELOCATE_FRAMES`] apart; the sound is not resampled to a source running fast or slow.

use std::time::Instant;

use crate::bridge::{SyncState, TimecodeReading};
use crate::clock::timecode::FrameRate;

/// Drift, in frames, past which the show locates again.
pub const RELOCATE_FRAMES: f64 = 2.0;
/// A gap in the readings longer than this many frames is a dropout (quarter frames come four
/// a frame, LTC one a frame).
const QUIET_FRAMES: f64 = 2.0;
/// After a locate the show's clock needs a moment to settle before it is judged again.
const SETTLE_S: f64 = 0.3;
/// After the sound card ran dry, drift past this many frames is located at once: the sound
/// already broke, so a locate costs nothing heard, where within [`RELOCATE_FRAMES`] the
/// slip (a stall's tens of milliseconds) would otherwise stand until the source drifted.
/// Well past the readings' jitter (a few ms).
const SLIP_RELOCATE_FRAMES: f64 = 0.5;
/// The heard clock takes a slip at the next block; readings from this long after it are
/// judged against it.
const SLIP_SETTLE_S: f64 = 0.05;

/// How to chase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChaseSettings {
    /// Seconds of timecode at the show's time 0 (e.g. 3600 for a show that starts at
    /// 01:00:00:00).
    pub offset_s: f64,
    /// Frames the show carries on by itself through a dropout before it stops.
    pub freewheel_frames: u32,
}

/// What the show should do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ChaseAction {
    /// Go to `show_s` (as of the reading's moment); play on from there, or stand there.
    Locate {
        show_s: f64,
        at: Instant,
        play: bool,
    },
    /// The timecode is gone: stop where we are.
    Stop,
}

/// The chase.
#[derive(Clone, Debug)]
pub struct Chaser {
    settings: ChaseSettings,
    state: SyncState,
    rate: Option<FrameRate>,
    last_heard: Option<Instant>,
    located_at: Option<Instant>,
    /// The last measured difference, show less source, in frames.
    offset_frames: Option<f64>,
    /// When the show's sound last slipped (its card ran dry), until a reading is judged after.
    slipped_at: Option<Instant>,
}

impl Chaser {
    pub fn new(settings: ChaseSettings) -> Self {
        Self {
            settings,
            state: SyncState::Waiting,
            rate: None,
            last_heard: None,
            located_at: None,
            offset_frames: None,
            slipped_at: None,
        }
    }

    /// The show's sound card ran dry at `at`: what is heard slipped behind the show's clock by
    /// as much as the card skipped. The next reading judged after the heard clock has the slip
    /// locates past [`SLIP_RELOCATE_FRAMES`].
    pub fn sound_slipped(&mut self, at: Instant) {
        self.slipped_at = Some(at);
    }

    pub fn state(&self) -> SyncState {
        self.state
    }

    pub fn rate(&self) -> Option<FrameRate> {
        self.rate
    }

    /// Show less source, in frames, as last measured.
    pub fn offset_frames(&self) -> Option<f64> {
        self.offset_frames
    }

    /// A reading; `show_s` is the show's own heard time at the reading's moment and `playing`
    /// whether it runs.
    pub fn heard(
        &mut self,
        r: &TimecodeReading,
        show_s: f64,
        playing: bool,
    ) -> Option<ChaseAction> {
        let fps = r.rate.fps();
        self.rate = Some(r.rate);
        self.last_heard = Some(r.received);
        let target_s = r.seconds() - self.settings.offset_s;
        let error_frames = (show_s - target_s) * fps;
        if !r.running {
            // A locate while the source stands still: stand there too.
            self.state = SyncState::Waiting;
            self.offset_frames = Some(error_frames);
            let moved = error_frames.abs() > 0.5 || playing;
            return moved.then_some(ChaseAction::Locate {
                show_s: target_s,
                at: r.received,
                play: false,
            });
        }
        let settling = self
            .located_at
            .is_some_and(|t| r.received.saturating_duration_since(t).as_secs_f64() < SETTLE_S);
        let was = self.state;
        self.state = SyncState::Locked;
        if settling {
            return None;
        }
        let relocate_frames = match self.slipped_at {
            Some(t) if r.received.saturating_duration_since(t).as_secs_f64() < SLIP_SETTLE_S => {
                return None;
            }
            Some(_) => {
                self.slipped_at = None;
                SLIP_RELOCATE_FRAMES
            }
            None => RELOCATE_FRAMES,
        };
        self.offset_frames = Some(error_frames);
        let lost_touch = !matches!(was, SyncState::Locked | SyncState::Freewheeling);
        if !playing || lost_touch || error_frames.abs() > relocate_frames {
            self.located_at = Some(r.received);
            // Measured again once the show has moved there.
            self.offset_frames = None;
            return Some(ChaseAction::Locate {
                show_s: target_s,
                at: r.received,
                play: true,
            });
        }
        None
    }

    /// Time passing with nothing heard: freewheel, then stop.
    pub fn tick(&mut self, now: Instant) -> Option<ChaseAction> {
        let (Some(last), Some(rate)) = (self.last_heard, self.rate) else {
            return None;
        };
        if !matches!(self.state, SyncState::Locked | SyncState::Freewheeling) {
            return None;
        }
        let quiet_frames = now.saturating_duration_since(last).as_secs_f64() * rate.fps();
        if quiet_frames > f64::from(self.settings.freewheel_frames.max(1)) {
            self.state = SyncState::Lost;
            return Some(ChaseAction::Stop);
        }
        if quiet_frames > QUIET_FRAMES {
            self.state = SyncState::Freewheeling;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::TimecodeSource;
    use std::time::Duration;

    fn reading(frames: f64, at: Instant) -> TimecodeReading {
        TimecodeReading {
            source: TimecodeSource::Mtc,
            frames,
            rate: FrameRate::Fps25,
            running: true,
            received: at,
        }
    }

    fn chaser() -> Chaser {
        Chaser::new(ChaseSettings {
            offset_s: 3600.0,
            freewheel_frames: 10,
        })
    }

    #[test]
    fn the_show_locates_to_the_timecode_less_the_offset_and_then_follows() {
        let mut c = chaser();
        let t0 = Instant::now();
        // 01:00:10:00 at 25 fps: show time 10 s.
        let first = reading(25.0 * 3610.0, t0);
        assert_eq!(
            c.heard(&first, 0.0, false),
            Some(ChaseAction::Locate {
                show_s: 10.0,
                at: t0,
                play: true
            })
        );
        assert_eq!(c.state(), SyncState::Locked);
        // In step a second later (one frame off is within the tolerance).
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(c.heard(&reading(25.0 * 3611.0, t1), 11.04, true), None);
        assert!((c.offset_frames().unwrap() - 1.0).abs() < 1e-6);
        // Three frames adrift: locate again.
        let t2 = t1 + Duration::from_secs(1);
        assert!(matches!(
            c.heard(&reading(25.0 * 3612.0, t2), 12.12, true),
            Some(ChaseAction::Locate { .. })
        ));
    }

    #[test]
    fn after_the_sound_card_runs_dry_a_one_frame_slip_is_located_once_the_heard_clock_has_it() {
        let mut c = chaser();
        let t0 = Instant::now();
        c.heard(&reading(25.0 * 3610.0, t0), 0.0, false);
        // Locked and in step, then a 40 ms stall: what is heard is a frame behind. Within the
        // two frames' tolerance, so without the slip it stands.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(c.heard(&reading(25.0 * 3611.0, t1), 10.96, true), None);
        c.sound_slipped(t1);
        // Not judged until the heard clock has the slip...
        let t2 = t1 + Duration::from_millis(10);
        assert_eq!(c.heard(&reading(25.0 * 3611.01, t2), 10.97, true), None);
        // ...then located, once.
        let t3 = t1 + Duration::from_millis(60);
        assert!(matches!(
            c.heard(&reading(25.0 * 3611.06, t3), 11.02, true),
            Some(ChaseAction::Locate { .. })
        ));
        let t4 = t3 + Duration::from_secs(1);
        // Past the locate's settling, the two frames' tolerance again.
        assert_eq!(c.heard(&reading(25.0 * 3612.06, t4), 12.02, true), None);
    }

    #[test]
    fn a_short_dropout_freewheels_and_a_long_one_stops_the_show() {
        let mut c = chaser();
        let t0 = Instant::now();
        c.heard(&reading(25.0 * 3600.0, t0), 0.0, false);
        let frame = Duration::from_millis(40);
        assert_eq!(c.tick(t0 + frame), None);
        assert_eq!(c.state(), SyncState::Locked);
        assert_eq!(c.tick(t0 + frame * 5), None);
        assert_eq!(c.state(), SyncState::Freewheeling);
        // Back after five frames: locked again with no locate (the show ran on in step).
        let back = t0 + frame * 5;
        assert_eq!(
            c.heard(&reading(25.0 * 3600.0 + 5.0, back), 0.2, true),
            None
        );
        assert_eq!(c.state(), SyncState::Locked);
        assert_eq!(c.tick(back + frame * 11), Some(ChaseAction::Stop));
        assert_eq!(c.state(), SyncState::Lost);
        assert_eq!(c.tick(back + frame * 20), None, "stopped once");
    }

    #[test]
    fn a_full_frame_stands_the_show_at_its_time() {
        let mut c = chaser();
        let t0 = Instant::now();
        let mut r = reading(25.0 * 3605.0, t0);
        r.running = false;
        assert_eq!(
            c.heard(&r, 20.0, true),
            Some(ChaseAction::Locate {
                show_s: 5.0,
                at: t0,
                play: false
            })
        );
        assert_eq!(
            c.tick(t0 + Duration::from_secs(5)),
            None,
            "not running: no dropout"
        );
    }
}
