//! A simple polyphonic subtractive voice: two detuned band-limited oscillators into a
//! state-variable low-pass filter, shaped by an ADSR envelope and panned by note.
//! Deliberately small: the walking skeleton's instrument, deepened in issue 3.

use std::f32::consts::PI;

/// The oscillator shape of a patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Waveform {
    #[default]
    Saw,
    Square,
    Triangle,
    Sine,
}

impl Waveform {
    pub const NAMES: [&'static str; 4] = ["saw", "square", "triangle", "sine"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "saw" => Some(Self::Saw),
            "square" => Some(Self::Square),
            "triangle" => Some(Self::Triangle),
            "sine" => Some(Self::Sine),
            _ => None,
        }
    }
}

/// Everything a voice needs to know about its sound. `Copy`, so it can travel the event
/// queue to the audio thread without allocation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Patch {
    pub waveform: Waveform,
    /// Maximum simultaneous voices for this patch (at most [`MAX_VOICES`]).
    pub voices: u8,
    pub detune_cents: f32,
    pub cutoff_hz: f32,
    pub resonance: f32,
    pub attack_s: f32,
    pub decay_s: f32,
    pub sustain: f32,
    pub release_s: f32,
    pub gain_db: f32,
}

impl Default for Patch {
    fn default() -> Self {
        Self {
            waveform: Waveform::Saw,
            voices: 8,
            detune_cents: 7.0,
            cutoff_hz: 2_400.0,
            resonance: 0.2,
            attack_s: 0.01,
            decay_s: 0.3,
            sustain: 0.7,
            release_s: 0.6,
            gain_db: -12.0,
        }
    }
}

/// The engine's fixed voice pool size. Fixed so the pool is allocated once, up front.
pub const MAX_VOICES: usize = 32;

/// Converts a MIDI note number to Hz (A4 = 69 = 440 Hz).
pub fn note_to_hz(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}

