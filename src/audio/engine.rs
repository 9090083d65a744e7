//! The audio engine: one `process` call renders one block. Events are applied at their exact
//! sample. Between events the block is rendered in short control segments that start at
//! absolute multiples of [`CHUNK`] samples (or at an event) so the output never depends on the
//! block size the device asks for.

use super::analysis::Analyzer;
use super::fx::glitch::GlitchControls;
use super::fx::{Delay, Glitch, Limiter, Reverb, db_to_gain};
use super::synth::{SimdPath, SimdUnavailable, Voice, VoiceControls, VoiceLanes};
use crate::bridge::journal_tap::{Applied, Entry as JournalEntry, JournalTap};
use crate::bridge::patch::{MAX_VOICES, MasterSettings, Patch};
use crate::bridge::{Analysis, AudioParam, Curve, Event, EventKind, MIN_RAMP_S};

/// Control-rate segment length. Voice pitch and filter coefficients update at segment starts;
/// mixes and gains are interpolated per sample across each segment.
pub const CHUNK: usize = 32;

/// Fade applied when the transport pauses or resumes, so pausing never clicks.
const TRANSPORT_FADE_S: f32 = 0.01;

const N_PARAMS: usize = AudioParam::ALL.len();
/// Most live events waiting for their sample at once (notes held with a length, bundles tagged
/// ahead); past it the newest are dropped and counted.
pub const LIVE_PENDING: usize = 1024;

/// A ramped parameter value: linear, or shaped by a [`Curve`].
#[derive(Clone, Copy, Debug, Default)]
struct Ramp {
    value: f32,
    target: f32,
    step: f32,
    remaining: u32,
    /// Where a shaped ramp started, and its length.
    from: f32,
    total: u32,
    curve: Curve,
}

impl Ramp {
    fn new(value: f32) -> Self {
        Self {
            value,
            target: value,
            from: value,
            ..Self::default()
        }
    }

    fn set(&mut self, target: f32, samples: u32, curve: Curve) {
        self.target = target;
        self.remaining = samples.max(1);
        self.total = self.remaining;
        self.from = self.value;
        self.curve = curve;
        self.step = (target - self.value) / self.remaining as f32;
    }

    /// The value with `remaining` samples to go. Derived from the integer count of samples
    /// left, so advancing 10 then 22 gives exactly what advancing 32 gives: the output cannot
    /// depend on how the device splits blocks.
    fn value_with(&self, remaining: u32) -> f32 {
        if remaining == 0 {
            return self.target;
        }
        match self.curve {
            Curve::Linear => self.target - self.step * remaining as f32,
            curve => {
                let x = 1.0 - f64::from(remaining) / f64::from(self.total.max(1));
                curve.between(f64::from(self.from), f64::from(self.target), x) as f32
            }
        }
    }

    /// Advances `n` samples.
    fn advance(&mut self, n: u32) {
        self.remaining = self.remaining.saturating_sub(n);
        self.value = self.value_with(self.remaining);
    }

    /// The value `n` samples from now, without advancing.
    fn value_after(&self, n: u32) -> f32 {
        self.value_with(self.remaining.saturating_sub(n))
    }
}

/// Parameter values at both ends of one control segment (from an aligned boundary or an event
/// to the next aligned boundary). A block boundary inside a segment does not start a new one.
#[derive(Clone, Copy, Debug, Default)]
struct Segment {
    start: u64,
    len: u32,
    from: [f32; N_PARAMS],
    to: [f32; N_PARAMS],
}

impl Segment {
    #[inline]
    fn at(&self, p: AudioParam, t: f32) -> f32 {
        let i = p.index();
        self.from[i] + (self.to[i] - self.from[i]) * t
    }
}

/// The real-time synth engine. Build it on a control thread, move it into the audio
/// callback (or the offline loop), and call [`Engine::process`].
pub struct Engine {
    sample_rate_hz: u32,
    /// The sound's own clock: samples rendered since the last seek. Voices, ramps and blocks
    /// run on it.
    position: u64,
    /// How far the show's clock (which events are stamped on and the transport publishes) is
    /// ahead of `position`. 0 but while a rate other than 1 is set: a show following another
    /// clock (Ableton Link) plays its events a little faster or slower than the sound's clock
    /// without resampling the sound, the way a DAW follows Link's tempo.
    show_lead: i64,
    /// The part of a sample the show's clock has gained or lost on `position` so far.
    lead_frac: f64,
    /// Show samples per sound sample: 1 unless something follows another clock.
    show_rate: f64,
    voices: Box<[Voice; MAX_VOICES]>,
    /// How the voices are rendered: one at a time or side by side in SIMD lanes. Every path
    /// gives the same bits; the fastest the machine has is taken.
    simd: SimdPath,
    lanes: Box<VoiceLanes>,
    patch: Patch,
    note_order: u64,
    sustain_down: bool,
    params: [Ramp; N_PARAMS],
    events: rtrb::Consumer<Event>,
    /// Live input (OSC, MIDI): a second queue, so the performer's events never wait behind the
    /// show's. Stamped with the sample they should sound at, or 0 for "at once".
    live: Option<rtrb::Consumer<Event>>,
    /// Live events taken off that queue, waiting for their sample, in time order: a note's
    /// release or a time-tagged bundle must not hold back what arrives after it (the queue is
    /// first in, first out; sounding times are not). Fixed capacity, made here: taking and
    /// placing events never allocates. When full, the newest is dropped and counted.
    live_pending: Vec<Event>,
    live_dropped: u64,
    delay: Delay,
    reverb: Reverb,
    glitch: Glitch,
    limiter: Limiter,
    left: [f32; CHUNK],
    right: [f32; CHUNK],
    transport_gain: f32,
    /// Paused and faded out: the clock stands still.
    halted: bool,
    /// Samples of the limiter's delay still to play out since halting.
    drain: usize,
    analyzer: Analyzer,
    late_events: u64,
    /// Events applied so far (both queues): for benchmarks and status.
    applied_events: u64,
    segment: Segment,
    /// An event took effect at the current position: control values must be recomputed.
    control_dirty: bool,
    /// Frames output so far (the limiter's lookahead and paused frames included): what the
    /// journal times everything the engine applies by.
    frames_out: u64,
    /// The output frame an event applied now takes effect on.
    apply_frame: u64,
    /// The pause last seen, so the journal hears of each change once.
    was_paused: bool,
    /// What the engine applied, to the show's journal (`somnia play` keeps one by default).
    journal: Option<JournalTap>,
}

