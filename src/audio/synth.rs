//! The neuro-symphony voice: two oscillators (saw and square band-limited by PolyBLEP, a plain
//! triangle, sine, FM, noise; each with detune and unison), a resonant state-variable filter
//! with its own envelope and key tracking, amp and filter ADSRs, velocity and pan. Everything a
//! patch says is `Copy`, so a whole patch can travel the event queue to the audio thread
//! without allocating.

use std::f32::consts::PI;

use crate::bridge::patch::{EnvSpec, FilterMode, MAX_UNISON, Patch, Waveform};

mod lanes;
pub use lanes::{SimdPath, SimdUnavailable, VoiceLanes};

/// Converts a MIDI note number to Hz (A4 = 69 = 440 Hz).
pub fn note_to_hz(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}

/// The PolyBLEP parabola's height at `a` = |phase - 0.5|, the edge at phase 0 being `0.5 - a`
/// away: how far into the edge's `dt`-wide window, in windows, squared; 0 outside it.
///
/// The residual that removes most of a hard edge's aliasing is this with the sign of the side
/// (negative just after the edge, positive just before): the textbook two polynomials
/// (`2x - x² - 1` after, `x² + 2x + 1` before) are these two parabolas. There is no branch: the
/// voices that run side by side in SIMD lanes (`synth/lanes.rs`) call the same functions per
/// lane, so one voice gives the same bits on every path. (It multiplies by `inv_dt` = 1 / `dt`
/// rather than dividing, for the same reason.)
#[inline(always)]
fn blep_squared(a: f32, dt: f32, inv_dt: f32) -> f32 {
    // (dt - (0.5 - a)) / dt, with `dt - 0.5` a loop invariant the loops work out once.
    let w = (a + (dt - 0.5)) * inv_dt;
    let w = if w > 0.0 { w } else { 0.0 };
    w * w
}

/// `m` negated when `h` is negative, exactly: a sign-bit flip (two vector instructions, where
/// `copysign` takes three).
#[inline(always)]
fn times_sign_of(h: f32, m: f32) -> f32 {
    f32::from_bits(m.to_bits() ^ (h.to_bits() & 0x8000_0000))
}

/// 2^`x`, to about 3e-6 relative: a cutoff's octaves, once a voice per control segment
/// (`powf` was a fifth of a voice's cost in the lanes). Only arithmetic and bit moves, so the
/// lanes compute it for a whole group at once (`synth/lanes.rs`), with the same bits.
#[inline(always)]
fn exp2_fast(x: f32) -> f32 {
    let x = clamp_select(x, -126.0, 126.0);
    // Adding 1.5 * 2^23 rounds to a whole number (to even on a tie), which then sits in the
    // low bits of the sum: no rounding instruction the baseline build lacks, no conversion.
    const ROUNDER: f32 = 12_582_912.0;
    let shifted = x + ROUNDER;
    let whole = shifted - ROUNDER;
    let f = x - whole;
    // Taylor series of 2^f on [-0.5, 0.5], to f^5.
    const C: [f32; 5] = [
        std::f32::consts::LN_2,
        0.240_226_5,
        0.055_504_11,
        0.009_618_129,
        0.001_333_355_8,
    ];
    let p = 1.0 + f * (C[0] + f * (C[1] + f * (C[2] + f * (C[3] + f * C[4]))));
    let exponent = shifted
        .to_bits()
        .wrapping_sub(ROUNDER.to_bits())
        .wrapping_add(127);
    p * f32::from_bits(exponent << 23)
}

/// `x.clamp(lo, hi)` as two selects, which vectorize (the library's asserts its bounds first).
/// The same result, NaN included.
#[inline(always)]
fn clamp_select(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x < lo { lo } else { x };
    if x > hi { hi } else { x }
}

/// tan(`x`) for 0 <= `x` < pi/2, to about 6e-7 relative: Lambert's continued fraction to
/// depth 5 as one rational function. A filter's prewarp, once a voice per control segment
/// (the library's `tan` cost as much as the rest of the control update).
#[inline(always)]
fn tan_fast(x: f32) -> f32 {
    let y = x * x;
    let p = 1.0 + y * (-0.121_212_12 + y * 0.002_020_202);
    let q = 1.0 + y * (-0.454_545_45 + y * (0.020_202_02 + y * -9.620_01e-5));
    x * p / q
}

