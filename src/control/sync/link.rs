//! Following Ableton Link, the way Live, Resolume and TouchDesigner do: the session's tempo is
//! the show's tempo, and the show's beat keeps the session's phase within the quantum (the
//! performance's bar), so a downbeat in Somnia is heard on every other peer's downbeat.
//!
//! The show follows by running its clock a little faster or slower (the transport's show
//! rate): at the session's tempo over the tempo map's, trimmed to ease out a phase error of a
//! few milliseconds. The sound is not resampled (notes keep their pitch); only when events
//! fall moves. A larger error is closed by locating the show to the session's phase, as a
//! timecode chase does; so is any but the smallest as the show joins, starts or resumes.
//!
//! [`LinkFollower`] is the pure part: what the session and the show say at one heard moment
//! in, what the show should do out. [`LinkSession`] wraps the Link library itself (feature
//! `link`: the library is GPL-2.0-or-later, so a binary built with it is GPL).

use std::time::{Duration, Instant};

use crate::bridge::SyncState;
use crate::clock::Tempo;

/// How to follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkSettings {
    /// Start and stop with the peers that share start/stop (Link's start/stop sync).
    pub start_stop: bool,
}

/// A phase error past this is closed by locating the show rather than easing.
pub const RELOCATE_S: f64 = 0.05;
/// As the show starts or resumes sounding, a phase error past this is closed by locating: the
/// way Live starts on the session's phase rather than drifting onto it (easing 50 ms out at
/// 2 % takes seconds).
pub const START_LOCATE_S: f64 = 0.005;
/// A phase error is eased out over about this long: the show runs error/EASE_S faster or
/// slower than the session's tempo asks. (Longer than the heard clock takes to settle after
/// a timestamp's jitter, a quarter of a second, so the two do not chase each other.)
const EASE_S: f64 = 0.5;
/// The most the rate is trimmed by while easing (2 %: far below what anyone hears in when
/// notes fall, enough to close [`RELOCATE_S`] in a few seconds).
const MAX_TRIM: f64 = 0.02;
/// After a locate is heard the heard clock needs a moment before the phase is judged again.
const SETTLE_S: f64 = 0.3;
/// After the sound card ran dry, the phase is judged again this long later (by then the heard
/// clock has taken the slip: it does at the next block).
const SLIP_SETTLE_S: f64 = 0.05;
/// After the sound card ran dry, a phase error past this is closed by locating. Past
/// [`START_LOCATE_S`]: after a JACK xrun the server's own clock estimate starts afresh and
/// wanders by milliseconds for a while, and a locate on that lands as far off; a period's
/// slip (about 5 ms) is eased out within a second, a stall's tens of milliseconds located.
const SLIP_LOCATE_S: f64 = 0.010;
/// Within this the show counts as locked to the session's phase (a third of the 3 ms Link's
/// test plan allows a peer).
const LOCKED_S: f64 = 0.001;

/// The session at one moment, as a Link peer sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionAt {
    pub tempo_bpm: f64,
    /// The session's beat at that moment (its phase within the quantum is shared).
    pub beat: f64,
    pub playing: bool,
    /// Other peers in the session.
    pub peers: u64,
}

/// The show at the same moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShowAt {
    /// Seconds on the performance's own timeline heard at that moment.
    pub time_s: f64,
    /// Its sound is running (not paused, its device calling back).
    pub sounding: bool,
    /// Seconds until a locate asked for now is heard.
    pub seek_lead_s: f64,
    /// Whether the show can locate (a kiosk's items cannot; they only ease).
    pub can_locate: bool,
    /// Times the show's sound card has run dry so far: each time, what is heard slipped
    /// behind the show's clock by as much as the card skipped.
    pub underruns: u64,
}

/// What the show should do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinkMove {
    /// Run the show's clock at this rate.
    Rate(f64),
    /// Locate to this time on the performance's timeline (and run at the session's tempo).
    Locate { time_s: f64, rate: f64 },
}

/// Keeps the show on the session's tempo and phase.
#[derive(Clone, Debug)]
pub struct LinkFollower {
    settle_until: Option<Instant>,
    /// The session's beat less the show's, in seconds, as last measured.
    phase_error_s: Option<f64>,
    /// The tempo map's tempo where the show was last looked at.
    map_bpm: Option<f64>,
    state: SyncState,
    tempo_bpm: f64,
    peers: u64,
    /// The show has started or resumed sounding and its phase has not been judged since.
    starting: bool,
    /// The show's sound slipped (its card ran dry) and its phase has not been judged since.
    slipped: bool,
    /// The show's underruns when last looked at.
    underruns: Option<u64>,
}

