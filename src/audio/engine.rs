//! The audio engine: one `process` call renders one block. Events are applied at their exact
//! sample; between events the block is rendered in short chunks aligned to absolute sample
//! positions, so the output does not depend on the block size the device asks for.

use super::limiter::{Limiter, db_to_gain};
use super::synth::{MAX_VOICES, Patch, SvfCoefs, Voice};
use crate::bridge::{Analysis, AudioParam, Event, EventKind};

/// Control-rate chunk length. Filter coefficients and parameter ramps update at chunk
/// boundaries, which sit on absolute multiples of this many samples.
pub const CHUNK: usize = 32;

/// The shortest ramp any parameter change gets, so a jump never clicks.
const MIN_RAMP_S: f32 = 0.01;

/// Fade applied when the transport pauses or resumes, so pausing never clicks.
const TRANSPORT_FADE_S: f32 = 0.01;

/// A linearly ramped parameter value.
#[derive(Clone, Copy, Debug, Default)]
struct Ramp {
    value: f32,
    target: f32,
    step: f32,
    remaining: u32,
}

impl Ramp {
    fn new(value: f32) -> Self {
        Self {
            value,
            target: value,
            step: 0.0,
            remaining: 0,
        }
    }

    fn set(&mut self, target: f32, samples: u32) {
        self.target = target;
        self.remaining = samples.max(1);
        self.step = (target - self.value) / self.remaining as f32;
    }

    /// Advances `n` samples and returns the new value. The value is derived from the integer
    /// count of samples left, so advancing 10 then 22 gives exactly what advancing 32 gives:
    /// the output cannot depend on how the device splits blocks.
    fn advance(&mut self, n: u32) -> f32 {
        if self.remaining > n {
            self.remaining -= n;
            self.value = self.target - self.step * self.remaining as f32;
        } else {
            self.remaining = 0;
            self.value = self.target;
        }
        self.value
    }

    /// The value `n` samples from now, without advancing.
    fn value_after(&self, n: u32) -> f32 {
        if self.remaining > n {
            self.target - self.step * (self.remaining - n) as f32
        } else {
            self.target
        }
    }
}

/// Control values held for one control segment: from an aligned chunk boundary or an event
/// to the next aligned boundary. A block boundary inside a segment does not start a new one.
#[derive(Clone, Copy, Debug, Default)]
struct Segment {
    start: u64,
    len: u32,
    coefs: SvfCoefs,
    gain_start: f32,
    gain_end: f32,
}

/// The real-time synth engine. Build it on a control thread, move it into the audio
/// callback (or the offline loop), and call [`Engine::process`].
pub struct Engine {
    sample_rate_hz: u32,
    position: u64,
    voices: [Voice; MAX_VOICES],
    patch: Patch,
    note_order: u64,
    params: [Ramp; AudioParam::ALL.len()],
    events: rtrb::Consumer<Event>,
    limiter: Limiter,
    left: [f32; CHUNK],
    right: [f32; CHUNK],
    transport_gain: f32,
    halted: bool,
    analysis: Analysis,
    late_events: u64,
    segment: Segment,
    /// An event took effect at the current position: control values must be recomputed.
    control_dirty: bool,
}

impl Engine {
    pub fn new(sample_rate_hz: u32, patch: Patch, events: rtrb::Consumer<Event>) -> Self {
        let mut params = [Ramp::default(); AudioParam::ALL.len()];
        for p in AudioParam::ALL {
            params[p.index()] = Ramp::new(patch_value(&patch, p));
        }
        Self {
            sample_rate_hz,
            position: 0,
            voices: [Voice::default(); MAX_VOICES],
            patch,
            note_order: 0,
            params,
            events,
            limiter: Limiter::new(Limiter::DEFAULT_CEILING_DB, 0.08, sample_rate_hz),
            left: [0.0; CHUNK],
            right: [0.0; CHUNK],
            transport_gain: 1.0,
            halted: false,
            analysis: Analysis::default(),
            late_events: 0,
            segment: Segment::default(),
            control_dirty: true,
        }
    }