impl Engine {
    pub fn new(sample_rate_hz: u32, patch: Patch, events: rtrb::Consumer<Event>) -> Self {
        let params = AudioParam::ALL.map(|p| Ramp::new(p.default_value(&patch)));
        Self {
            sample_rate_hz,
            position: 0,
            show_lead: 0,
            lead_frac: 0.0,
            show_rate: 1.0,
            voices: Box::new([Voice::default(); MAX_VOICES]),
            simd: SimdPath::from_env(),
            lanes: Box::default(),
            patch,
            note_order: 0,
            sustain_down: false,
            params,
            events,
            live: None,
            live_pending: Vec::with_capacity(LIVE_PENDING),
            live_dropped: 0,
            delay: Delay::new(sample_rate_hz),
            reverb: Reverb::new(sample_rate_hz),
            glitch: Glitch::new(sample_rate_hz),
            limiter: Limiter::new(
                crate::bridge::patch::DEFAULT_LIMITER_CEILING_DB,
                0.08,
                sample_rate_hz,
            ),
            left: [0.0; CHUNK],
            right: [0.0; CHUNK],
            transport_gain: 1.0,
            halted: false,
            drain: 0,
            analyzer: Analyzer::new(sample_rate_hz),
            late_events: 0,
            applied_events: 0,
            segment: Segment::default(),
            control_dirty: true,
            frames_out: 0,
            apply_frame: 0,
            was_paused: false,
            journal: None,
        }
    }

    /// Tells `tap` everything this engine applies from now on, with its output frame: the
    /// show's journal, from which `somnia render --journal` makes the same output again.
    pub fn attach_journal(&mut self, tap: JournalTap) {
        self.journal = Some(tap);
    }

    /// Frames output so far, paused ones and the limiter's lookahead included.
    pub fn frames_out(&self) -> u64 {
        self.frames_out
    }

    #[inline]
    fn journal(&mut self, frame: u64, what: Applied) {
        if let Some(j) = self.journal.as_mut() {
            j.push(JournalEntry { frame, what });
        }
    }

    /// Renders the voices on `path` from now on, when the machine can take it (else nothing
    /// changes and it says so). The output is the same on every path.
    pub fn set_simd_path(&mut self, path: SimdPath) -> Result<(), SimdUnavailable> {
        if !path.available() {
            return Err(SimdUnavailable(path.name()));
        }
        self.simd = path;
        Ok(())
    }

    /// The path the voices are rendered on.
    pub fn simd_path(&self) -> SimdPath {
        self.simd
    }

    /// Turns the safety limiter off. Only for measurement; performances keep it on.
    pub fn disable_limiter(&mut self) {
        self.limiter.set_enabled(false);
    }

    /// Applies a show's master settings: the limiter's ceiling, and whether it runs at all.
    /// Call before the first block (the limiter starts afresh).
    pub fn apply_master(&mut self, m: &MasterSettings) {
        self.limiter = Limiter::new(m.limiter_ceiling_db, 0.08, self.sample_rate_hz);
        self.limiter.set_enabled(m.limiter_enabled);
    }

    /// How many samples the output trails the engine's clock (the limiter's lookahead).
    pub fn latency_samples(&self) -> usize {
        self.limiter.latency_samples()
    }

    /// The sound's own clock at the next block: samples rendered (since the last seek). Equal
    /// to [`Engine::show_position_samples`] unless a show rate was set.
    pub fn position_samples(&self) -> u64 {
        self.position
    }

    /// The show's clock at the next block: the sample the next event due is stamped against,
    /// and the master clock everything else follows.
    pub fn show_position_samples(&self) -> u64 {
        self.position.saturating_add_signed(self.show_lead)
    }

    /// Runs the show's clock at `rate` show samples per sound sample from the next block
    /// (clamped to 0.5..2; anything not finite is 1). The sound itself is not resampled:
    /// notes keep their pitch and envelopes their length; only when events fall moves.
    pub fn set_show_rate(&mut self, rate: f64) {
        let rate = if rate.is_finite() {
            rate.clamp(0.5, 2.0)
        } else {
            1.0
        };
        if rate != self.show_rate {
            self.journal(self.frames_out, Applied::Rate(rate));
        }
        self.show_rate = rate;
    }

    /// Show samples per sound sample, as [`Engine::set_show_rate`] last set it.
    pub fn show_rate(&self) -> f64 {
        self.show_rate
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// The analysis of the output so far (level, bands, onsets, tempo), timed on the clock of
    /// what is heard: the engine clock less the limiter's latency.
    pub fn analysis(&self) -> Analysis {
        self.analyzer.analysis()
    }

    /// Events that arrived after their sample had passed (applied at once), since the last call.
    /// Takes live events (OSC, MIDI) from `queue` too.
    pub fn attach_live_queue(&mut self, queue: rtrb::Consumer<Event>) {
        self.live = Some(queue);
    }

    /// How many events have been applied so far.
    pub fn applied_events(&self) -> u64 {
        self.applied_events
    }

    pub fn take_late_events(&mut self) -> u64 {
        std::mem::take(&mut self.late_events)
    }

    /// Live events dropped because [`LIVE_PENDING`] were already waiting, since the last call.
    pub fn take_dropped_live_events(&mut self) -> u64 {
        std::mem::take(&mut self.live_dropped)
    }

    pub fn active_voices(&self) -> usize {
        self.voices.iter().filter(|v| v.is_active()).count()
    }

    /// Notes of the voices sounding (not released), for tests and displays.
    pub fn sounding_notes(&self) -> impl Iterator<Item = u8> + '_ {
        self.voices
            .iter()
            .filter(|v| v.is_active() && !v.is_released())
            .map(|v| v.note)
    }

