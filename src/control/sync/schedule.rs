//! What the sync outputs send and when: MIDI clock (24 a quarter note, start, stop, continue,
//! song position on a locate) and MTC (quarter frames while playing, a full frame on every
//! locate and stop), planned from the show's *heard* time so the messages leave as the sound
//! they belong to reaches the room. Pure: the sync thread feeds it the show's time and sends
//! what it returns.
//!
//! Beats follow the performance's tempo map from its start; inside a loop region the clock
//! counts on (a song position pointer is sent when the loop jumps back, as for any locate).

use std::time::{Duration, Instant};

use crate::clock::Tempo;
use crate::clock::timecode::{FrameRate, Timecode};

use super::mtc;

/// A message and the moment it should leave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timed {
    pub at: Instant,
    pub len: u8,
    pub bytes: [u8; 10],
}

impl Timed {
    fn new(at: Instant, bytes: &[u8]) -> Self {
        let mut b = [0; 10];
        let len = bytes.len().min(10);
        b[..len].copy_from_slice(&bytes[..len]);
        Self {
            at,
            len: len as u8,
            bytes: b,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// What to send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutSettings {
    pub clock: bool,
    pub mtc: bool,
    pub rate: FrameRate,
    /// Seconds of timecode at the show's time 0.
    pub offset_s: f64,
}

/// The show as the sync thread sees it at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShowClock {
    pub now: Instant,
    /// Heard show time at `now`, seconds.
    pub show_s: f64,
    pub playing: bool,
}

/// The planner.
#[derive(Clone, Debug)]
pub struct OutPlanner {
    settings: OutSettings,
    last: Option<ShowClock>,
    /// The next clock tick's number (24 a beat) and the next quarter frame's (4 a frame).
    next_tick: u64,
    next_quarter: u64,
    /// Where the tempo map's 0 is on the show clock (a kiosk item's start).
    origin_s: f64,
    /// Whether the last poll located (what was planned before it is stale).
    located: bool,
}

/// A jump in the show's time bigger than this is a locate.
const JUMP_S: f64 = 0.05;

impl OutPlanner {
    pub fn new(settings: OutSettings) -> Self {
        Self {
            settings,
            last: None,
            next_tick: 0,
            next_quarter: 0,
            origin_s: 0.0,
            located: false,
        }
    }

    /// Whether the last poll found the show somewhere else (a seek, a stop, a loop's jump):
    /// messages planned before it and not yet sent belong to the old place.
    pub fn located(&self) -> bool {
        self.located
    }

    /// The tempo map counts from `origin_s` on the show clock.
    pub fn set_origin(&mut self, origin_s: f64) {
        self.origin_s = origin_s;
    }

    /// Timecode seconds at show time `show_s`.
    fn timecode_s(&self, show_s: f64) -> f64 {
        show_s + self.settings.offset_s
    }

    /// Quarter frames are numbered from 00:00:00:00.
    fn quarter_at(&self, show_s: f64) -> f64 {
        self.timecode_s(show_s) * self.settings.rate.fps() * 4.0
    }

    fn locate_messages(&mut self, c: &ShowClock, tempo: &Tempo, out: &mut Vec<Timed>) {
        self.located = true;
        let beats = tempo.beats_at((c.show_s - self.origin_s).max(0.0));
        if self.settings.clock {
            // Song position in sixteenths, at or before the place (the next tick lands on it).
            let sixteenths = (beats * 4.0).floor().clamp(0.0, 16383.0) as u16;
            out.push(Timed::new(
                c.now,
                &[0xF2, (sixteenths & 0x7F) as u8, (sixteenths >> 7) as u8],
            ));
            self.next_tick = u64::from(sixteenths) * 6;
        }
        if self.settings.mtc {
            let tc = Timecode::at_seconds(self.timecode_s(c.show_s), self.settings.rate);
            out.push(Timed::new(c.now, &mtc::full_frame(tc, self.settings.rate)));
        }
        self.next_quarter = self.quarter_at(c.show_s).ceil().max(0.0) as u64;
    }