    /// Turns the safety limiter off. Only for measurement; performances keep it on.
    pub fn disable_limiter(&mut self) {
        self.limiter.set_enabled(false);
    }

    /// The sample position of the next block: the master clock.
    pub fn position_samples(&self) -> u64 {
        self.position
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// RMS and peak of the last block rendered.
    pub fn analysis(&self) -> Analysis {
        self.analysis
    }

    /// Events that arrived after their sample had passed (applied at once), since the last call.
    pub fn take_late_events(&mut self) -> u64 {
        std::mem::take(&mut self.late_events)
    }

    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| v.is_active()).count()
    }

    /// Renders `out.len() / 2` interleaved stereo frames. With `paused` set the output fades
    /// to silence within 10 ms and the clock stops; clearing it fades back in.
    ///
    /// Real-time safe: no allocation, no locks, no I/O.
    pub fn process(&mut self, out: &mut [f32], paused: bool) {
        let frames = out.len() / 2;
        let mut sum_sq = 0.0f32;
        let mut peak = 0.0f32;
        if !paused {
            self.halted = false;
        }
        let mut i = 0;
        while i < frames {
            if self.halted {
                out[2 * i..].fill(0.0);
                break;
            }
            self.apply_due_events();
            let to_boundary = CHUNK - (self.position % CHUNK as u64) as usize;
            let mut n = (frames - i).min(to_boundary);
            if let Ok(ev) = self.events.peek() {
                let until = ev.at_sample.saturating_sub(self.position) as usize;
                n = n.min(until.max(1));
            }
            let chunk = &mut out[2 * i..2 * (i + n)];
            let (s, p) = self.render_chunk(chunk, n, paused);
            sum_sq += s;
            peak = peak.max(p);
            self.position += n as u64;
            i += n;
        }
        if let Some(tail) = out.get_mut(2 * frames..) {
            tail.fill(0.0);
        }
        let rms = if frames > 0 {
            (sum_sq / (2 * frames) as f32).sqrt()
        } else {
            0.0
        };
        self.analysis = Analysis { rms, peak };
    }

    fn apply_due_events(&mut self) {
        while let Ok(ev) = self.events.peek() {
            if ev.at_sample > self.position {
                break;
            }
            let ev = *ev;
            let _ = self.events.pop();
            if ev.at_sample < self.position {
                self.late_events += 1;
            }
            self.apply(ev.kind);
            self.control_dirty = true;
        }
    }

    fn apply(&mut self, kind: EventKind) {
        let sr = self.sample_rate_hz as f32;
        let min_ramp = (MIN_RAMP_S * sr) as u32;
        match kind {
            EventKind::NoteOn { note, velocity } => {
                if velocity <= 0.0 {
                    self.release_note(note);
                    return;
                }
                let slot = self.pick_voice();
                self.note_order += 1;
                let mut patch = self.patch;
                patch.detune_cents = self.params[AudioParam::DetuneCents.index()].target;
                self.voices[slot].start(note.min(127), velocity, &patch, self.note_order, sr);
            }
            EventKind::NoteOff { note } => self.release_note(note),
            EventKind::SetParam {
                param,
                value,
                ramp_samples,
            } => {
                let (lo, hi) = param.range();
                let v = if value.is_finite() {
                    value.clamp(lo, hi)
                } else {
                    lo
                };
                self.params[param.index()].set(v, ramp_samples.max(min_ramp));
            }
            EventKind::SetPatch(patch) => {
                self.patch = patch;
                for p in AudioParam::ALL {
                    self.params[p.index()].set(patch_value(&patch, p), min_ramp);
                }
            }
            EventKind::AllNotesOff => {
                for v in self.voices.iter_mut() {
                    v.release();
                }
            }
        }
    }

    fn release_note(&mut self, note: u8) {
        for v in self.voices.iter_mut() {
            if v.note == note && v.is_active() && !v.is_released() {
                v.release();
            }
        }
    }

    /// Chooses a voice for a new note: an idle one while under the patch's polyphony,
    /// else steal the oldest released voice, else the oldest voice.
    fn pick_voice(&self) -> usize {
        let limit = usize::from(self.patch.voices).clamp(1, MAX_VOICES);
        let active = self.active_voices();
        if active < limit {
            if let Some(i) = self.voices.iter().position(|v| !v.is_active()) {
                return i;
            }
        }
        let oldest = |released: bool| {
            self.voices
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_active() && (!released || v.is_released()))
                .min_by_key(|(_, v)| v.started)
                .map(|(i, _)| i)
        };
        oldest(true).or_else(|| oldest(false)).unwrap_or(0)
    }

    /// Renders `n <= CHUNK` frames into `out` (interleaved). Returns (sum of squares, peak).
    fn render_chunk(&mut self, out: &mut [f32], n: usize, paused: bool) -> (f32, f32) {
        let sr = self.sample_rate_hz as f32;
        let offset = (self.position % CHUNK as u64) as u32;
        if offset == 0 || self.control_dirty {
            let len = CHUNK as u32 - offset;
            let gain = &self.params[AudioParam::GainDb.index()];
            self.segment = Segment {
                start: self.position,
                len,
                coefs: SvfCoefs::lowpass(
                    self.params[AudioParam::CutoffHz.index()].value,
                    self.params[AudioParam::Resonance.index()].value,
                    sr,
                ),
                gain_start: db_to_gain(gain.value),
                gain_end: db_to_gain(gain.value_after(len)),
            };
            self.control_dirty = false;
        }
        let seg = self.segment;
        let coefs = seg.coefs;
        let seg_offset = (self.position - seg.start) as f32;
        for p in AudioParam::ALL {
            self.params[p.index()].advance(n as u32);
        }

        let (left, right) = (&mut self.left[..n], &mut self.right[..n]);
        left.fill(0.0);
        right.fill(0.0);
        for v in self.voices.iter_mut().filter(|v| v.is_active()) {
            v.render_add(left, right, coefs);
        }

        let fade_step = 1.0 / (TRANSPORT_FADE_S * sr);
        let target = if paused { 0.0 } else { 1.0 };
        let mut sum_sq = 0.0;
        let mut peak = 0.0f32;
        for k in 0..n {
            let g = seg.gain_start
                + (seg.gain_end - seg.gain_start) * ((seg_offset + k as f32) / seg.len as f32);
            if self.transport_gain < target {
                self.transport_gain = (self.transport_gain + fade_step).min(1.0);
            } else if self.transport_gain > target {
                self.transport_gain = (self.transport_gain - fade_step).max(0.0);
            }
            let mut l = left[k] * g * self.transport_gain;
            let mut r = right[k] * g * self.transport_gain;
            self.limiter.process(&mut l, &mut r);
            out[2 * k] = l;
            out[2 * k + 1] = r;
            sum_sq += l * l + r * r;
            peak = peak.max(l.abs()).max(r.abs());
        }
        if paused && self.transport_gain <= 0.0 {
            self.halted = true;
        }
        (sum_sq, peak)
    }
}