    /// Moves the clock to `sample`: every voice is released (their release envelopes play
    /// out, so nothing clicks), and every queued event is dropped, as it was scheduled for the
    /// old position; the control thread queues the new position's events after this.
    /// Real-time safe: no allocation.
    pub fn seek(&mut self, sample: u64) {
        self.journal(self.frames_out, Applied::Seek(sample));
        let now = self.position;
        self.sustain_down = false;
        for v in self.voices.iter_mut() {
            v.held_by_pedal = false;
            v.release(now);
        }
        while self.events.pop().is_ok() {}
        // Time-tagged live events belong to the old clock too; immediate ones still go.
        self.take_live_events();
        self.live_pending.retain(|ev| ev.at_sample == 0);
        self.position = sample;
        self.show_lead = 0;
        self.lead_frac = 0.0;
        // The control segment in progress belongs to the old position.
        self.control_dirty = true;
    }

    /// Renders `out.len() / 2` interleaved stereo frames. With `paused` set the sound fades
    /// to silence over 10 ms (heard after the limiter's latency, like everything else) and the
    /// clock stops; clearing it fades back in.
    ///
    /// Real-time safe: no allocation, no locks, no I/O.
    pub fn process(&mut self, out: &mut [f32], paused: bool) {
        let frames = out.len() / 2;
        let start = self.show_position_samples();
        let first_frame = self.frames_out;
        if paused != self.was_paused {
            self.was_paused = paused;
            self.journal(first_frame, Applied::Pause(paused));
        }
        if !paused {
            self.halted = false;
        }
        let mut i = 0;
        while i < frames {
            if self.halted {
                // The fade is silent at the limiter's input, but its last samples are still
                // in the limiter's delay: they play out (so the fade is heard whole, not cut
                // off) and leave the delay empty (so nothing of it plays again on resume).
                for f in out[2 * i..2 * frames].chunks_exact_mut(2) {
                    let (mut l, mut r) = (0.0, 0.0);
                    if self.drain > 0 {
                        self.limiter.process(&mut l, &mut r);
                        self.drain -= 1;
                    }
                    f[0] = l;
                    f[1] = r;
                }
                break;
            }
            self.apply_frame = first_frame + i as u64;
            self.apply_due_events();
            let to_boundary = CHUNK - (self.position % CHUNK as u64) as usize;
            let mut n = (frames - i).min(to_boundary);
            let show = self.show_position_samples();
            if let Ok(ev) = self.events.peek() {
                n = n.min(self.sound_samples_until(ev.at_sample, show));
            }
            if let Some(ev) = self.live_pending.first() {
                n = n.min(self.sound_samples_until(ev.at_sample, show));
            }
            let chunk = &mut out[2 * i..2 * (i + n)];
            self.render_chunk(chunk, n, paused);
            self.position += n as u64;
            if self.show_rate != 1.0 {
                self.lead_frac += n as f64 * (self.show_rate - 1.0);
                let whole = self.lead_frac.trunc();
                self.show_lead += whole as i64;
                self.lead_frac -= whole;
            }
            i += n;
        }
        if let Some(tail) = out.get_mut(2 * frames..) {
            tail.fill(0.0);
        }
        let heard_from = start as i64 - self.latency_samples() as i64;
        self.analyzer.push(&out[..2 * frames], heard_from);
        self.frames_out += frames as u64;
        if let Some(j) = self.journal.as_ref() {
            j.frames_done(self.frames_out);
        }
    }

    /// Sound samples from now until show sample `at` (at least 1), with the show's clock at
    /// `show`.
    fn sound_samples_until(&self, at: u64, show: u64) -> usize {
        let show_samples = at.saturating_sub(show);
        let n = if self.show_rate == 1.0 {
            show_samples as usize
        } else {
            (show_samples as f64 / self.show_rate).ceil() as usize
        };
        n.max(1)
    }

    fn apply_due_events(&mut self) {
        let show = self.show_position_samples();
        while let Ok(ev) = self.events.peek() {
            if ev.at_sample > show {
                break;
            }
            let ev = *ev;
            let _ = self.events.pop();
            if ev.at_sample < show {
                self.late_events += 1;
            }
            self.apply(ev.kind);
            self.control_dirty = true;
        }
        self.take_live_events();
        let due = self.live_pending.partition_point(|ev| ev.at_sample <= show);
        for i in 0..due {
            let ev = self.live_pending[i];
            // 0 means "at once"; anything else that has passed was late.
            if ev.at_sample != 0 && ev.at_sample < show {
                self.late_events += 1;
            }
            self.apply(ev.kind);
            self.control_dirty = true;
        }
        self.live_pending.drain(..due);
    }

    /// Moves what has arrived on the live queue into `live_pending`, each after those due at
    /// or before its sample (so events for one moment keep their order: a note's on before a
    /// zero-length note's off).
    fn take_live_events(&mut self) {
        let Some(q) = self.live.as_mut() else { return };
        while let Ok(ev) = q.pop() {
            if self.live_pending.len() == self.live_pending.capacity() {
                self.live_dropped += 1;
                continue;
            }
            let at = self
                .live_pending
                .partition_point(|p| p.at_sample <= ev.at_sample);
            self.live_pending.insert(at, ev);
        }
    }