impl Default for LinkFollower {
    fn default() -> Self {
        Self {
            settle_until: None,
            phase_error_s: None,
            map_bpm: None,
            state: SyncState::Waiting,
            tempo_bpm: 0.0,
            peers: 0,
            starting: true,
            slipped: false,
            underruns: None,
        }
    }
}

/// `x` wrapped into `[-q/2, q/2)`.
fn wrap(x: f64, q: f64) -> f64 {
    (x + q / 2.0).rem_euclid(q) - q / 2.0
}

impl LinkFollower {
    /// The tempo the show has for the session, if it has a new one: one a controller asked
    /// for, else the tempo map's when the show has moved into another tempo (a cue's
    /// `[[tempo]]`). `None` when the session's tempo should stand.
    pub fn tempo_to_share(
        &mut self,
        asked_bpm: Option<f64>,
        tempo: &Tempo,
        show_s: f64,
    ) -> Option<f64> {
        let map_bpm = tempo.bpm_at(show_s.max(0.0));
        let moved = self.map_bpm.is_some_and(|old| (old - map_bpm).abs() > 1e-6);
        self.map_bpm = Some(map_bpm);
        asked_bpm.or(moved.then_some(map_bpm))
    }

    /// What the show should do, given the session and the show heard at `now`, the show's
    /// tempo map and the quantum (beats).
    pub fn follow(
        &mut self,
        now: Instant,
        session: &SessionAt,
        show: &ShowAt,
        tempo: &Tempo,
        quantum: f64,
    ) -> LinkMove {
        self.tempo_bpm = session.tempo_bpm;
        self.peers = session.peers;
        let time_s = show.time_s.max(0.0);
        let base = session.tempo_bpm / tempo.bpm_at(time_s).max(1e-3);
        if !show.sounding {
            self.state = SyncState::Waiting;
            self.phase_error_s = None;
            self.starting = true;
            return LinkMove::Rate(base);
        }
        if self
            .underruns
            .replace(show.underruns)
            .is_some_and(|seen| seen != show.underruns)
        {
            // The sound slipped (tens of milliseconds for a stall): easing that out at 2 %
            // kept the heard beat off the session's for seconds. Judged again once the heard
            // clock has the slip, and located past `SLIP_LOCATE_S` (the way Live is back on
            // the beat after a dropout).
            self.slipped = true;
            let until = now + Duration::from_secs_f64(SLIP_SETTLE_S);
            self.settle_until = Some(self.settle_until.map_or(until, |t| t.max(until)));
        }
        if self.settle_until.is_some_and(|t| now < t) {
            return LinkMove::Rate(base);
        }
        self.settle_until = None;
        let quantum = if quantum.is_finite() && quantum > 0.0 {
            quantum
        } else {
            1.0
        };
        let show_beat = tempo.beats_at(time_s);
        let error_beats = wrap(session.beat - show_beat, quantum);
        let error_s = error_beats * 60.0 / session.tempo_bpm.max(1e-3);
        self.phase_error_s = Some(error_s);
        let starting = std::mem::take(&mut self.starting);
        let slipped = std::mem::take(&mut self.slipped);
        let relocate_s = if starting {
            START_LOCATE_S
        } else if slipped {
            SLIP_LOCATE_S
        } else {
            RELOCATE_S
        };
        if error_s.abs() > relocate_s && show.can_locate {
            // Judged again once the locate is heard, and the heard clock has caught up.
            let settle_s = show.seek_lead_s.clamp(0.0, 2.0) + SETTLE_S;
            self.settle_until = Some(now + Duration::from_secs_f64(settle_s));
            self.state = SyncState::Waiting;
            // Where the session's phase will be when the locate is heard.
            let mut beat = show_beat + error_beats + show.seek_lead_s * session.tempo_bpm / 60.0;
            while beat < 0.0 {
                beat += quantum;
            }
            return LinkMove::Locate {
                time_s: tempo.time_at_beat(beat),
                rate: base,
            };
        }
        self.state = if error_s.abs() <= LOCKED_S {
            SyncState::Locked
        } else {
            SyncState::Waiting
        };
        LinkMove::Rate(base * (1.0 + (error_s / EASE_S).clamp(-MAX_TRIM, MAX_TRIM)))
    }