/// One oscillator sample at `phase` in [0, 1), the reference the voice's
/// specialised loops are checked against.
#[cfg(test)]
fn oscillator(waveform: Waveform, phase: f32, dt: f32) -> f32 {
    // The textbook PolyBLEP: a polynomial on each side of the edge at phase 0.
    let poly_blep = |t: f32| {
        if t < dt {
            let x = t / dt;
            2.0 * x - x * x - 1.0
        } else if t > 1.0 - dt {
            let x = (t - 1.0) / dt;
            x * x + 2.0 * x + 1.0
        } else {
            0.0
        }
    };
    match waveform {
        Waveform::Saw => 2.0 * phase - 1.0 - poly_blep(phase),
        Waveform::Square => {
            let naive = if phase < 0.5 { 1.0 } else { -1.0 };
            let mut half = phase + 0.5;
            if half >= 1.0 {
                half -= 1.0;
            }
            naive + poly_blep(phase) - poly_blep(half)
        }
        Waveform::Triangle => 1.0 - 4.0 * (phase - 0.5).abs(),
        Waveform::Sine | Waveform::Fm | Waveform::Noise => (2.0 * PI * phase).sin(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Stage {
    #[default]
    Idle,
    Attack,
    Decay,
    Sustain,
    Release,
}

/// A linear-segment ADSR; rates per sample, set at note-on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Adsr {
    stage: Stage,
    level: f32,
    attack_step: f32,
    decay_step: f32,
    sustain: f32,
    release_s: f32,
    release_step: f32,
    sample_rate_hz: f32,
}

impl Adsr {
    fn start(&mut self, e: &EnvSpec, sample_rate_hz: f32) {
        let per = |s: f32| 1.0 / (s.max(0.0005) * sample_rate_hz);
        self.sustain = e.sustain.clamp(0.0, 1.0);
        self.attack_step = per(e.attack_s);
        self.decay_step = per(e.decay_s) * (1.0 - self.sustain).max(0.0);
        self.release_s = e.release_s;
        self.sample_rate_hz = sample_rate_hz;
        // Retriggering a sounding voice starts from its current level: no click.
        self.stage = Stage::Attack;
    }

    fn release(&mut self) {
        if self.stage != Stage::Idle && self.stage != Stage::Release {
            self.stage = Stage::Release;
            // From wherever the level is, to zero over the release time.
            self.release_step =
                self.level.max(1e-4) / (self.release_s.max(0.0005) * self.sample_rate_hz);
        }
    }

    /// Fades to silence over `samples`, straight from wherever the level is; a release already
    /// quicker than that keeps its pace.
    fn fade_out(&mut self, samples: u32) {
        if self.stage != Stage::Idle {
            let step = self.level.max(1e-4) / samples.max(1) as f32;
            if self.stage != Stage::Release || step > self.release_step {
                self.release_step = step;
            }
            self.stage = Stage::Release;
        }
    }

    /// Forces a fast fade (for stolen voices): 2 ms to silence.
    fn kill(&mut self) {
        if self.stage != Stage::Idle {
            self.stage = Stage::Release;
            self.release_step = self.level.max(1e-4) / (0.002 * self.sample_rate_hz);
        }
    }

    /// Advances `n` samples at once: exactly what `n` calls of [`Adsr::next`] would do (each
    /// stage is a straight line), for envelopes that are only read once per control segment.
    fn advance(&mut self, mut n: u32) {
        while n > 0 {
            let (step, limit, rising) = match self.stage {
                Stage::Idle | Stage::Sustain => return,
                Stage::Attack => (self.attack_step, 1.0, true),
                Stage::Decay => (self.decay_step, self.sustain, false),
                Stage::Release => (self.release_step, 0.0, false),
            };
            // Samples until this stage's end is reached, as `next` would count them.
            let left = ((limit - self.level).abs() / step.max(1e-12))
                .ceil()
                .max(1.0);
            if (left as u32) > n || left > u32::MAX as f32 {
                let moved = step * n as f32;
                self.level += if rising { moved } else { -moved };
                return;
            }
            for _ in 0..left as u32 {
                self.next();
                n -= 1;
                if n == 0 || !matches!(self.stage, Stage::Attack | Stage::Decay | Stage::Release) {
                    break;
                }
            }
        }
    }

    #[inline(always)]
    fn next(&mut self) -> f32 {
        match self.stage {
            Stage::Idle | Stage::Sustain => {}
            Stage::Attack => {
                self.level += self.attack_step;
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = Stage::Decay;
                }
            }
            Stage::Decay => {
                self.level -= self.decay_step;
                if self.level <= self.sustain {
                    self.level = self.sustain;
                    self.stage = Stage::Sustain;
                }
            }
            Stage::Release => {
                self.level -= self.release_step;
                if self.level <= 0.0 {
                    self.level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
        }
        self.level
    }
}

/// Coefficients of a Cytomic (Simper) state-variable filter.
#[derive(Clone, Copy, Debug, Default)]
pub struct SvfCoefs {
    a1: f32,
    a2: f32,
    /// tan(π fc / fs): with it the low-pass output is `ic2 + g·v1`, two operations where the
    /// textbook's `ic2 + a2·ic1 + a3·v3` takes four (the same value; other rounding).
    g: f32,
    k: f32,
}

impl SvfCoefs {
    #[inline(always)]
    pub fn new(cutoff_hz: f32, resonance: f32, sample_rate_hz: f32) -> Self {
        let fc = clamp_select(cutoff_hz, 16.0, 0.45 * sample_rate_hz);
        let g = tan_fast(PI * fc / sample_rate_hz);
        let k = 2.0 - 1.95 * clamp_select(resonance, 0.0, 1.0);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        Self { a1, a2, g, k }
    }
}

/// What a voice's filter coefficients are made from at a control point.
#[derive(Clone, Copy, Debug, Default)]
struct CutoffInputs {
    env_level: f32,
    env_octaves: f32,
    key_track: f32,
    note: f32,
    velocity_octaves: f32,
    velocity: f32,
    cutoff_hz: f32,
    resonance: f32,
}

impl CutoffInputs {
    /// The filter's coefficients under the live controls `c`: the scalar path calls this per
    /// voice, the lanes per lane (the same arithmetic, so the same bits).
    #[inline(always)]
    fn coefs(&self, c: &VoiceControls) -> SvfCoefs {
        let octaves = self.env_level * self.env_octaves
            + self.key_track * (self.note - 60.0) / 12.0
            + self.velocity_octaves * (self.velocity - 0.5);
        let cutoff = self.cutoff_hz * c.cutoff_scale * exp2_fast(octaves);
        SvfCoefs::new(
            cutoff,
            clamp_select(self.resonance + c.resonance, 0.0, 1.0),
            c.sample_rate_hz,
        )
    }
}

/// Per-oscillator running state of a voice.
#[derive(Clone, Copy, Debug, Default)]
struct OscState {
    /// Each copy's phase, centred: phase - 0.5, in [-0.5, 0.5) (see `osc_sample`). Kept so
    /// between chunks, as every renderer takes it: a conversion at each chunk's edges would
    /// round differently at different block sizes.
    phases: [f32; MAX_UNISON],
    mod_phase: f32,
    dts: [f32; MAX_UNISON],
    /// 1 / `dts`, for the band-limiting corrections.
    inv_dts: [f32; MAX_UNISON],
    /// Frequency ratios of each unison copy to the oscillator's base pitch.
    ratios: [f32; MAX_UNISON],
    count: usize,
    gain: f32,
}

/// Per-block values the engine hands every voice: the live (smoothed) controls.
#[derive(Clone, Copy, Debug)]
pub struct VoiceControls {
    pub sample_rate_hz: f32,
    /// Global cutoff multiplier from the `cutoff_hz` control (1 = the patch's own cutoff).
    pub cutoff_scale: f32,
    pub resonance: f32,
    /// Pitch bend, -1..1, times the patch's bend range.
    pub bend: f32,
    /// Extra detune of oscillator 2 from the `detune_cents` control.
    pub detune_cents: f32,
    /// The engine clock at this control point.
    pub now: u64,
}

/// One voice of the pool.
#[derive(Clone, Copy, Debug, Default)]
pub struct Voice {
    pub note: u8,
    velocity: f32,
    patch: Option<Patch>,
    osc: [OscState; 2],
    amp_env: Adsr,
    filter_env: Adsr,
    coefs: SvfCoefs,
    ic1: f32,
    ic2: f32,
    /// The voice's gain into the left and right bus: its pan times the plan's amplitude
    /// scale, one multiply a sample where the two were two.
    out_l: f32,
    out_r: f32,
    noise: u32,
    /// Note-on order, for stealing the oldest.
    pub started: u64,
    /// Released by note-off while the sustain pedal was down: release when it comes up.
    pub held_by_pedal: bool,
    /// How it renders: fixed when the note starts (see [`Voice::plan`]).
    plan: Plan,
    /// The (bend, detune) the oscillator increments were last computed for; NaN forces it.
    pitch_for: (f32, f32),
    /// The filter envelope's level and the live cutoff and resonance controls (as bits) the
    /// filter's coefficients were last computed for; `None` forces it. While a note sustains
    /// and nobody turns the knobs they do not change, and neither do the coefficients.
    cutoff_for: Option<[u32; 3]>,
    /// The sample the filter envelope has been advanced to. It is read only once per control
    /// segment, so it advances there (by whole segments: the same steps at any block size).
    env_clock: u64,
    /// Something the SIMD lanes keep a copy of between chunks changed outside them (a note
    /// started, released or faded, a new pitch): the lanes load this voice afresh.
    lanes_stale: bool,
}

impl Voice {
    pub fn is_active(&self) -> bool {
        self.amp_env.stage != Stage::Idle
    }

    pub fn is_released(&self) -> bool {
        self.amp_env.stage == Stage::Release
    }

    /// The voice's current loudness, for stealing the quietest.
    pub fn level(&self) -> f32 {
        self.amp_env.level * self.velocity
    }

    pub fn start(
        &mut self,
        note: u8,
        velocity: f32,
        patch: &Patch,
        order: u64,
        sample_rate_hz: f32,
        now: u64,
    ) {
        let restart = self.is_active();
        self.env_clock = now;
        self.note = note;
        self.velocity = velocity.clamp(0.0, 1.0);
        self.patch = Some(*patch);
        for (i, spec) in patch.osc.iter().enumerate() {
            let st = &mut self.osc[i];
            st.count = usize::from(spec.unison).clamp(1, MAX_UNISON);
            st.gain = spec.level.clamp(0.0, 1.0) / (st.count as f32).sqrt();
            for u in 0..st.count {
                let spread = if st.count > 1 {
                    (u as f32 / (st.count - 1) as f32) * 2.0 - 1.0
                } else {
                    0.0
                };
                let cents = spec.detune_cents + spread * spec.unison_cents * 0.5;
                st.ratios[u] = 2f32.powf(spec.semitones / 12.0 + cents / 1200.0);
                if !restart {
                    // Deterministic, note-dependent start phases: repeatable renders, but the
                    // copies and the voices of a chord do not start in lockstep.
                    st.phases[u] = ((f32::from(note) * 0.137 + u as f32 * 0.311 + i as f32 * 0.5)
                        * 1.618)
                        .fract()
                        - 0.5;
                }
            }
        }
        self.noise =
            0x9E37_79B9 ^ (u32::from(note) << 8) ^ (order as u32).wrapping_mul(2_654_435_761);
        if self.noise == 0 {
            self.noise = 1;
        }
        self.amp_env.start(&patch.amp_env, sample_rate_hz);
        self.filter_env.start(&patch.filter_env, sample_rate_hz);
        if !restart {
            self.amp_env.level = 0.0;
            self.filter_env.level = 0.0;
            self.ic1 = 0.0;
            self.ic2 = 0.0;
        }
        let pan = (patch.pan + patch.spread * ((f32::from(note) - 60.0) / 36.0)).clamp(-1.0, 1.0);
        let angle = (pan + 1.0) * PI / 4.0;
        let (pan_l, pan_r) = (angle.cos(), angle.sin());
        self.started = order;
        self.held_by_pedal = false;
        self.pitch_for = (f32::NAN, f32::NAN);
        self.cutoff_for = None;
        self.lanes_stale = true;
        if let Some(plan) = self.make_plan() {
            self.plan = plan;
        }
        self.out_l = pan_l * self.plan.amp_scale;
        self.out_r = pan_r * self.plan.amp_scale;
    }

    /// Brings the filter envelope (advanced only at control points) up to sample `now`.
    fn sync(&mut self, now: u64) {
        let n = now.saturating_sub(self.env_clock);
        self.filter_env.advance(n.min(u64::from(u32::MAX)) as u32);
        self.env_clock = now;
    }

    pub fn release(&mut self, now: u64) {
        self.sync(now);
        self.lanes_stale = true;
        self.amp_env.release();
        self.filter_env.release();
    }

    /// Fades the voice out over `samples`, whatever its envelope says (a crossfade to another
    /// show); the filter envelope releases as usual.
    pub fn fade_out(&mut self, now: u64, samples: u32) {
        self.sync(now);
        self.lanes_stale = true;
        self.amp_env.fade_out(samples);
        self.filter_env.release();
    }

    /// A fast fade, for a voice about to be reused.
    pub fn kill(&mut self, now: u64) {
        self.sync(now);
        self.lanes_stale = true;
        self.amp_env.kill();
    }

    /// Recomputes pitch and filter for the next control segment.
    pub fn update_controls(&mut self, c: &VoiceControls) {
        if let Some(cutoff) = self.update_pitch(c) {
            self.coefs = cutoff.coefs(c);
        }
    }

    /// The part of [`Voice::update_controls`] that is the voice's own: the filter envelope
    /// brought up to now and the oscillators' pitch. Returns what the filter's coefficients are
    /// made from, which the lanes compute for a group at once; `None` when they would be the
    /// ones the voice has (or it has no patch).
    fn update_pitch(&mut self, c: &VoiceControls) -> Option<CutoffInputs> {
        self.sync(c.now);
        let Voice {
            patch,
            osc,
            note,
            velocity,
            filter_env,
            pitch_for,
            cutoff_for,
            lanes_stale,
            ..
        } = self;
        let p = patch.as_ref()?;
        // Pitch only changes with bend and detune: recompute it only then (two powf saved per
        // voice per segment, most of the time).
        if *pitch_for != (c.bend, c.detune_cents) {
            *pitch_for = (c.bend, c.detune_cents);
            *lanes_stale = true;
            let base_hz = note_to_hz(f32::from(*note) + c.bend * p.bend_semitones);
            for (i, st) in osc.iter_mut().enumerate() {
                let extra = if i == 1 {
                    2f32.powf(c.detune_cents / 1200.0)
                } else {
                    1.0
                };
                for u in 0..st.count {
                    st.dts[u] = (base_hz * st.ratios[u] * extra / c.sample_rate_hz).min(0.49);
                    st.inv_dts[u] = 1.0 / st.dts[u];
                }
            }
        }
        // The coefficients are a function of these and of what the note fixed.
        let key = [filter_env.level, c.cutoff_scale, c.resonance].map(f32::to_bits);
        if *cutoff_for == Some(key) {
            return None;
        }
        *cutoff_for = Some(key);
        let f = &p.filter;
        Some(CutoffInputs {
            env_level: filter_env.level,
            env_octaves: f.env_octaves,
            key_track: f.key_track,
            note: f32::from(*note),
            velocity_octaves: f.velocity_octaves,
            velocity: *velocity,
            cutoff_hz: f.cutoff_hz,
            resonance: f.resonance,
        })
    }

    /// Adds this voice's next `left.len()` samples into `left`/`right`: the scalar path, one
    /// voice at a time, and the reference every SIMD path must equal bit for bit.
    ///
    /// Branches once per call, not per sample: each oscillator renders into a chunk buffer in
    /// a loop specialised for its waveform, then one loop specialised for the filter mode runs
    /// the filter and envelopes. (Per-sample `match`es cost this loop about 2× in the bench.)
    pub fn render_add(&mut self, left: &mut [f32], right: &mut [f32]) {
        for (l, r) in left
            .chunks_mut(RENDER_CHUNK)
            .zip(right.chunks_mut(RENDER_CHUNK))
        {
            self.render_chunk(l, r);
        }
        self.end_render();
    }

    /// After a render: a voice that has fallen silent lets its patch go.
    fn end_render(&mut self) {
        if !self.is_active() {
            self.patch = None;
        }
    }

    /// How this voice renders: which plain oscillators run inside the filter loop, the filter
    /// mode and the amplitude scale. `None` without a patch.
    #[inline]
    fn plan(&self) -> Option<Plan> {
        self.patch.as_ref().map(|_| self.plan)
    }

    /// Works the plan out from the patch and the note (all fixed while the note sounds).
    fn make_plan(&self) -> Option<Plan> {
        let p = self.patch.as_ref()?;
        let osc = &self.osc;
        // Oscillator 1, when it is a single plain waveform, runs inside the filter loop: its
        // arithmetic then overlaps the filter's serial dependency chain instead of adding to it.
        let fused = match p.osc[0].waveform {
            _ if p.osc[0].level <= 0.0 || osc[0].count != 1 => FUSE_NONE,
            Waveform::Saw => 0,
            Waveform::Square => 1,
            Waveform::Triangle => 2,
            Waveform::Sine => 3,
            Waveform::Fm | Waveform::Noise => FUSE_NONE,
        };
        // ...and oscillator 2 with it, when it is the same plain waveform (two detuned saws, say).
        let both = fused != FUSE_NONE
            && p.osc[1].level > 0.0
            && osc[1].count == 1
            && p.osc[1].waveform == p.osc[0].waveform;
        let mode = match p.filter.mode {
            FilterMode::Lowpass => 0,
            FilterMode::Bandpass => 1,
            FilterMode::Highpass => 2,
        };
        let amp_scale = 0.5 * (1.0 - p.velocity_amount + p.velocity_amount * self.velocity);
        // Whether anything is left for `premix` to add.
        let premixed = p.osc.iter().enumerate().any(|(i, spec)| {
            spec.level > 0.0 && !((i == 0 && fused != FUSE_NONE) || (i == 1 && both))
        });
        Some(Plan {
            fused,
            both,
            mode,
            amp_scale,
            premixed,
        })
    }

    /// Adds the oscillators the plan does not fuse into the filter loop into `mix`.
    fn premix(&mut self, plan: &Plan, mix: &mut [f32]) {
        // Borrow the patch in place (copying it per chunk showed up in the profile).
        let Voice {
            patch, osc, noise, ..
        } = self;
        let Some(p) = patch.as_ref() else { return };
        for (i, spec) in p.osc.iter().enumerate() {
            if spec.level <= 0.0 || (i == 0 && plan.fused != FUSE_NONE) || (i == 1 && plan.both) {
                continue;
            }
            let st = &mut osc[i];
            let gain = st.gain;
            match spec.waveform {
                Waveform::Noise => noise_add(mix, noise, gain),
                Waveform::Fm => fm_add(mix, st, gain, spec.fm_ratio, spec.fm_index),
                Waveform::Saw => osc_add::<0>(mix, st, gain),
                Waveform::Square => osc_add::<1>(mix, st, gain),
                Waveform::Triangle => osc_add::<2>(mix, st, gain),
                Waveform::Sine => osc_add::<3>(mix, st, gain),
            }
        }
    }

    fn render_chunk(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(plan) = self.plan() else { return };
        let n = left.len();
        let mut mix_buf = [0.0f32; RENDER_CHUNK];
        self.premix(&plan, &mut mix_buf[..n]);
        let mix = &mix_buf[..n];
        let pre = plan.premixed;
        macro_rules! run {
            ($m:literal) => {
                match (plan.fused, plan.both) {
                    (0, false) => self.filter_env_pan::<$m, 0, false>(mix, pre, left, right),
                    (1, false) => self.filter_env_pan::<$m, 1, false>(mix, pre, left, right),
                    (2, false) => self.filter_env_pan::<$m, 2, false>(mix, pre, left, right),
                    (3, false) => self.filter_env_pan::<$m, 3, false>(mix, pre, left, right),
                    (0, true) => self.filter_env_pan::<$m, 0, true>(mix, pre, left, right),
                    (1, true) => self.filter_env_pan::<$m, 1, true>(mix, pre, left, right),
                    (2, true) => self.filter_env_pan::<$m, 2, true>(mix, pre, left, right),
                    (3, true) => self.filter_env_pan::<$m, 3, true>(mix, pre, left, right),
                    _ => self.filter_env_pan::<$m, FUSE_NONE, false>(mix, pre, left, right),
                }
            };
        }
        match plan.mode {
            0 => run!(0),
            1 => run!(1),
            _ => run!(2),
        }
    }

    /// Oscillator 1 when fused (`WF` as in [`osc_sample`], or `FUSE_NONE`), oscillator 2 too
    /// when `TWO`, plus `mix` when `premixed`; then filter (`MODE`: 0 low-pass, 1 band-pass, 2
    /// high-pass), envelope and pan (with the plan's amplitude scale).
    ///
    /// `lanes.rs` runs this same arithmetic, in this same order, for several voices at once:
    /// a change here is a change there.
    #[inline(always)]
    fn filter_env_pan<const MODE: u8, const WF: u8, const TWO: bool>(
        &mut self,
        mix: &[f32],
        premixed: bool,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let c = self.coefs;
        let (mut ic1, mut ic2) = (self.ic1, self.ic2);
        let o1 = &self.osc[0];
        let (mut h, dt, inv, gain) = (o1.phases[0], o1.dts[0], o1.inv_dts[0], o1.gain);
        let o2 = &self.osc[1];
        let (mut h2, dt2, inv2, gain2) = (o2.phases[0], o2.dts[0], o2.inv_dts[0], o2.gain);
        for ((m, l), r) in mix.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            let x = if WF == FUSE_NONE {
                *m
            } else {
                let mut x = gain * osc_sample::<WF>(h, dt, inv);
                h = wrap_centred(h + dt);
                if TWO {
                    x += gain2 * osc_sample::<WF>(h2, dt2, inv2);
                    h2 = wrap_centred(h2 + dt2);
                }
                if premixed { x + *m } else { x }
            };
            let v3 = x - ic2;
            let v1 = c.a1 * ic1 + c.a2 * v3;
            let v2 = ic2 + c.g * v1;
            ic1 = (v1 + v1) - ic1;
            ic2 = (v2 + v2) - ic2;
            let y = match MODE {
                0 => v2,
                1 => v1,
                _ => x - c.k * v1 - v2,
            };
            let s = y * self.amp_env.next();
            *l += s * self.out_l;
            *r += s * self.out_r;
        }
        self.ic1 = ic1;
        self.ic2 = ic2;
        if WF != FUSE_NONE {
            self.osc[0].phases[0] = h;
            if TWO {
                self.osc[1].phases[0] = h2;
            }
        }
    }
}

/// How a voice renders a chunk (see [`Voice::plan`]); voices with equal plans share a kernel
/// in the SIMD lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Plan {
    /// The plain waveform of oscillator 1 run inside the filter loop, or `FUSE_NONE`.
    fused: u8,
    /// Oscillator 2 runs there too.
    both: bool,
    /// 0 low-pass, 1 band-pass, 2 high-pass.
    mode: u8,
    amp_scale: f32,
    /// Some oscillator is rendered ahead into the mix buffer.
    premixed: bool,
}

/// White noise from a xorshift32 state: cheap, deterministic, allocation-free.
#[inline]
fn next_noise(state: &mut u32) -> f32 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    (x as f32 / u32::MAX as f32) * 2.0 - 1.0
}

