//! Feeds a timeline to the audio thread. The timeline's actions are stamped with samples
//! and pushed into the bounded event FIFO a little ahead of the clock; the engine applies each
//! at its exact sample. Live, a control thread calls [`Scheduler::feed`] every few
//! milliseconds; offline, the render loop calls it before each block. Same code either way.

use super::timeline::{AudioAction, Timeline};
use crate::bridge::{Event, EventKind};
use crate::clock::seconds_to_samples;

pub struct Scheduler {
    events: Vec<Event>,
    next: usize,
}

impl Scheduler {
    /// The timeline's events, on the show clock from its `origin_s` (0 but for a kiosk's item).
    pub fn new(timeline: &Timeline, sample_rate_hz: u32) -> Self {
        // A kiosk's item resumed after a restart started before the clock did: what would
        // have come before sample 0 is gone.
        let origin = (timeline.origin_s * f64::from(sample_rate_hz)).round() as i64;
        let events = timeline
            .audio
            .iter()
            .filter_map(|c| {
                let at = origin + seconds_to_samples(c.time_s, sample_rate_hz) as i64;
                Some((u64::try_from(at).ok()?, c))
            })
            .map(|(at_sample, c)| Event {
                at_sample,
                kind: match c.action {
                    AudioAction::NoteOn { note, velocity } => EventKind::NoteOn { note, velocity },
                    AudioAction::NoteOff { note } => EventKind::NoteOff { note },
                    AudioAction::Param {
                        param,
                        value,
                        ramp_s,
                        curve,
                    } => EventKind::SetParam {
                        curve,
                        param,
                        value,
                        ramp_samples: seconds_to_samples(ramp_s, sample_rate_hz)
                            .min(u32::MAX as u64) as u32,
                    },
                    AudioAction::Patch(p) => EventKind::SetPatch(p),
                    AudioAction::AllNotesOff => EventKind::AllNotesOff,
                },
            })
            .collect();
        Self { events, next: 0 }
    }

    /// Pushes every pending event stamped before `until_sample`, as far as the queue has room.
    /// Events that do not fit stay pending for the next call. Returns how many were pushed.
    pub fn feed(&mut self, until_sample: u64, tx: &mut rtrb::Producer<Event>) -> usize {
        let start = self.next;
        while let Some(ev) = self.events.get(self.next) {
            if ev.at_sample >= until_sample || tx.push(*ev).is_err() {
                break;
            }
            self.next += 1;
        }
        self.next - start
    }

    /// A scheduler for a timeline that differs from `old`'s by cues just fired (a GO): events
    /// from `now_sample` up to where `old` got that `old` did not queue are queued now (the
    /// engine applies any whose sample has passed at once, and counts them late); after that
    /// it feeds as usual. Events `old` queued are not queued twice.
    pub fn take_over(
        timeline: &Timeline,
        sample_rate_hz: u32,
        old: &Scheduler,
        now_sample: u64,
        tx: &mut rtrb::Producer<Event>,
    ) -> Self {
        let mut new = Self::new(timeline, sample_rate_hz);
        let until = old.events.get(old.next).map_or(u64::MAX, |e| e.at_sample);
        let queued_from = old.events[..old.next].partition_point(|e| e.at_sample < now_sample);
        let mut queued: Vec<Event> = old.events[queued_from..old.next].to_vec();
        let start = new.events.partition_point(|e| e.at_sample < now_sample);
        let split = new.events.partition_point(|e| e.at_sample < until);
        for ev in &new.events[start..split.max(start)] {
            match queued.iter().position(|q| q == ev) {
                Some(i) => {
                    queued.swap_remove(i);
                }
                None => {
                    let _ = tx.push(*ev);
                }
            }
        }
        new.next = split;
        new
    }

    /// Drops every event stamped before `sample` (a reloaded show picks up where it is).
    pub fn skip_until(&mut self, sample: u64) {
        self.next = self.events.partition_point(|e| e.at_sample < sample);
    }

    pub fn is_done(&self) -> bool {
        self.next >= self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::event_queue;
    use crate::clock::Tempo;
    use crate::show::timeline::AudioCue;

    fn timeline(times: &[f64]) -> Timeline {
        Timeline {
            title: "t".into(),
            symphony: false,
            tempo: Tempo::default(),
            duration_s: 10.0,
            presets: vec![],
            fade_styles: vec![],
            initial_patch: Default::default(),
            master: Default::default(),
            audio: times
                .iter()
                .map(|t| AudioCue {
                    time_s: *t,
                    action: AudioAction::NoteOn {
                        note: 60,
                        velocity: 1.0,
                    },
                })
                .collect(),
            switches: vec![],
            changes: vec![],
            dreamers: vec![],
            captions: vec![],
            cues: vec![],
            loops: vec![],
            origin_s: 0.0,
            before: None,
            unity: 1.0,
        }
    }

    #[test]
    fn only_events_before_the_horizon_are_sent() {
        let mut s = Scheduler::new(&timeline(&[0.0, 0.5, 1.0]), 48_000);
        let (mut tx, mut rx) = event_queue(16);
        assert_eq!(s.feed(24_001, &mut tx), 2);
        assert_eq!(rx.pop().unwrap().at_sample, 0);
        assert_eq!(rx.pop().unwrap().at_sample, 24_000);
        assert!(!s.is_done());
        assert_eq!(s.feed(u64::MAX, &mut tx), 1);
        assert!(s.is_done());
    }

    #[test]
    fn taking_over_queues_only_what_the_old_schedule_did_not() {
        let old_tl = timeline(&[0.0, 0.5, 2.0]);
        let mut old = Scheduler::new(&old_tl, 48_000);
        let (mut tx, mut rx) = event_queue(16);
        old.feed(48_000, &mut tx); // 0.0 and 0.5 queued
        while rx.pop().is_ok() {}
        // A GO adds an event at 0.75 s, inside what was already queued up to.
        let new_tl = timeline(&[0.0, 0.5, 0.75, 2.0]);
        let mut new = Scheduler::take_over(&new_tl, 48_000, &old, 12_000, &mut tx);
        assert_eq!(rx.pop().unwrap().at_sample, 36_000);
        assert!(rx.pop().is_err(), "0.5 s was queued already");
        assert_eq!(new.feed(u64::MAX, &mut tx), 1);
        assert_eq!(rx.pop().unwrap().at_sample, 96_000);
    }

    #[test]
    fn skipping_drops_only_the_events_before_the_sample() {
        let mut s = Scheduler::new(&timeline(&[0.0, 0.5, 1.0]), 48_000);
        s.skip_until(24_000);
        let (mut tx, mut rx) = event_queue(16);
        assert_eq!(s.feed(u64::MAX, &mut tx), 2);
        assert_eq!(rx.pop().unwrap().at_sample, 24_000);
    }

    #[test]
    fn a_full_queue_keeps_events_pending_instead_of_losing_them() {
        let mut s = Scheduler::new(&timeline(&[0.0, 0.1, 0.2, 0.3]), 48_000);
        let (mut tx, mut rx) = event_queue(2);
        assert_eq!(s.feed(u64::MAX, &mut tx), 2);
        assert_eq!(rx.pop().unwrap().at_sample, 0);
        assert_eq!(rx.pop().unwrap().at_sample, 4_800);
        // The two that did not fit come next, neither lost nor sent twice.
        assert_eq!(s.feed(u64::MAX, &mut tx), 2);
        assert_eq!(rx.pop().unwrap().at_sample, 9_600);
        assert_eq!(rx.pop().unwrap().at_sample, 14_400);
        assert!(s.is_done());
    }
}