/// PolyBLEP residual: subtracts the aliasing of a hard edge at phase 0 for phase `t` in
/// [0, 1) advancing by `dt` per sample.
fn poly_blep(t: f32, dt: f32) -> f32 {
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// One band-limited oscillator sample at `phase` in [0, 1).
fn oscillator(waveform: Waveform, phase: f32, dt: f32) -> f32 {
    match waveform {
        Waveform::Saw => 2.0 * phase - 1.0 - poly_blep(phase, dt),
        Waveform::Square => {
            let naive = if phase < 0.5 { 1.0 } else { -1.0 };
            let mut half = phase + 0.5;
            if half >= 1.0 {
                half -= 1.0;
            }
            naive + poly_blep(phase, dt) - poly_blep(half, dt)
        }
        Waveform::Triangle => 1.0 - 4.0 * (phase - 0.5).abs(),
        Waveform::Sine => (2.0 * PI * phase).sin(),
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

/// A linear-segment ADSR. Rates are per sample, computed at note-on from the voice's patch.
#[derive(Clone, Copy, Debug, Default)]
struct Adsr {
    stage: Stage,
    level: f32,
    attack_step: f32,
    decay_step: f32,
    sustain: f32,
    release_step: f32,
}

impl Adsr {
    fn start(&mut self, p: &Patch, sample_rate_hz: f32) {
        let per = |s: f32| 1.0 / (s.max(0.001) * sample_rate_hz);
        self.attack_step = per(p.attack_s);
        self.decay_step = per(p.decay_s) * (1.0 - p.sustain).max(0.0);
        self.sustain = p.sustain.clamp(0.0, 1.0);
        self.release_step = per(p.release_s);
        self.stage = Stage::Attack;
    }

    fn release(&mut self) {
        if self.stage != Stage::Idle {
            self.stage = Stage::Release;
            // Release from wherever the level is, over the patch's release time.
            self.release_step *= self.level.max(1e-3);
        }
    }

    #[inline]
    fn next(&mut self) -> f32 {
        match self.stage {
            Stage::Idle => {}
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
            Stage::Sustain => {}
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

/// Coefficients of a Cytomic (Simper) state-variable filter, recomputed per control chunk.
#[derive(Clone, Copy, Debug, Default)]
pub struct SvfCoefs {
    a1: f32,
    a2: f32,
    a3: f32,
}

impl SvfCoefs {
    pub fn lowpass(cutoff_hz: f32, resonance: f32, sample_rate_hz: f32) -> Self {
        let fc = cutoff_hz.clamp(20.0, 0.45 * sample_rate_hz);
        let g = (PI * fc / sample_rate_hz).tan();
        let k = 2.0 - 1.95 * resonance.clamp(0.0, 1.0);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        let a3 = g * a2;
        Self { a1, a2, a3 }
    }
}

/// One sounding (or idle) voice in the pool.
#[derive(Clone, Copy, Debug, Default)]
pub struct Voice {
    pub note: u8,
    velocity: f32,
    patch: Patch,
    phase_a: f32,
    phase_b: f32,
    dt_a: f32,
    dt_b: f32,
    env: Adsr,
    ic1: f32,
    ic2: f32,
    pan_l: f32,
    pan_r: f32,
    /// Note-on order, for stealing the oldest.
    pub started: u64,
}

impl Voice {
    pub fn is_active(&self) -> bool {
        self.env.stage != Stage::Idle
    }

    pub fn is_released(&self) -> bool {
        self.env.stage == Stage::Release
    }

    pub fn start(
        &mut self,
        note: u8,
        velocity: f32,
        patch: &Patch,
        order: u64,
        sample_rate_hz: f32,
    ) {
        let hz = note_to_hz(f32::from(note));
        let detune = 2f32.powf(patch.detune_cents / 1200.0);
        self.note = note;
        self.velocity = velocity.clamp(0.0, 1.0);
        self.patch = *patch;
        self.dt_a = (hz / detune / sample_rate_hz).min(0.49);
        self.dt_b = (hz * detune / sample_rate_hz).min(0.49);
        // Start phases from the note number so renders are deterministic but voices of a
        // chord do not start in lockstep.
        self.phase_a = (f32::from(note) * 0.137).fract();
        self.phase_b = (f32::from(note) * 0.291).fract();
        self.env = Adsr::default();
        self.env.start(patch, sample_rate_hz);
        self.ic1 = 0.0;
        self.ic2 = 0.0;
        // Equal-power pan: low notes a little left, high notes a little right.
        let pan = ((f32::from(note) - 60.0) / 48.0).clamp(-0.5, 0.5);
        let angle = (pan + 1.0) * PI / 4.0;
        self.pan_l = angle.cos();
        self.pan_r = angle.sin();
        self.started = order;
    }

    pub fn release(&mut self) {
        self.env.release();
    }

    /// Adds this voice's next `left.len()` samples into `left`/`right`.
    #[inline]
    pub fn render_add(&mut self, left: &mut [f32], right: &mut [f32], coefs: SvfCoefs) {
        let wf = self.patch.waveform;
        let amp = self.velocity * 0.5;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let osc = 0.5
                * (oscillator(wf, self.phase_a, self.dt_a)
                    + oscillator(wf, self.phase_b, self.dt_b));
            self.phase_a += self.dt_a;
            if self.phase_a >= 1.0 {
                self.phase_a -= 1.0;
            }
            self.phase_b += self.dt_b;
            if self.phase_b >= 1.0 {
                self.phase_b -= 1.0;
            }
            let v3 = osc - self.ic2;
            let v1 = coefs.a1 * self.ic1 + coefs.a2 * v3;
            let v2 = self.ic2 + coefs.a2 * self.ic1 + coefs.a3 * v3;
            self.ic1 = 2.0 * v1 - self.ic1;
            self.ic2 = 2.0 * v2 - self.ic2;
            let s = v2 * self.env.next() * amp;
            *l += s * self.pan_l;
            *r += s * self.pan_r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a4_is_440_hz() {
        assert!((note_to_hz(69.0) - 440.0).abs() < 1e-3);
        assert!((note_to_hz(60.0) - 261.6256).abs() < 1e-2);
    }

    #[test]
    fn every_waveform_stays_within_unit_range() {
        for wf in [
            Waveform::Saw,
            Waveform::Square,
            Waveform::Triangle,
            Waveform::Sine,
        ] {
            let dt = 0.01;
            let mut phase = 0.0;
            for _ in 0..1000 {
                let s = oscillator(wf, phase, dt);
                assert!(s.abs() <= 1.01, "{wf:?} gave {s}");
                phase = (phase + dt).fract();
            }
        }
    }

    #[test]
    fn envelope_rises_sustains_and_releases_to_idle() {
        let patch = Patch {
            attack_s: 0.001,
            decay_s: 0.001,
            sustain: 0.5,
            release_s: 0.001,
            ..Patch::default()
        };
        let mut env = Adsr::default();
        env.start(&patch, 48_000.0);
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
}