/// `filter_env_pan`'s "no oscillator fused" marker.
const FUSE_NONE: u8 = 255;

/// Samples a voice renders per inner pass (the engine's control segment is never longer).
const RENDER_CHUNK: usize = 32;

/// One sample of waveform `WF` (0 saw, 1 square: both band-limited by PolyBLEP; 2 triangle,
/// not band-limited; 3 sine) at the centred phase `h` = phase - 0.5, in [-0.5, 0.5).
///
/// Centred, because the band-limited waveforms are symmetric about the middle of the cycle:
/// the saw is `2h` less the residual, `±(2|h| - w²)`, one magnitude and one sign flip, which
/// is the fewest vector instructions of the forms tried, in the voices' hottest loop.
#[inline(always)]
fn osc_sample<const WF: u8>(h: f32, dt: f32, inv_dt: f32) -> f32 {
    match WF {
        0 => {
            let a = h.abs();
            times_sign_of(h, (a + a) - blep_squared(a, dt, inv_dt))
        }
        1 => {
            // +1 in the first half-cycle, -1 in the second; a rising edge at phase 0 and a
            // falling one at 0.5, where the phase half a cycle on has its edge.
            let naive = if h < 0.0 { 1.0 } else { -1.0 };
            let half = wrap_centred(h + 0.5);
            naive + times_sign_of(h, blep_squared(h.abs(), dt, inv_dt))
                - times_sign_of(half, blep_squared(half.abs(), dt, inv_dt))
        }
        2 => 1.0 - 4.0 * h.abs(),
        // sin(2π(h + 0.5)) = -sin(2πh).
        _ => -(2.0 * PI * h).sin(),
    }
}