    pub fn state(&self) -> SyncState {
        self.state
    }

    /// The show's beat less the session's, in ms, as last measured (how the status shows it).
    pub fn offset_ms(&self) -> Option<f64> {
        self.phase_error_s.map(|e| -e * 1e3)
    }

    /// The session's tempo and peers in words, for the status.
    pub fn detail(&self) -> String {
        format!(
            "{:.1} bpm, {} peer{}",
            self.tempo_bpm,
            self.peers,
            if self.peers == 1 { "" } else { "s" }
        )
    }
}

/// Why Link could not be joined.
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkError {
    /// This binary was built without the `link` feature.
    NotBuilt,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotBuilt => write!(
                f,
                "this somnia was built without Ableton Link; build it with \
                 `cargo build --release --features link` (a GPL build: see the README)"
            ),
        }
    }
}

impl std::error::Error for LinkError {}

/// A Link session joined: the library's peer, with its clock read against ours.
pub struct LinkSession {
    #[cfg(feature = "link")]
    link: rusty_link::AblLink,
    #[cfg(feature = "link")]
    state: rusty_link::SessionState,
}

#[cfg(feature = "link")]
impl LinkSession {
    /// Joins (or starts) the session on the local network, proposing `bpm` if alone.
    pub fn join(bpm: f64, settings: LinkSettings) -> Result<Self, LinkError> {
        let link = rusty_link::AblLink::new(bpm);
        link.enable_start_stop_sync(settings.start_stop);
        link.enable(true);
        Ok(Self {
            link,
            state: rusty_link::SessionState::new(),
        })
    }

    /// Link's clock (µs; CLOCK_MONOTONIC_RAW on Linux, not `Instant`'s clock) at `at`.
    fn micros_at(&self, at: Instant) -> i64 {
        let (link_now, now) = (self.link.clock_micros(), Instant::now());
        let ahead = now.saturating_duration_since(at).as_micros() as i64
            - at.saturating_duration_since(now).as_micros() as i64;
        link_now - ahead
    }

    /// The session as of `at`, its beat on a timeline of `quantum` beats.
    pub fn at(&mut self, at: Instant, quantum: f64) -> SessionAt {
        self.link.capture_app_session_state(&mut self.state);
        let t = self.micros_at(at);
        SessionAt {
            tempo_bpm: self.state.tempo(),
            beat: self.state.beat_at_time(t, quantum),
            playing: self.state.is_playing(),
            peers: self.link.num_peers(),
        }
    }

    /// Sets the session's tempo from `at` on.
    pub fn set_tempo(&mut self, bpm: f64, at: Instant) {
        let t = self.micros_at(at);
        self.link.capture_app_session_state(&mut self.state);
        self.state.set_tempo(bpm.clamp(20.0, 999.0), t);
        self.link.commit_app_session_state(&self.state);
    }

    /// Asks for `beat` to fall at `at`: alone, the session's beat is set so; with peers, only
    /// the phase stands and this maps our beat count onto theirs.
    pub fn request_beat(&mut self, beat: f64, at: Instant, quantum: f64) {
        let t = self.micros_at(at);
        self.link.capture_app_session_state(&mut self.state);
        self.state.request_beat_at_time(beat, t, quantum);
        self.link.commit_app_session_state(&self.state);
    }

    /// Starts or stops the session's transport (for the peers that share start/stop).
    pub fn set_playing(&mut self, playing: bool, at: Instant) {
        let t = self.micros_at(at);
        self.link.capture_app_session_state(&mut self.state);
        self.state.set_is_playing(playing, t);
        self.link.commit_app_session_state(&self.state);
    }
}

#[cfg(not(feature = "link"))]
impl LinkSession {
    /// Without the `link` feature there is no Link to join.
    pub fn join(_bpm: f64, _settings: LinkSettings) -> Result<Self, LinkError> {
        Err(LinkError::NotBuilt)
    }

    pub fn at(&mut self, _at: Instant, _quantum: f64) -> SessionAt {
        SessionAt {
            tempo_bpm: 120.0,
            beat: 0.0,
            playing: false,
            peers: 0,
        }
    }