    fn apply(&mut self, kind: EventKind) {
        self.applied_events += 1;
        self.journal(self.apply_frame, Applied::Event(kind));
        let sr = self.sample_rate_hz as f32;
        let min_ramp = (MIN_RAMP_S as f32 * sr) as u32;
        match kind {
            EventKind::NoteOn { note, velocity } => {
                if velocity <= 0.0 {
                    self.release_note(note);
                    return;
                }
                let slot = self.pick_voice();
                self.note_order += 1;
                let patch = self.patch;
                let v = &mut self.voices[slot];
                v.start(
                    note.min(127),
                    velocity,
                    &patch,
                    self.note_order,
                    sr,
                    self.position,
                );
            }
            EventKind::NoteOff { note } => self.release_note(note),
            EventKind::SetParam {
                param,
                value,
                ramp_samples,
                curve,
            } => {
                let (lo, hi) = param.range();
                let v = if value.is_finite() {
                    value.clamp(lo, hi)
                } else {
                    param.default_value(&self.patch)
                };
                self.params[param.index()].set(v, ramp_samples.max(min_ramp), curve);
            }
            EventKind::SetPatch(patch) => {
                self.patch = patch;
                for p in AudioParam::ALL.into_iter().filter(|p| p.follows_patch()) {
                    self.params[p.index()].set(p.default_value(&patch), min_ramp, Curve::Linear);
                }
            }
            EventKind::Sustain { down } => {
                let now = self.position;
                self.sustain_down = down;
                if !down {
                    for v in self.voices.iter_mut().filter(|v| v.held_by_pedal) {
                        v.held_by_pedal = false;
                        v.release(now);
                    }
                }
            }
            EventKind::AllNotesOff => {
                let now = self.position;
                self.sustain_down = false;
                for v in self.voices.iter_mut() {
                    v.held_by_pedal = false;
                    v.release(now);
                }
            }
            EventKind::FadeOut { over_samples } => {
                let now = self.position;
                self.sustain_down = false;
                for v in self.voices.iter_mut().filter(|v| v.is_active()) {
                    v.held_by_pedal = false;
                    v.fade_out(now, over_samples);
                }
            }
        }
    }

    fn release_note(&mut self, note: u8) {
        let (pedal, now) = (self.sustain_down, self.position);
        for v in self.voices.iter_mut() {
            if v.note == note && v.is_active() && !v.is_released() {
                if pedal {
                    v.held_by_pedal = true;
                } else {
                    v.release(now);
                }
            }
        }
    }