/// A centred phase advanced past 0.5 comes back by one cycle; a select, so it runs in lanes.
#[inline(always)]
fn wrap_centred(h: f32) -> f32 {
    h - if h >= 0.5 { 1.0 } else { 0.0 }
}

/// Adds white noise from the voice's generator `state` into `mix`.
#[inline(always)]
fn noise_add(mix: &mut [f32], state: &mut u32, gain: f32) {
    for m in mix.iter_mut() {
        *m += gain * next_noise(state);
    }
}

/// Adds an FM oscillator, every unison copy, into `mix`: a sine carrier phase-modulated by a
/// sine at `ratio` times its frequency, `index` radians deep.
#[inline(always)]
fn fm_add(mix: &mut [f32], st: &mut OscState, gain: f32, ratio: f32, index: f32) {
    let index = index / (2.0 * PI);
    for u in 0..st.count {
        // The carrier's phase is centred, as every oscillator's: sin(2π(q + 0.5)) = -sin(2πq).
        let (mut h, dt) = (st.phases[u], st.dts[u]);
        let mut mph = st.mod_phase;
        for m in mix.iter_mut() {
            mph += dt * ratio;
            mph -= mph.floor();
            let mut q = h + index * (2.0 * PI * mph).sin();
            q -= q.floor();
            *m -= gain * (2.0 * PI * q).sin();
            h = wrap_centred(h + dt);
        }
        st.phases[u] = h;
        if u + 1 == st.count {
            st.mod_phase = mph;
        }
    }
}