    pub fn set_tempo(&mut self, _bpm: f64, _at: Instant) {}

    pub fn request_beat(&mut self, _beat: f64, _at: Instant, _quantum: f64) {}

    pub fn set_playing(&mut self, _playing: bool, _at: Instant) {}
}

/// Whether this binary can join Link (built with the `link` feature, and so GPL).
pub const BUILT: bool = cfg!(feature = "link");

#[cfg(test)]
mod tests {
    use super::*;

    fn show(time_s: f64) -> ShowAt {
        ShowAt {
            time_s,
            sounding: true,
            seek_lead_s: 0.0,
            can_locate: true,
            underruns: 0,
        }
    }

    fn session(tempo_bpm: f64, beat: f64) -> SessionAt {
        SessionAt {
            tempo_bpm,
            beat,
            playing: true,
            peers: 1,
        }
    }

    #[test]
    fn in_phase_at_the_maps_tempo_the_show_runs_at_its_own_pace_and_is_locked() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        // 10 s at 120 bpm is beat 20; the session is at beat 104 (same phase in a bar of 4).
        let m = f.follow(
            Instant::now(),
            &session(120.0, 104.0),
            &show(10.0),
            &tempo,
            4.0,
        );
        assert_eq!(m, LinkMove::Rate(1.0));
        assert_eq!(f.state(), SyncState::Locked);
        assert_eq!(f.offset_ms(), Some(-0.0));
    }

    #[test]
    fn a_session_at_132_bpm_runs_a_120_bpm_show_a_tenth_fast() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        let LinkMove::Rate(r) = f.follow(
            Instant::now(),
            &session(132.0, 8.0),
            &show(4.0),
            &tempo,
            4.0,
        ) else {
            panic!("no locate in phase")
        };
        assert!((r - 1.1).abs() < 1e-9, "{r}");
    }

    #[test]
    fn a_show_4_ms_behind_runs_0_8_percent_fast_to_catch_up_and_is_not_yet_locked() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        // 4 ms at 120 bpm is 0.008 beats.
        let m = f.follow(
            Instant::now(),
            &session(120.0, 8.008),
            &show(4.0),
            &tempo,
            4.0,
        );
        let LinkMove::Rate(r) = m else {
            panic!("{m:?}")
        };
        assert!((r - 1.008).abs() < 1e-6, "{r}");
        assert!((f.offset_ms().unwrap() + 4.0).abs() < 1e-6);
        assert_eq!(f.state(), SyncState::Waiting);
    }

    #[test]
    fn a_show_half_a_beat_out_locates_to_the_sessions_phase_and_settles_before_judging_again() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        let now = Instant::now();
        // Session at beat 9.5 (bar phase 1.5), the show at beat 8 (phase 0): 1.5 beats behind.
        let s = ShowAt {
            seek_lead_s: 0.05,
            ..show(4.0)
        };
        let m = f.follow(now, &session(120.0, 9.5), &s, &tempo, 4.0);
        // Beat 9.5 plus the 0.1 beat the session moves before the locate is heard.
        assert_eq!(
            m,
            LinkMove::Locate {
                time_s: 4.8,
                rate: 1.0
            }
        );
        let soon = now + Duration::from_millis(100);
        assert_eq!(
            f.follow(soon, &session(120.0, 9.7), &show(4.1), &tempo, 4.0),
            LinkMove::Rate(1.0)
        );
    }

    #[test]
    fn a_show_that_resumes_20_ms_behind_locates_and_afterwards_the_same_error_is_eased() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        let now = Instant::now();
        // 20 ms at 120 bpm is 0.04 beats.
        let behind = |f: &mut LinkFollower, at: Instant| {
            f.follow(at, &session(120.0, 8.04), &show(4.0), &tempo, 4.0)
        };
        assert!(matches!(behind(&mut f, now), LinkMove::Locate { .. }));
        let later = now + Duration::from_secs(1);
        let LinkMove::Rate(r) = behind(&mut f, later) else {
            panic!("a 20 ms error while playing is eased")
        };
        assert!((r - 1.02).abs() < 1e-9, "{r}");
        // Paused, then resumed: located again.
        let paused = ShowAt {
            sounding: false,
            ..show(4.0)
        };
        f.follow(later, &session(120.0, 8.04), &paused, &tempo, 4.0);
        assert!(matches!(
            behind(&mut f, later + Duration::from_secs(1)),
            LinkMove::Locate { .. }
        ));
    }

    #[test]
    fn after_the_sound_card_runs_dry_a_20_ms_slip_is_located_once_the_heard_clock_has_it() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        let now = Instant::now();
        // In phase and playing: nothing to do.
        assert_eq!(
            f.follow(now, &session(120.0, 8.0), &show(4.0), &tempo, 4.0),
            LinkMove::Rate(1.0)
        );
        // The card ran dry: what is heard is 20 ms (0.04 beats) behind. Left alone until the
        // heard clock has the slip...
        let dry = ShowAt {
            underruns: 1,
            ..show(4.0)
        };
        let at = now + Duration::from_secs(1);
        assert_eq!(
            f.follow(at, &session(120.0, 8.04), &dry, &tempo, 4.0),
            LinkMove::Rate(1.0)
        );
        // ...then located at once, where easing would take a second or more.
        let settled = at + Duration::from_millis(60);
        assert!(matches!(
            f.follow(settled, &session(120.0, 8.04), &dry, &tempo, 4.0),
            LinkMove::Locate { .. }
        ));
        // A period's slip (6 ms, 0.012 beats) is eased, as is any error the next time.
        let mut f = LinkFollower::default();
        f.follow(now, &session(120.0, 8.0), &show(4.0), &tempo, 4.0);
        let later = now + Duration::from_secs(1);
        f.follow(later, &session(120.0, 8.012), &dry, &tempo, 4.0);
        let m = f.follow(
            later + Duration::from_millis(60),
            &session(120.0, 8.012),
            &dry,
            &tempo,
            4.0,
        );
        assert!(
            matches!(m, LinkMove::Rate(r) if r > 1.0 && r < 1.02),
            "{m:?}"
        );
    }

    #[test]
    fn the_phase_error_is_taken_the_short_way_round_the_bar() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        // Show at phase 3.995, session at phase 0.0 of the next bar: 0.005 beats behind, not
        // 3.995 ahead.
        let m = f.follow(
            Instant::now(),
            &session(120.0, 12.0),
            &show(5.9975),
            &tempo,
            4.0,
        );
        let LinkMove::Rate(r) = m else {
            panic!("{m:?}")
        };
        assert!(r > 1.0 && r < 1.02, "{r}");
    }

    #[test]
    fn a_kiosk_item_that_cannot_locate_eases_at_the_most_trim() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(120.0, 4);
        let s = ShowAt {
            can_locate: false,
            ..show(4.0)
        };
        let m = f.follow(Instant::now(), &session(120.0, 9.0), &s, &tempo, 4.0);
        assert_eq!(m, LinkMove::Rate(1.0 + MAX_TRIM));
    }

    #[test]
    fn a_paused_show_waits_at_the_sessions_tempo() {
        let mut f = LinkFollower::default();
        let tempo = Tempo::constant(100.0, 4);
        let s = ShowAt {
            sounding: false,
            ..show(1.0)
        };
        let m = f.follow(Instant::now(), &session(150.0, 3.0), &s, &tempo, 4.0);
        assert_eq!(m, LinkMove::Rate(1.5));
        assert_eq!(f.state(), SyncState::Waiting);
        assert_eq!(f.offset_ms(), None);
    }

    #[test]
    fn the_show_shares_a_tempo_asked_for_and_the_maps_changes_but_not_its_first_look() {
        let mut f = LinkFollower::default();
        let mut tempo = Tempo::constant(120.0, 4);
        tempo.change_at_beat(16.0, 90.0);
        assert_eq!(f.tempo_to_share(None, &tempo, 1.0), None, "joining adopts");
        assert_eq!(f.tempo_to_share(None, &tempo, 7.0), None);
        assert_eq!(
            f.tempo_to_share(None, &tempo, 8.5),
            Some(90.0),
            "the map moved"
        );
        assert_eq!(f.tempo_to_share(None, &tempo, 9.0), None);
        assert_eq!(f.tempo_to_share(Some(133.0), &tempo, 9.5), Some(133.0));
    }

    #[test]
    fn without_the_feature_joining_says_how_to_build_it() {
        if !BUILT {
            let e = LinkSession::join(120.0, LinkSettings::default())
                .err()
                .unwrap();
            assert!(e.to_string().contains("--features link"), "{e}");
        }
    }
}