    /// Chooses a voice for a new note: an idle one while under the patch's polyphony; past it,
    /// steal the oldest released voice, else the quietest (oldest on a tie).
    fn pick_voice(&mut self) -> usize {
        let limit = usize::from(self.patch.voices).clamp(1, MAX_VOICES);
        if self.active_voices() < limit {
            if let Some(i) = self.voices.iter().position(|v| !v.is_active()) {
                return i;
            }
        }
        let released = self
            .voices
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_active() && v.is_released())
            .min_by_key(|(_, v)| v.started)
            .map(|(i, _)| i);
        let slot = released.unwrap_or_else(|| {
            self.voices
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_active())
                .min_by(|(_, a), (_, b)| {
                    a.level()
                        .total_cmp(&b.level())
                        .then(a.started.cmp(&b.started))
                })
                .map_or(0, |(i, _)| i)
        });
        // The stolen voice restarts from its current level (no click) with the new note.
        slot
    }

    /// Renders `n <= CHUNK` frames into `out` (interleaved).
    fn render_chunk(&mut self, out: &mut [f32], n: usize, paused: bool) {
        let sr = self.sample_rate_hz as f32;
        let offset = (self.position % CHUNK as u64) as u32;
        if offset == 0 || self.control_dirty {
            let len = CHUNK as u32 - offset;
            let mut seg = Segment {
                start: self.position,
                len,
                ..Segment::default()
            };
            for p in AudioParam::ALL {
                seg.from[p.index()] = self.params[p.index()].value;
                seg.to[p.index()] = self.params[p.index()].value_after(len);
            }
            self.segment = seg;
            self.control_dirty = false;
            let controls = VoiceControls {
                sample_rate_hz: sr,
                cutoff_scale: seg.at(AudioParam::CutoffHz, 0.0)
                    / self.patch.filter.cutoff_hz.max(1.0),
                resonance: seg.at(AudioParam::Resonance, 0.0) - self.patch.filter.resonance,
                bend: seg.at(AudioParam::PitchBend, 0.0),
                detune_cents: seg.at(AudioParam::DetuneCents, 0.0),
                now: self.position,
            };
            self.lanes
                .update_controls(&mut self.voices, self.simd, &controls);
        }
        let seg = self.segment;
        let seg_offset = (self.position - seg.start) as f32;
        for p in AudioParam::ALL {
            self.params[p.index()].advance(n as u32);
        }
        self.reverb.set_decay(seg.at(AudioParam::ReverbDecayS, 0.0));

        let (left, right) = (&mut self.left[..n], &mut self.right[..n]);
        left.fill(0.0);
        right.fill(0.0);
        self.lanes
            .render_add(&mut self.voices, self.simd, left, right);

        let fade_step = 1.0 / (TRANSPORT_FADE_S * sr);
        let target = if paused { 0.0 } else { 1.0 };
        for k in 0..n {
            let t = (seg_offset + k as f32) / seg.len as f32;
            let g = db_to_gain(seg.at(AudioParam::GainDb, t));
            let (mut l, mut r) = (left[k] * g, right[k] * g);
            let beat_samples = 60.0 / seg.at(AudioParam::TempoBpm, t) * sr;
            (l, r) = self.delay.process(
                l,
                r,
                seg.at(AudioParam::DelayBeats, t) * beat_samples,
                seg.at(AudioParam::DelayFeedback, t),
                seg.at(AudioParam::DelayMix, t),
            );
            let reverb_mix = seg.at(AudioParam::ReverbMix, t);
            let (wl, wr) = self
                .reverb
                .process(l, r, seg.at(AudioParam::ReverbDamping, t));
            l += wl * reverb_mix;
            r += wr * reverb_mix;
            let glitch = GlitchControls {
                crush: seg.at(AudioParam::Crush, t),
                stutter: seg.at(AudioParam::Stutter, t),
                tape_speed: seg.at(AudioParam::TapeSpeed, t),
                beat_samples,
            };
            (l, r) = self.glitch.process(l, r, &glitch);
            if self.transport_gain < target {
                self.transport_gain = (self.transport_gain + fade_step).min(1.0);
            } else if self.transport_gain > target {
                self.transport_gain = (self.transport_gain - fade_step).max(0.0);
            }
            l *= self.transport_gain;
            r *= self.transport_gain;
            self.limiter.process(&mut l, &mut r);
            out[2 * k] = l;
            out[2 * k + 1] = r;
        }
        if paused && self.transport_gain <= 0.0 {
            self.halted = true;
            self.drain = self.limiter.latency_samples();
        }
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

    fn run(e: &mut Engine, block: usize, frames: usize) -> Vec<f32> {
        let mut all = Vec::new();
        let mut buf = vec![0.0; block * 2];
        while all.len() < 2 * frames {
            e.process(&mut buf, false);
            all.extend_from_slice(&buf);
        }
        all.truncate(2 * frames);
        all
    }

    fn first_nonzero_frame(out: &[f32]) -> Option<usize> {
        out.chunks(2).position(|f| f[0] != 0.0 || f[1] != 0.0)
    }

    fn note_on(at: u64, note: u8) -> Event {
        Event {
            at_sample: at,
            kind: EventKind::NoteOn {
                note,
                velocity: 1.0,
            },
        }
    }

    #[test]
    fn at_a_show_rate_of_1_25_a_note_stamped_for_show_sample_50000_sounds_at_sound_sample_40000() {
        for (block, rate) in [(64usize, 1.25), (256, 1.25), (1000, 0.8)] {
            let mut e = engine_with(&[note_on(50_000, 60)]);
            e.set_show_rate(rate);
            let latency = e.latency_samples();
            let all = run(&mut e, block, 80_000);
            let expect = (50_000.0 / rate) as usize + latency;
            let got = first_nonzero_frame(&all).unwrap();
            assert!(
                got.abs_diff(expect) <= 1,
                "block {block}: {got} vs {expect}"
            );
            // The show's clock ran at the rate; the sound's at one sample a sample.
            let sound = e.position_samples() as f64;
            assert!((80_000.0..81_000.0).contains(&sound), "{sound}");
            let show = e.show_position_samples() as f64;
            assert!((show - sound * rate).abs() <= 1.0, "{show} vs {sound}");
        }
    }

    #[test]
    fn a_seek_puts_both_clocks_on_the_sample_sought() {
        let mut e = engine_with(&[]);
        e.set_show_rate(1.5);
        run(&mut e, 256, 4_800);
        e.seek(96_000);
        assert_eq!(e.show_position_samples(), 96_000);
        assert_eq!(e.position_samples(), 96_000);
    }

    #[test]
    fn a_note_starts_at_its_exact_sample_whatever_the_block_size() {
        for block in [64usize, 256, 1000] {
            let mut e = engine_with(&[note_on(12_345, 60)]);
            let latency = e.latency_samples();
            let all = run(&mut e, block, 20_000);
            assert_eq!(
                first_nonzero_frame(&all),
                Some(12_345 + latency),
                "block {block}"
            );
        }
    }

    #[test]
    fn a_fade_out_takes_every_held_note_to_silence_over_its_length_and_frees_the_voices() {
        let rms = |s: &[f32]| (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
        let fade = Event {
            at_sample: 24_000,
            kind: EventKind::FadeOut {
                over_samples: 24_000,
            },
        };
        let mut e = engine_with(&[note_on(0, 57), note_on(0, 64), fade]);
        let latency = e.latency_samples();
        let out = run(&mut e, 256, 48_000 + latency);
        let lat = 2 * latency;
        let before = rms(&out[lat + 2 * 19_200..lat + 2 * 24_000]);
        let halfway = rms(&out[lat + 2 * 34_800..lat + 2 * 37_200]);
        assert!(before > 0.01, "the notes sound before the fade: {before}");
        let ratio = halfway / before;
        assert!(
            (0.35..0.65).contains(&ratio),
            "half way through the fade the level is {ratio:.2} of what it was"
        );
        assert!(
            e.voices.iter().all(|v| !v.is_active()),
            "every voice is free when the fade has run"
        );
    }

    #[test]
    fn shaped_ramps_follow_their_curve_whatever_the_steps() {
        // An exponential ramp 100 -> 1600 is at 400 half way; linear would be at 850.
        let mut r = Ramp::new(100.0);
        r.set(1600.0, 1000, Curve::Exponential);
        let mut stepped = r;
        r.advance(500);
        for n in [7, 93, 200, 200] {
            stepped.advance(n);
        }
        assert!((r.value - 400.0).abs() < 0.01, "{}", r.value);
        assert_eq!(
            r.value, stepped.value,
            "the same after any split into steps"
        );
        assert_eq!(r.value_after(500), 1600.0);
        let mut s = Ramp::new(0.0);
        s.set(1.0, 1000, Curve::SCurve);
        s.advance(100);
        assert!(s.value < 0.05, "an s-curve starts gently: {}", s.value);
    }

    /// Every parameter's own glide. A click (`tests/smoothing.rs`) shows a missing one only for
    /// a level, a mix, the feedback or the cutoff: pitch bend, detune, tape speed, delay time,
    /// tempo, resonance and the reverb's decay and damping jump without a click (the voices
    /// and effects that read them move smoothly anyway), so the ramp itself is checked here.
    #[test]
    fn a_jump_of_any_parameter_glides_over_the_minimum_ramp_instead_of_stepping() {
        let min_ramp = (MIN_RAMP_S * 48_000.0) as usize;
        for p in AudioParam::ALL {
            let (lo, hi) = p.range();
            let mut e = engine_with(&[Event {
                at_sample: 0,
                kind: EventKind::SetParam {
                    param: p,
                    value: hi,
                    ramp_samples: 0,
                    curve: Curve::Linear,
                },
            }]);
            e.params[p.index()] = Ramp::new(lo);
            run(&mut e, 32, 32);
            let v = e.params[p.index()].value;
            assert!(
                lo < v && v < hi,
                "{}: jumped from {lo} to {v} (target {hi}) within 32 samples",
                p.name()
            );
            let way = (v - lo) / (hi - lo);
            let want = 32.0 / min_ramp as f32;
            assert!(
                (way - want).abs() < 1e-3,
                "{}: {way:.4} of the way after 32 samples, not {want:.4}",
                p.name()
            );
            run(&mut e, 32, min_ramp);
            assert_eq!(e.params[p.index()].value, hi, "{} did not land", p.name());
        }
    }

    #[test]
    fn every_voice_path_gives_the_same_bytes_at_every_block_size() {
        use crate::bridge::patch::{OscSpec, Waveform};
        // A 40-note chord on the default patch, a bend and a detune sweep, then a patch of
        // unison saws against noise for new notes while the chord releases: full groups,
        // part groups, two plans at once, stages ending mid-chunk.
        let mut events = Vec::new();
        for i in 0..40u8 {
            events.push(note_on(100 + u64::from(i) * 37, 36 + i));
        }
        for (at, param, value) in [
            (3_000, AudioParam::PitchBend, 0.4),
            (5_000, AudioParam::DetuneCents, 12.0),
            (6_000, AudioParam::CutoffHz, 600.0),
        ] {
            events.push(Event {
                at_sample: at,
                kind: EventKind::SetParam {
                    param,
                    value,
                    ramp_samples: 4_000,
                    curve: Default::default(),
                },
            });
        }
        let unison = OscSpec {
            waveform: Waveform::Saw,
            unison: 3,
            unison_cents: 25.0,
            ..OscSpec::default()
        };
        let noise = OscSpec {
            waveform: Waveform::Noise,
            level: 0.2,
            ..OscSpec::default()
        };
        events.push(Event {
            at_sample: 9_000,
            kind: EventKind::SetPatch(Patch {
                osc: [unison, noise],
                ..Patch::default()
            }),
        });
        for i in 0..40u8 {
            events.push(Event {
                at_sample: 9_500 + u64::from(i),
                kind: EventKind::NoteOff { note: 36 + i },
            });
        }
        for i in 0..12u8 {
            events.push(note_on(10_000 + u64::from(i) * 101, 48 + 2 * i));
        }
        events.sort_by_key(|e| e.at_sample);
        let engine_on = |path: SimdPath| {
            let (mut tx, rx) = event_queue(256);
            for e in &events {
                tx.push(*e).unwrap();
            }
            let mut e = Engine::new(48_000, Patch::default(), rx);
            e.set_simd_path(path).unwrap();
            e
        };
        let reference = run(&mut engine_on(SimdPath::Scalar), 64, 24_000);
        let peak = reference.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05, "silent: peak {peak}");
        for path in SimdPath::ALL.into_iter().filter(|p| p.available()) {
            for block in [1, 64, 333, 1024] {
                let got = run(&mut engine_on(path), block, 24_000);
                let first = got
                    .iter()
                    .zip(&reference)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert_eq!(first, None, "{} at {block}-frame blocks", path.name());
            }
        }
    }

    #[test]
    fn output_is_identical_for_any_block_size() {
        let events = [
            note_on(100, 57),
            Event {
                at_sample: 5_000,
                kind: EventKind::SetParam {
                    param: AudioParam::CutoffHz,
                    value: 400.0,
                    ramp_samples: 9_000,
                    curve: Default::default(),
                },
            },
            Event {
                at_sample: 6_000,
                kind: EventKind::SetParam {
                    param: AudioParam::DelayMix,
                    value: 0.5,
                    ramp_samples: 2_000,
                    curve: Default::default(),
                },
            },
            note_on(7_777, 64),
            Event {
                at_sample: 15_000,
                kind: EventKind::NoteOff { note: 57 },
            },
            Event {
                at_sample: 16_000,
                kind: EventKind::SetParam {
                    param: AudioParam::Stutter,
                    value: 0.5,
                    ramp_samples: 0,
                    curve: Default::default(),
                },
            },
        ];
        let a = run(&mut engine_with(&events), 64, 24_000);
        let peak = a.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.05, "silent: peak {peak}");
        for block in [256, 1000] {
            let b = run(&mut engine_with(&events), block, 24_000);
            let max_diff = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert_eq!(max_diff, 0.0, "block {block} differs by {max_diff}");
        }
    }

    /// A held sine note (110 Hz) played 0.5 s, then paused for 0.1 s, then resumed for 0.1 s,
    /// in 256-frame blocks, with the limiter on or off (it is quiet enough that the limiter
    /// only delays it). Returns (the 0.1 s before the pause, the paused part, the resumed
    /// part, the same paused span from an engine that kept playing, the clock at the pause,
    /// after the pause and after one more paused block), left channel.
    #[allow(clippy::type_complexity)]
    fn pause_and_resume(limiter: bool) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>, [u64; 3]) {
        let mut patch = Patch::default();
        patch.osc[0].waveform = crate::bridge::patch::Waveform::Sine;
        patch.osc[1].waveform = crate::bridge::patch::Waveform::Sine;
        patch.amp_env.sustain = 1.0;
        let make = || {
            let (mut tx, rx) = event_queue(4);
            tx.push(note_on(0, 45)).unwrap();
            let mut e = Engine::new(48_000, patch, rx);
            if !limiter {
                e.disable_limiter();
            }
            e
        };
        let left = |out: &[f32]| out.chunks(2).map(|f| f[0]).collect::<Vec<f32>>();
        let play = |e: &mut Engine, frames: usize, paused: bool| {
            let mut all = Vec::new();
            let mut buf = vec![0.0; 2 * 256];
            while all.len() < 2 * frames {
                e.process(&mut buf, paused);
                all.extend_from_slice(&buf);
            }
            left(&all[..2 * frames])
        };
        let mut e = make();
        let steady = play(&mut e, 24_064, false)[19_264..].to_vec();
        let at_pause = e.position_samples();
        let paused = play(&mut e, 4_864, true);
        let after = e.position_samples();
        play(&mut e, 256, true);
        let later = e.position_samples();
        let resumed = play(&mut e, 4_864, false);
        let mut kept_playing = make();
        play(&mut kept_playing, 24_064, false);
        let unpaused = play(&mut kept_playing, 4_864, false);
        (steady, paused, resumed, unpaused, [at_pause, after, later])
    }

    fn peak(x: &[f32]) -> f32 {
        x.iter().fold(0.0f32, |m, s| m.max(s.abs()))
    }

    fn max_step(x: &[f32]) -> f32 {
        x.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn pausing_fades_the_sound_out_over_10_ms_to_exact_silence_and_stops_the_clock() {
        let fade = (TRANSPORT_FADE_S * 48_000.0) as usize;
        for limiter in [false, true] {
            let (steady, paused, _, unpaused, [at_pause, after, later]) = pause_and_resume(limiter);
            let latency = Engine::new(48_000, Patch::default(), event_queue(1).1).latency_samples();
            let level = peak(&steady);
            assert!(
                level > 0.05,
                "limiter {limiter}: the note is quiet: {level}"
            );
            // What the engine that kept playing gave, faded linearly from the first paused
            // sample: heard `latency` samples later.
            for (k, (p, u)) in paused.iter().zip(&unpaused).enumerate() {
                let g = if k < latency {
                    1.0
                } else {
                    (1.0 - (k - latency + 1) as f32 / fade as f32).max(0.0)
                };
                assert!(
                    (p - u * g).abs() <= 0.003 * level,
                    "limiter {limiter}, sample {k} of the pause: {p}, wanted {} (the sound {u} \
                     at fade gain {g})",
                    u * g
                );
            }
            let silent_from = latency + fade + 2;
            assert!(
                paused[silent_from..].iter().all(|s| *s == 0.0),
                "limiter {limiter}: not silent {silent_from} samples into the pause"
            );
            assert!(
                max_step(&paused) <= 1.5 * max_step(&steady),
                "limiter {limiter}: the pause stepped {} (the note steps {})",
                max_step(&paused),
                max_step(&steady)
            );
            assert!(
                after - at_pause <= (fade + CHUNK) as u64,
                "limiter {limiter}: the clock ran {} samples into the pause",
                after - at_pause
            );
            assert_eq!(
                after, later,
                "limiter {limiter}: clock advanced while paused"
            );
        }
    }

    #[test]
    fn resuming_fades_in_from_silence_without_replaying_the_sound_from_before_the_pause() {
        for limiter in [false, true] {
            let (steady, paused, resumed, _, _) = pause_and_resume(limiter);
            let latency = Engine::new(48_000, Patch::default(), event_queue(1).1).latency_samples();
            // Nothing comes out before the new sound has gone through the limiter's delay: the
            // delay holds no tail of the fade-out.
            let stale = peak(&resumed[..latency]);
            assert_eq!(
                stale, 0.0,
                "limiter {limiter}: the old tail played on resume"
            );
            let mut joined = paused[paused.len() - 64..].to_vec();
            joined.extend_from_slice(&resumed);
            assert!(
                max_step(&joined) <= 1.5 * max_step(&steady),
                "limiter {limiter}: resuming stepped {} (the note steps {})",
                max_step(&joined),
                max_step(&steady)
            );
            let back = peak(&resumed[2_400..]);
            assert!(
                back >= 0.9 * peak(&steady),
                "limiter {limiter}: the note came back at {back}, was {}",
                peak(&steady)
            );
        }
    }

    #[test]
    fn live_events_play_beside_the_shows_and_immediate_ones_are_not_late() {
        let (_tx, rx) = crate::bridge::event_queue(16);
        let mut e = Engine::new(48_000, Patch::default(), rx);
        let (mut live_tx, live_rx) = crate::bridge::event_queue(16);
        e.attach_live_queue(live_rx);
        let _ = live_tx.push(Event {
            at_sample: 0,
            kind: EventKind::NoteOn {
                note: 60,
                velocity: 1.0,
            },
        });
        let _ = live_tx.push(Event {
            at_sample: 5_000,
            kind: EventKind::NoteOn {
                note: 64,
                velocity: 1.0,
            },
        });
        let mut buf = vec![0.0f32; 2 * 256];
        e.process(&mut buf, false);
        assert_eq!(e.active_voices(), 1);
        for _ in 0..20 {
            e.process(&mut buf, false);
        }
        assert_eq!(
            e.active_voices(),
            2,
            "the time-stamped one came at its sample"
        );
        assert_eq!(e.take_late_events(), 0);
    }

    #[test]
    fn a_live_event_waiting_for_its_sample_holds_back_nothing_that_comes_after_it() {
        let (_tx, rx) = crate::bridge::event_queue(16);
        let mut e = Engine::new(48_000, Patch::default(), rx);
        let (mut live_tx, live_rx) = crate::bridge::event_queue(64);
        e.attach_live_queue(live_rx);
        let off = |at_sample, note| Event {
            at_sample,
            kind: EventKind::NoteOff { note },
        };
        // A three-note chord sent as OSC notes with a length: each note's release, due in a
        // second, comes before the next note in the queue.
        for note in [60, 64, 67] {
            live_tx.push(note_on(0, note)).unwrap();
            live_tx.push(off(48_000, note)).unwrap();
        }
        let mut buf = vec![0.0f32; 2 * 256];
        e.process(&mut buf, false);
        let mut sounding: Vec<u8> = e.sounding_notes().collect();
        sounding.sort_unstable();
        assert_eq!(sounding, [60, 64, 67], "the whole chord sounds at once");
        // A note sent a tenth of a second later starts then, not when the chord ends.
        for _ in 0..19 {
            e.process(&mut buf, false);
        }
        live_tx.push(note_on(0, 72)).unwrap();
        e.process(&mut buf, false);
        assert!(e.sounding_notes().any(|n| n == 72));
        // And the chord is released at its own sample, the later note left sounding.
        while e.position_samples() < 48_000 + 256 {
            e.process(&mut buf, false);
        }
        assert_eq!(e.sounding_notes().collect::<Vec<_>>(), [72]);
        assert_eq!(e.take_late_events(), 0);
    }

    #[test]
    fn past_its_capacity_the_live_waiting_list_drops_and_counts() {
        let (_tx, rx) = crate::bridge::event_queue(16);
        let mut e = Engine::new(48_000, Patch::default(), rx);
        let (mut live_tx, live_rx) = crate::bridge::event_queue(2 * LIVE_PENDING);
        e.attach_live_queue(live_rx);
        for i in 0..LIVE_PENDING as u64 + 10 {
            live_tx.push(note_on(1_000_000 + i, 60)).unwrap();
        }
        let mut buf = vec![0.0f32; 2 * 64];
        e.process(&mut buf, false);
        assert_eq!(e.take_dropped_live_events(), 10);
    }

    #[test]
    fn late_events_apply_at_once_and_are_counted() {
        let (mut tx, rx) = event_queue(8);
        let mut e = Engine::new(48_000, Patch::default(), rx);
        e.disable_limiter();
        let mut buf = vec![0.0; 2 * 512];
        e.process(&mut buf, false);
        tx.push(note_on(10, 60)).unwrap();
        e.process(&mut buf, false);
        assert_eq!(e.take_late_events(), 1);
        assert!(e.active_voices() == 1);
    }

    #[test]
    fn a_128_voice_patch_plays_128_notes_at_once() {
        let patch = Patch {
            voices: 128,
            ..Patch::default()
        };
        let (mut tx, rx) = event_queue(256);
        let mut e = Engine::new(48_000, patch, rx);
        for n in 0..128u8 {
            tx.push(note_on(0, n)).unwrap();
        }
        let mut buf = vec![0.0; 2 * 64];
        e.process(&mut buf, false);
        assert_eq!(e.active_voices(), 128);
    }

    #[test]
    fn past_the_limit_the_oldest_released_voice_is_stolen_first() {
        let patch = Patch {
            voices: 3,
            ..Patch::default()
        };
        let (mut tx, rx) = event_queue(16);
        let mut e = Engine::new(48_000, patch, rx);
        for (i, n) in [60u8, 62, 64].into_iter().enumerate() {
            tx.push(note_on(i as u64, n)).unwrap();
        }
        tx.push(Event {
            at_sample: 10,
            kind: EventKind::NoteOff { note: 62 },
        })
        .unwrap();
        tx.push(note_on(20, 67)).unwrap();
        let mut buf = vec![0.0; 2 * 64];
        e.process(&mut buf, false);
        let mut notes: Vec<u8> = e.sounding_notes().collect();
        notes.sort_unstable();
        assert_eq!(
            notes,
            [60, 64, 67],
            "the released 62 should have been taken"
        );
    }

    #[test]
    fn with_nothing_released_the_quietest_voice_is_stolen() {
        let patch = Patch {
            voices: 3,
            ..Patch::default()
        };
        let (mut tx, rx) = event_queue(16);
        let mut e = Engine::new(48_000, patch, rx);
        tx.push(Event {
            at_sample: 0,
            kind: EventKind::NoteOn {
                note: 60,
                velocity: 1.0,
            },
        })
        .unwrap();
        tx.push(Event {
            at_sample: 1,
            kind: EventKind::NoteOn {
                note: 62,
                velocity: 0.1,
            },
        })
        .unwrap();
        tx.push(Event {
            at_sample: 2,
            kind: EventKind::NoteOn {
                note: 64,
                velocity: 1.0,
            },
        })
        .unwrap();
        tx.push(note_on(4_000, 67)).unwrap();
        let mut buf = vec![0.0; 2 * 4_800];
        e.process(&mut buf, false);
        let mut notes: Vec<u8> = e.sounding_notes().collect();
        notes.sort_unstable();
        assert_eq!(notes, [60, 64, 67], "the quiet 62 should have been taken");
    }

    #[test]
    fn the_sustain_pedal_holds_released_notes_until_it_lifts() {
        let (mut tx, rx) = event_queue(16);
        let mut e = Engine::new(48_000, Patch::default(), rx);
        tx.push(Event {
            at_sample: 0,
            kind: EventKind::Sustain { down: true },
        })
        .unwrap();
        tx.push(note_on(0, 60)).unwrap();
        tx.push(Event {
            at_sample: 100,
            kind: EventKind::NoteOff { note: 60 },
        })
        .unwrap();
        tx.push(Event {
            at_sample: 2_000,
            kind: EventKind::Sustain { down: false },
        })
        .unwrap();
        let mut buf = vec![0.0; 2 * 1_000];
        e.process(&mut buf, false);
        assert_eq!(e.sounding_notes().count(), 1, "held by the pedal");
        e.process(&mut buf, false);
        e.process(&mut buf, false);
        assert_eq!(
            e.sounding_notes().count(),
            0,
            "released when the pedal lifted"
        );
    }
}
