//! The sync thread's side of an Ableton Link session: each look (every 10 ms) captures the
//! session, shares the show's tempo changes with it, carries start/stop both ways when asked,
//! gives the session's tempo to the engine's tempo-synced effects, and carries out what the
//! [`LinkFollower`] says through the transport's show rate or a locate.

use std::time::{Duration, Instant};

use super::link::{LinkFollower, LinkMove, LinkSession, LinkSettings, ShowAt};
use super::{seek_lead_s, show_clock};
use crate::bridge::{ShowCommand, SyncReport};
use crate::control::intent::{Intent, Steering};

/// A Link session followed: the session, the follower, and what was last told either way.
pub(super) struct LinkIn {
    session: LinkSession,
    follower: LinkFollower,
    settings: LinkSettings,
    can_locate: bool,
    joined: bool,
    /// The session's tempo as last given to the engine (its tempo-synced delay and glitch),
    /// and until when that stands.
    engine_bpm: f64,
    engine_told_until: Instant,
    /// The tempo last logged.
    told_bpm: f64,
    /// The session's transport as last seen, and the show's pause as last seen (start/stop).
    session_playing: Option<bool>,
    show_paused: bool,
    /// A pause (true) or resume asked of the show for the session, until when to wait for it.
    commanded: Option<(bool, Instant)>,
    pub(super) next: Instant,
}

impl LinkIn {
    pub(super) fn new(session: LinkSession, settings: LinkSettings, can_locate: bool) -> Self {
        Self {
            session,
            follower: LinkFollower::default(),
            settings,
            can_locate,
            joined: false,
            engine_bpm: 0.0,
            engine_told_until: Instant::now(),
            told_bpm: 0.0,
            session_playing: None,
            show_paused: false,
            commanded: None,
            next: Instant::now(),
        }
    }

    /// Holds the show to the session at `now`: tempo both ways, start/stop, phase.
    pub(super) fn tick(
        &mut self,
        now: Instant,
        steering: &Steering,
        tempo: &crate::clock::Tempo,
        origin_s: f64,
    ) {
        let transport = &steering.sink.transport;
        let clock = show_clock(transport, now);
        let time_s = clock.show_s - origin_s;
        let quantum = f64::from(tempo.beats_per_bar.max(1));
        let asked = transport.take_tempo_request();
        let paused = transport.is_pause_requested();
        let mut session = self.session.at(now, quantum);
        if !self.joined {
            if !clock.playing && session.peers == 0 {
                // Alone, the session starts from the show once its sound runs.
                return;
            }
            self.joined = true;
            self.follower.tempo_to_share(None, tempo, time_s);
            self.show_paused = paused;
            if session.peers == 0 {
                // Alone, the session starts from the show: its tempo, its beat, its transport.
                self.session.set_tempo(tempo.bpm_at(time_s.max(0.0)), now);
                self.session
                    .request_beat(tempo.beats_at(time_s.max(0.0)), now, quantum);
                if self.settings.start_stop {
                    self.session.set_playing(!paused, now);
                }
                session = self.session.at(now, quantum);
            }
        } else if let Some(bpm) = self.follower.tempo_to_share(asked, tempo, time_s) {
            self.session.set_tempo(bpm, now);
            session = self.session.at(now, quantum);
        }
        if self.settings.start_stop {
            // A pause or resume asked of the show takes a moment to show in the transport.
            let waiting = self
                .commanded
                .is_some_and(|(want, until)| paused != want && now < until);
            if !waiting {
                self.commanded = None;
                if paused != self.show_paused {
                    // The show was paused or resumed here: the peers stop or start with it.
                    self.session.set_playing(!paused, now);
                    session.playing = !paused;
                } else if self.session_playing != Some(session.playing) && session.playing == paused
                {
                    // A peer started or stopped the session: the show follows.
                    let command = if session.playing {
                        ShowCommand::Resume
                    } else {
                        ShowCommand::Pause
                    };
                    steering.carry_out(Intent::Show(command), now);
                    self.commanded = Some((!session.playing, now + Duration::from_millis(500)));
                }
                self.show_paused = self.commanded.map_or(paused, |(want, _)| want);
            }
            self.session_playing = Some(session.playing);
        }
        // Told again now and then: a locate or a cue brings the performance's own tempo back
        // to the engine's delay and glitch.
        if (session.tempo_bpm - self.engine_bpm).abs() > 1e-3 || now >= self.engine_told_until {
            self.engine_bpm = session.tempo_bpm;
            self.engine_told_until = now + Duration::from_millis(500);
            steering.sink.engine(&[crate::bridge::Event {
                at_sample: 0,
                kind: crate::bridge::EventKind::SetParam {
                    param: crate::bridge::AudioParam::TempoBpm,
                    value: session.tempo_bpm as f32,
                    ramp_samples: 0,
                    curve: crate::bridge::Curve::Linear,
                },
            }]);
            if (session.tempo_bpm - self.told_bpm).abs() >= 0.5 {
                self.told_bpm = session.tempo_bpm;
                tracing::info!(
                    "somnia: following Link at {:.1} bpm ({} peer{})",
                    session.tempo_bpm,
                    session.peers,
                    if session.peers == 1 { "" } else { "s" }
                );
            }
        }
        let show = ShowAt {
            time_s,
            sounding: clock.playing,
            seek_lead_s: seek_lead_s(transport, now),
            can_locate: self.can_locate,
            underruns: transport.underruns(),
        };
        match self.follower.follow(now, &session, &show, tempo, quantum) {
            LinkMove::Rate(rate) => transport.set_show_rate(rate),
            LinkMove::Locate { time_s, rate } => {
                let off_ms = self.follower.offset_ms().unwrap_or(0.0);
                tracing::info!(
                    "somnia: {:.0} ms {} Link's phase (at {:.3} s, session beat {:.3}): \
                     locating to {time_s:.3} s",
                    off_ms.abs(),
                    if off_ms < 0.0 { "behind" } else { "ahead of" },
                    show.time_s,
                    session.beat,
                );
                transport.set_show_rate(rate);
                steering.carry_out(Intent::Show(ShowCommand::Seek(time_s + origin_s)), now);
            }
        }
    }

    pub(super) fn report(&self) -> SyncReport {
        SyncReport {
            name: "link",
            state: self.follower.state(),
            offset: self.follower.offset_ms(),
            detail: self.follower.detail(),
        }
    }
}