fn patch_value(patch: &Patch, p: AudioParam) -> f32 {
    match p {
        AudioParam::CutoffHz => patch.cutoff_hz,
        AudioParam::Resonance => patch.resonance,
        AudioParam::GainDb => patch.gain_db,
        AudioParam::DetuneCents => patch.detune_cents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::event_queue;

    fn engine_with(events: &[Event]) -> Engine {
        let (mut tx, rx) = event_queue(256);
        for e in events {
            tx.push(*e).unwrap();
        }
        Engine::new(48_000, Patch::default(), rx)
    }

    fn first_nonzero_frame(out: &[f32]) -> Option<usize> {
        out.chunks(2).position(|f| f[0] != 0.0 || f[1] != 0.0)
    }

    #[test]
    fn a_note_starts_at_its_exact_sample_whatever_the_block_size() {
        for block in [64usize, 256, 1000] {
            let mut e = engine_with(&[Event {
                at_sample: 12_345,
                kind: EventKind::NoteOn {
                    note: 60,
                    velocity: 1.0,
                },
            }]);
            let mut all = Vec::new();
            let mut buf = vec![0.0; block * 2];
            while all.len() < 2 * 20_000 {
                e.process(&mut buf, false);
                all.extend_from_slice(&buf);
            }
            assert_eq!(first_nonzero_frame(&all), Some(12_345), "block {block}");
        }
    }

    #[test]
    fn output_is_identical_for_any_block_size() {
        let events = [
            Event {
                at_sample: 100,
                kind: EventKind::NoteOn {
                    note: 57,
                    velocity: 0.9,
                },
            },
            Event {
                at_sample: 5_000,
                kind: EventKind::SetParam {
                    param: AudioParam::CutoffHz,
                    value: 400.0,
                    ramp_samples: 9_000,
                },
            },
            Event {
                at_sample: 7_777,
                kind: EventKind::NoteOn {
                    note: 64,
                    velocity: 0.7,
                },
            },
            Event {
                at_sample: 15_000,
                kind: EventKind::NoteOff { note: 57 },
            },
        ];
        let render = |block: usize| {
            let mut e = engine_with(&events);
            let mut all = Vec::new();
            let mut buf = vec![0.0; block * 2];
            while all.len() < 2 * 24_000 {
                e.process(&mut buf, false);
                all.extend_from_slice(&buf);
            }
            all.truncate(2 * 24_000);
            all
        };
        let a = render(64);
        for block in [256, 1000] {
            let b = render(block);
            let max_diff = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert_eq!(max_diff, 0.0, "block {block} differs by {max_diff}");
        }
    }

    #[test]
    fn pausing_fades_out_and_stops_the_clock() {
        let mut e = engine_with(&[Event {
            at_sample: 0,
            kind: EventKind::NoteOn {
                note: 60,
                velocity: 1.0,
            },
        }]);
        let mut buf = vec![0.0; 2 * 4_800];
        e.process(&mut buf, false);
        e.process(&mut buf, true);
        let pos = e.position_samples();
        e.process(&mut buf, true);
        assert_eq!(e.position_samples(), pos, "clock advanced while paused");
        assert!(buf.iter().all(|s| *s == 0.0));
    }

    #[test]
    fn late_events_apply_at_once_and_are_counted() {
        let (mut tx, rx) = event_queue(8);
        let mut e = Engine::new(48_000, Patch::default(), rx);
        let mut buf = vec![0.0; 2 * 512];
        e.process(&mut buf, false);
        tx.push(Event {
            at_sample: 10,
            kind: EventKind::NoteOn {
                note: 60,
                velocity: 1.0,
            },
        })
        .unwrap();
        e.process(&mut buf, false);
        assert_eq!(e.take_late_events(), 1);
        assert_eq!(first_nonzero_frame(&buf), Some(0));
    }

    #[test]
    fn voice_limit_steals_the_oldest_voice() {
        let patch = Patch {
            voices: 2,
            ..Patch::default()
        };
        let (mut tx, rx) = event_queue(8);
        let mut e = Engine::new(48_000, patch, rx);
        for (i, n) in [60u8, 64, 67].into_iter().enumerate() {
            tx.push(Event {
                at_sample: i as u64,
                kind: EventKind::NoteOn {
                    note: n,
                    velocity: 1.0,
                },
            })
            .unwrap();
        }
        let mut buf = vec![0.0; 2 * 64];
        e.process(&mut buf, false);
        assert_eq!(e.active_voices(), 2);
        let notes: Vec<u8> = e
            .voices
            .iter()
            .filter(|v| v.is_active())
            .map(|v| v.note)
            .collect();
        assert!(notes.contains(&64) && notes.contains(&67), "{notes:?}");
    }
}