    /// Everything to send from `c.now` to `c.now + horizon`, given the show's clock now.
    pub fn poll(&mut self, c: ShowClock, tempo: &Tempo, horizon: Duration) -> Vec<Timed> {
        let mut out = Vec::new();
        self.located = false;
        match self.last {
            None => {
                if self.settings.clock && c.playing && c.show_s < JUMP_S {
                    out.push(Timed::new(c.now, &[0xFA]));
                    self.next_tick = 0;
                    self.next_quarter = self.quarter_at(c.show_s).ceil().max(0.0) as u64;
                } else {
                    self.locate_messages(&c, tempo, &mut out);
                    if self.settings.clock && c.playing {
                        out.push(Timed::new(c.now, &[0xFB]));
                    }
                }
            }
            Some(last) => {
                let elapsed = c.now.saturating_duration_since(last.now).as_secs_f64();
                let expected = last.show_s + if last.playing { elapsed } else { 0.0 };
                let jumped = (c.show_s - expected).abs() > JUMP_S;
                if last.playing && !c.playing {
                    if self.settings.clock {
                        out.push(Timed::new(c.now, &[0xFC]));
                    }
                    self.locate_messages(&c, tempo, &mut out);
                } else if jumped {
                    self.locate_messages(&c, tempo, &mut out);
                }
                if !last.playing && c.playing && self.settings.clock {
                    let from_top = c.show_s < JUMP_S;
                    if from_top {
                        self.next_tick = 0;
                    }
                    out.push(Timed::new(c.now, &[if from_top { 0xFA } else { 0xFB }]));
                }
            }
        }
        self.last = Some(c);
        if !c.playing {
            return out;
        }
        let until_s = c.show_s + horizon.as_secs_f64();
        let when = |show_s: f64| c.now + Duration::from_secs_f64((show_s - c.show_s).max(0.0));
        // A message more than this late is skipped rather than sent in a bunch.
        let late_s = 0.002;
        if self.settings.clock {
            loop {
                let t = tempo.time_at_beat(self.next_tick as f64 / 24.0) + self.origin_s;
                if t > until_s {
                    break;
                }
                if t >= c.show_s - late_s {
                    out.push(Timed::new(when(t), &[0xF8]));
                }
                self.next_tick += 1;
            }
        }
        if self.settings.mtc {
            let fps4 = self.settings.rate.fps() * 4.0;
            loop {
                let q = self.next_quarter;
                let t = q as f64 / fps4 - self.settings.offset_s;
                if t > until_s {
                    break;
                }
                if t >= c.show_s - late_s {
                    let piece = (q % 8) as u8;
                    let label =
                        Timecode::from_frame_count((q - u64::from(piece)) / 4, self.settings.rate);
                    out.push(Timed::new(
                        when(t),
                        &mtc::quarter_frame(piece, label, self.settings.rate),
                    ));
                }
                self.next_quarter += 1;
            }
        }
        out.sort_by_key(|t| t.at);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planner(clock: bool, mtc: bool) -> OutPlanner {
        OutPlanner::new(OutSettings {
            clock,
            mtc,
            rate: FrameRate::Fps25,
            offset_s: 0.0,
        })
    }

    /// Runs the planner over `seconds` in 5 ms steps of a playing show from `from_s`.
    fn run(p: &mut OutPlanner, t0: Instant, from_s: f64, seconds: f64) -> Vec<Timed> {
        let tempo = Tempo::constant(120.0, 4);
        let mut out = Vec::new();
        let steps = (seconds / 0.005) as u32;
        for i in 0..steps {
            let dt = f64::from(i) * 0.005;
            out.extend(p.poll(
                ShowClock {
                    now: t0 + Duration::from_secs_f64(dt),
                    show_s: from_s + dt,
                    playing: true,
                },
                &tempo,
                Duration::from_millis(10),
            ));
        }
        out
    }

    #[test]
    fn a_show_from_the_top_sends_start_then_24_evenly_spaced_ticks_a_beat() {
        let mut p = planner(true, false);
        let t0 = Instant::now();
        let out = run(&mut p, t0, 0.0, 1.0);
        assert_eq!(out[0].bytes(), [0xFA]);
        let ticks: Vec<f64> = out
            .iter()
            .filter(|t| t.bytes() == [0xF8])
            .map(|t| t.at.duration_since(t0).as_secs_f64())
            .filter(|t| *t < 1.0 - 1e-9)
            .collect();
        // 120 bpm: two beats a second, 48 ticks, 1/48 s apart, the first at 0.
        assert_eq!(ticks.len(), 48, "{ticks:?}");
        for (i, t) in ticks.iter().enumerate() {
            assert!((t - i as f64 / 48.0).abs() < 1e-6, "{i}: {t}");
        }
    }

    #[test]
    fn quarter_frames_run_in_order_and_a_locate_sends_a_full_frame_and_song_position() {
        let mut p = planner(true, true);
        let t0 = Instant::now();
        let out = run(&mut p, t0, 10.0, 0.5);
        // Not from the top: song position, full frame, continue first.
        assert_eq!(out[0].bytes()[0], 0xF2);
        assert_eq!(
            out[1].bytes(),
            mtc::full_frame("00:00:10:00".parse().unwrap(), FrameRate::Fps25)
        );
        let pieces: Vec<u8> = out
            .iter()
            .filter(|t| t.bytes()[0] == 0xF1 && t.at < t0 + Duration::from_millis(500))
            .map(|t| t.bytes()[1] >> 4)
            .collect();
        assert_eq!(pieces.len(), 50, "a hundred a second at 25 fps");
        assert!(
            pieces
                .iter()
                .enumerate()
                .all(|(i, p)| usize::from(*p) == i % 8)
        );
        // Reassembled, the quarter frames say where the show was.
        let mut reader = mtc::MtcReader::default();
        let mut last = None;
        for t in out.iter().filter(|t| t.bytes()[0] == 0xF1) {
            if let Some((frames, _)) =
                reader.quarter(t.bytes()[1], t.at.duration_since(t0).as_secs_f64())
            {
                let at_s = 10.0 + t.at.duration_since(t0).as_secs_f64();
                assert!((frames / 25.0 - at_s).abs() < 1e-6, "{frames} at {at_s}");
                last = Some(frames);
            }
        }
        assert!(last.is_some());
        // A jump to 30 s: song position for beat 60 (240 sixteenths) and a full frame.
        let t1 = t0 + Duration::from_millis(600);
        let jump = p.poll(
            ShowClock {
                now: t1,
                show_s: 30.0,
                playing: true,
            },
            &Tempo::constant(120.0, 4),
            Duration::from_millis(10),
        );
        assert_eq!(jump[0].bytes(), [0xF2, 240 & 0x7F, 240 >> 7]);
        assert_eq!(
            jump[1].bytes(),
            mtc::full_frame("00:00:30:00".parse().unwrap(), FrameRate::Fps25)
        );
    }

    #[test]
    fn a_pause_sends_stop_and_a_resume_continue() {
        let mut p = planner(true, false);
        let t0 = Instant::now();
        let tempo = Tempo::constant(120.0, 4);
        run(&mut p, t0, 0.0, 0.2);
        let c = |ms: u64, show_s: f64, playing: bool| ShowClock {
            now: t0 + Duration::from_millis(ms),
            show_s,
            playing,
        };
        let stop = p.poll(c(200, 0.2, false), &tempo, Duration::ZERO);
        assert_eq!(stop[0].bytes(), [0xFC]);
        assert!(
            p.poll(c(500, 0.2, false), &tempo, Duration::ZERO)
                .is_empty()
        );
        let go = p.poll(c(700, 0.2, true), &tempo, Duration::ZERO);
        assert_eq!(go[0].bytes(), [0xFB]);
    }
}