/// Adds one oscillator of the waveforms [`osc_sample`] makes, every unison copy, into `mix`.
/// `WF` is a constant, so each waveform gets its own branch-free loop.
#[inline(always)]
fn osc_add<const WF: u8>(mix: &mut [f32], st: &mut OscState, gain: f32) {
    for u in 0..st.count {
        let (mut h, dt, inv_dt) = (st.phases[u], st.dts[u], st.inv_dts[u]);
        for m in mix.iter_mut() {
            *m += gain * osc_sample::<WF>(h, dt, inv_dt);
            h = wrap_centred(h + dt);
        }
        st.phases[u] = h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::patch::{FilterSpec, OscSpec};

    fn controls() -> VoiceControls {
        VoiceControls {
            sample_rate_hz: 48_000.0,
            cutoff_scale: 1.0,
            resonance: 0.0,
            bend: 0.0,
            detune_cents: 0.0,
            now: 0,
        }
    }

    fn render(v: &mut Voice, n: usize) -> Vec<f32> {
        let (mut l, mut r) = (vec![0.0; n], vec![0.0; n]);
        for (i, (lc, rc)) in l.chunks_mut(32).zip(r.chunks_mut(32)).enumerate() {
            v.update_controls(&VoiceControls {
                now: 32 * i as u64,
                ..controls()
            });
            v.render_add(lc, rc);
        }
        l
    }

    #[test]
    fn the_fast_exp2_and_tan_stay_within_a_few_millionths_of_the_library() {
        for i in 0..=4000 {
            let x = -20.0 + i as f32 * 0.01;
            let rel = exp2_fast(x) / 2f32.powf(x) - 1.0;
            assert!(rel.abs() < 4e-6, "exp2({x}) off by {rel}");
        }
        // From a 16 Hz cutoff to 0.45 of the sample rate: the filter's whole range.
        for i in 0..=4000 {
            let x = 0.001 + i as f32 * (0.45 * PI - 0.001) / 4000.0;
            let rel = tan_fast(x) / x.tan() - 1.0;
            assert!(rel.abs() < 2e-6, "tan({x}) off by {rel}");
        }
    }

    #[test]
    fn a4_is_440_hz() {
        assert!((note_to_hz(69.0) - 440.0).abs() < 1e-3);
        assert!((note_to_hz(60.0) - 261.6256).abs() < 1e-2);
    }

    /// `n` samples of `wf` at `dt` cycles per sample from phase 0, rendered as a voice renders
    /// it: by the loop that plays that waveform, a chunk at a time.
    fn oscillator_as_played(wf: Waveform, dt: f32, n: usize) -> Vec<f32> {
        let mut st = OscState {
            count: 1,
            ..OscState::default()
        };
        st.dts[0] = dt;
        st.inv_dts[0] = 1.0 / dt;
        let mut noise = 0x9E37_79B9u32;
        let mut out = Vec::new();
        while out.len() < n {
            let mut mix = [0.0f32; RENDER_CHUNK];
            match wf {
                Waveform::Saw => osc_add::<0>(&mut mix, &mut st, 1.0),
                Waveform::Square => osc_add::<1>(&mut mix, &mut st, 1.0),
                Waveform::Triangle => osc_add::<2>(&mut mix, &mut st, 1.0),
                Waveform::Sine => osc_add::<3>(&mut mix, &mut st, 1.0),
                Waveform::Fm => fm_add(&mut mix, &mut st, 1.0, 2.0, 3.0),
                Waveform::Noise => noise_add(&mut mix, &mut noise, 1.0),
            }
            out.extend_from_slice(&mix);
        }
        out.truncate(n);
        out
    }

    /// Every waveform, for tests that take each (here and in `lanes`).
    pub(super) const ALL_WAVEFORMS: [Waveform; 6] = [
        Waveform::Saw,
        Waveform::Square,
        Waveform::Triangle,
        Waveform::Sine,
        Waveform::Fm,
        Waveform::Noise,
    ];

    #[test]
    fn every_waveform_as_the_voices_play_it_stays_within_unit_range_at_any_pitch() {
        // Low, middle and near-Nyquist pitches, over four periods: every wrap (and the
        // PolyBLEP corrections around it) is crossed several times.
        for dt in [0.001f32, 0.01, 0.2] {
            for wf in ALL_WAVEFORMS {
                let out = oscillator_as_played(wf, dt, (4.0 / dt) as usize);
                let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
                assert!(peak <= 1.0 + 1e-6, "{wf:?} at dt {dt} reached {peak}");
                // ...and uses it: silence would pass the line above.
                assert!(peak >= 0.5, "{wf:?} at dt {dt} peaks at only {peak}");
            }
        }
    }

    #[test]
    fn envelope_rises_sustains_and_releases_to_idle() {
        let e = EnvSpec {
            attack_s: 0.001,
            decay_s: 0.001,
            sustain: 0.5,
            release_s: 0.001,
        };
        let mut env = Adsr::default();
        env.start(&e, 48_000.0);
        for _ in 0..200 {
            env.next();
        }
        assert_eq!(env.stage, Stage::Sustain);
        assert!((env.level - 0.5).abs() < 1e-6);
        env.release();
        for _ in 0..200 {
            env.next();
        }
        assert_eq!(env.stage, Stage::Idle);
    }

    #[test]
    fn advancing_an_envelope_in_jumps_follows_the_same_path_as_stepping() {
        let e = EnvSpec {
            attack_s: 0.003,
            decay_s: 0.01,
            sustain: 0.4,
            release_s: 0.005,
        };
        let (mut stepped, mut jumped) = (Adsr::default(), Adsr::default());
        stepped.start(&e, 48_000.0);
        jumped.start(&e, 48_000.0);
        for round in 0..40 {
            if round == 25 {
                stepped.release();
                jumped.release();
            }
            for _ in 0..32 {
                stepped.next();
            }
            jumped.advance(32);
            assert!(
                (stepped.level - jumped.level).abs() < 1e-4,
                "round {round}: {} vs {}",
                stepped.level,
                jumped.level
            );
            assert_eq!(stepped.stage, jumped.stage, "round {round}");
        }
    }

    #[test]
    fn every_waveform_with_unison_and_fm_sounds_and_stays_finite() {
        for wf in ALL_WAVEFORMS {
            let osc = OscSpec {
                waveform: wf,
                unison: 5,
                unison_cents: 30.0,
                fm_index: 3.0,
                ..OscSpec::default()
            };
            let patch = Patch {
                osc: [osc, OscSpec { level: 0.0, ..osc }],
                ..Patch::default()
            };
            let mut v = Voice::default();
            v.start(57, 1.0, &patch, 1, 48_000.0, 0);
            let out = render(&mut v, 4_800);
            let energy: f32 = out.iter().map(|s| s * s).sum();
            assert!(energy > 1.0, "{wf:?} is silent");
            assert!(
                out.iter().all(|s| s.is_finite() && s.abs() < 4.0),
                "{wf:?} blew up"
            );
        }
    }

    #[test]
    fn the_specialised_oscillator_loops_match_the_reference_waveforms() {
        for (wf, code) in [
            (Waveform::Saw, 0u8),
            (Waveform::Square, 1),
            (Waveform::Triangle, 2),
            (Waveform::Sine, 3),
        ] {
            let dt = 440.0 / 48_000.0;
            let mut st = OscState {
                count: 1,
                ..OscState::default()
            };
            st.dts[0] = dt;
            st.inv_dts[0] = 1.0 / dt;
            st.phases[0] = 0.3 - 0.5;
            // 256 samples at 440 Hz: over two periods, so the wrap (and the saw's and square's
            // corrections around it) is compared too.
            let mut mix = [0.0f32; 256];
            match code {
                0 => osc_add::<0>(&mut mix, &mut st, 1.0),
                1 => osc_add::<1>(&mut mix, &mut st, 1.0),
                2 => osc_add::<2>(&mut mix, &mut st, 1.0),
                _ => osc_add::<3>(&mut mix, &mut st, 1.0),
            }
            // The phase advanced as the loop advances it (centred), so only the waveform is
            // compared, not two ways of rounding a phase. Near an edge the reference's phase
            // (`h + 0.5`, rounded to 2^-24) is off by up to 3e-8, which its correction divides
            // by `dt`: a few millionths apart there.
            let (mut h, mut wraps) = (0.3f32 - 0.5, 0);
            for (k, m) in mix.iter().enumerate() {
                assert!(
                    (m - oscillator(wf, h + 0.5, dt)).abs() < 1e-5,
                    "{wf:?} sample {k}: {m} against {}",
                    oscillator(wf, h + 0.5, dt)
                );
                h += dt;
                if h >= 0.5 {
                    h -= 1.0;
                    wraps += 1;
                }
            }
            assert!(wraps >= 2, "{wf:?}: only {wraps} wraps compared");
        }
    }

    #[test]
    fn key_tracking_opens_the_filter_for_higher_notes() {
        let patch = Patch {
            filter: FilterSpec {
                key_track: 1.0,
                env_octaves: 0.0,
                velocity_octaves: 0.0,
                ..FilterSpec::default()
            },
            ..Patch::default()
        };
        let mut lo = Voice::default();
        lo.start(48, 1.0, &patch, 1, 48_000.0, 0);
        lo.update_controls(&controls());
        let mut hi = Voice::default();
        hi.start(72, 1.0, &patch, 2, 48_000.0, 0);
        hi.update_controls(&controls());
        // g = tan(pi fc / fs) grows with the cutoff; a2 = g * a1 is monotonic in g here.
        assert!(hi.coefs.a2 > lo.coefs.a2);
    }
}
