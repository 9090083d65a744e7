//! The neuro-symphony generator: a seeded, deterministic composer that turns a few musical
//! macros into chords, a bass line, pads and melodic phrases, so a performance sounds like
//! music without a live player.
//!
//! - `key` and `mode` choose the scale;
//! - `tension` moves the harmony from plain triads on stable degrees (I, IV, V, vi) towards
//!   sevenths, ninths, unstable degrees and chromatic clashes;
//! - `density` is how busy the bass and melody are;
//! - `unity` is how much the parts agree: at 1 the melody sings chord tones in step with the
//!   bass; at 0 it wanders through the whole scale and beyond, off the beat, each part its own
//!   dream.
//!
//! Each bar draws from its own random stream (seed, bar, part), so a bar's music depends only
//! on the seed and the macros in force at that bar, never on what was generated before it.

use super::timeline::{AudioAction, AudioCue};
use crate::clock::Tempo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Ionian,
    Dorian,
    Phrygian,
    Lydian,
    Mixolydian,
    Aeolian,
    Locrian,
    HarmonicMinor,
}

impl Mode {
    pub const NAMES: [&'static str; 10] = [
        "major",
        "minor",
        "ionian",
        "dorian",
        "phrygian",
        "lydian",
        "mixolydian",
        "aeolian",
        "locrian",
        "harmonic_minor",
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "major" | "ionian" => Mode::Ionian,
            "minor" | "aeolian" => Mode::Aeolian,
            "dorian" => Mode::Dorian,
            "phrygian" => Mode::Phrygian,
            "lydian" => Mode::Lydian,
            "mixolydian" => Mode::Mixolydian,
            "locrian" => Mode::Locrian,
            "harmonic_minor" => Mode::HarmonicMinor,
            _ => return None,
        })
    }

    fn steps(self) -> [u8; 7] {
        match self {
            Mode::Ionian => [0, 2, 4, 5, 7, 9, 11],
            Mode::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Mode::Phrygian => [0, 1, 3, 5, 7, 8, 10],
            Mode::Lydian => [0, 2, 4, 6, 7, 9, 11],
            Mode::Mixolydian => [0, 2, 4, 5, 7, 9, 10],
            Mode::Aeolian => [0, 2, 3, 5, 7, 8, 10],
            Mode::Locrian => [0, 1, 3, 5, 6, 8, 10],
            Mode::HarmonicMinor => [0, 2, 3, 5, 7, 8, 11],
        }
    }
}

/// Parses a key name (`C`, `F#`, `Bb`) to a pitch class.
pub fn key_from_name(name: &str) -> Option<u8> {
    let mut chars = name.trim().chars();
    let base: i32 = match chars.next()?.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let acc = match chars.as_str() {
        "" => 0,
        "#" => 1,
        "b" => -1,
        _ => return None,
    };
    Some((base + acc).rem_euclid(12) as u8)
}

/// The composer's controls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Macros {
    /// Pitch class of the tonic, 0 = C.
    pub key: u8,
    pub mode: Mode,
    pub tension: f32,
    pub density: f32,
    pub unity: f32,
}

impl Default for Macros {
    fn default() -> Self {
        Self {
            key: 2,
            mode: Mode::Dorian,
            tension: 0.3,
            density: 0.5,
            unity: 0.6,
        }
    }
}

/// What to compose: from `start_s` to `end_s`, starting from `base` and changing macros at
/// the given times (sorted; a change takes effect from the next bar).
#[derive(Clone, Debug, PartialEq)]
pub struct SymphonySpec {
    pub seed: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub base: Macros,
    pub changes: Vec<(f64, Macros)>,
}

/// SplitMix64: tiny, fast, and (unlike library RNGs whose algorithms may change between
/// versions) guaranteed to give the same numbers forever, which determinism needs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, bar: u64, part: u64) -> Self {
        let mut r = Rng(seed
            ^ bar.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ part.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// An index drawn with the given weights.
    fn pick(&mut self, weights: &[f32]) -> usize {
        let total: f32 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

const PART_HARMONY: u64 = 1;
const PART_BASS: u64 = 2;
const PART_MELODY: u64 = 3;

/// One bar's harmony: the chord's pitch classes (root first).
fn chord_for_bar(spec_seed: u64, bar: u64, m: &Macros) -> Vec<u8> {
    let mut rng = Rng::new(spec_seed, bar, PART_HARMONY);
    let t = m.tension.clamp(0.0, 1.0);
    // Degree weights, I..vii: stable degrees when relaxed, unstable ones under tension.
    let calm = [4.0, 1.0, 0.6, 2.5, 2.5, 2.0, 0.2];
    let tense = [0.4, 1.5, 1.5, 0.8, 1.5, 0.8, 2.0];
    let weights: Vec<f32> = calm
        .iter()
        .zip(tense)
        .map(|(c, x)| c + (x - c) * t)
        .collect();
    // Phrases start and end at home when calm.
    let degree = if bar % 4 == 0 && rng.chance(1.0 - t) {
        0
    } else {
        rng.pick(&weights)
    };
    let steps = m.mode.steps();
    let pc = |d: usize| (m.key + steps[d % 7]) % 12;
    let mut chord = vec![pc(degree), pc(degree + 2), pc(degree + 4)];
    if rng.chance(t * 1.2) {
        chord.push(pc(degree + 6)); // seventh
    }
    if rng.chance((t - 0.4) * 2.0) {
        chord.push(pc(degree + 8)); // ninth
    }
    if rng.chance((t - 0.6) * 2.5) {
        // Outside the scale: a semitone clash or a tritone over the root.
        let clash = if rng.chance(0.5) { 1 } else { 6 };
        chord.push((pc(degree) + clash) % 12);
    }
    chord
}

/// MIDI note of pitch class `pc` at or just above `floor`.
fn place(pc: u8, floor: u8) -> u8 {
    let mut n = floor - floor % 12 + pc;
    if n < floor {
        n += 12;
    }
    n
}

/// Composes the notes of `spec` on `tempo`'s beat grid (tempo changes bend it). Positions and
/// lengths below are in beats; they become seconds only when a note is written.
pub fn compose(spec: &SymphonySpec, tempo: &Tempo) -> Vec<AudioCue> {
    let beat_s = 1.0;
    let bar_s = f64::from(tempo.beats_per_bar.max(1));
    let beats = tempo.beats_per_bar.max(1) as usize;
    let start_beat = tempo.beats_at(spec.start_s);
    let mut out = Vec::new();
    let note = |b: f64, len: f64, n: u8, v: f32, out: &mut Vec<AudioCue>| {
        let t = tempo.time_at_beat(b);
        if t >= spec.end_s {
            return;
        }
        let off = tempo.time_at_beat(b + len).min(spec.end_s);
        out.push(AudioCue {
            time_s: t,
            action: AudioAction::NoteOn {
                note: n.min(127),
                velocity: v,
            },
        });
        out.push(AudioCue {
            time_s: off,
            action: AudioAction::NoteOff { note: n.min(127) },
        });
    };
    let mut bar = 0u64;
    loop {
        let t0 = start_beat + bar as f64 * bar_s;
        if tempo.time_at_beat(t0) >= spec.end_s {
            break;
        }
        let m = spec
            .changes
            .iter()
            .rev()
            .find(|(t, _)| *t <= tempo.time_at_beat(t0) + 1e-9)
            .map_or(spec.base, |(_, m)| *m);
        let chord = chord_for_bar(spec.seed, bar, &m);
        let density = m.density.clamp(0.0, 1.0);
        let unity = m.unity.clamp(0.0, 1.0);

        // Pad: the chord, voiced from G3 up, held for the bar.
        for (i, pc) in chord.iter().enumerate() {
            let floor = if i == 0 { 55 } else { 58 };
            note(t0, bar_s * 0.98, place(*pc, floor), 0.4, &mut out);
        }

        // Bass: the root on the downbeat; more notes as density rises.
        let mut rng = Rng::new(spec.seed, bar, PART_BASS);
        let root = place(chord[0], 36);
        note(t0, beat_s * 1.9, root, 0.85, &mut out);
        for b in 1..beats {
            let t = t0 + b as f64 * beat_s;
            if b == beats / 2 && density > 0.25 {
                let fifth = place(chord[2], root);
                note(
                    t,
                    beat_s * 0.9,
                    if rng.chance(0.6) { fifth } else { root },
                    0.7,
                    &mut out,
                );
            } else if rng.chance((density - 0.5) * 1.6) {
                note(
                    t,
                    beat_s * 0.45,
                    root + 12 * u8::from(rng.chance(0.3)),
                    0.6,
                    &mut out,
                );
            }
        }

        // Melody: eighth-note slots filled with probability `density`.
        let mut rng = Rng::new(spec.seed, bar, PART_MELODY);
        let steps = m.mode.steps();
        let mut pitch = place(chord[0], 67);
        for slot in 0..beats * 2 {
            if !rng.chance(density * 0.85) {
                continue;
            }
            let mut t = t0 + slot as f64 * beat_s * 0.5;
            // Low unity: lines drift off the shared pulse.
            if rng.chance((1.0 - unity) * 0.6) {
                t += beat_s * 0.25;
            }
            let pc = if rng.chance(0.25 + 0.75 * unity) {
                chord[rng.pick(&vec![1.0; chord.len()])]
            } else if rng.chance(0.5 + 0.5 * (1.0 - m.tension)) {
                (m.key + steps[rng.pick(&[1.0; 7])]) % 12
            } else {
                rng.pick(&[1.0; 12]) as u8
            };
            // Move to the nearest octave of that pitch class, within the singing range.
            let mut next = place(pc, pitch.saturating_sub(6).max(60));
            if next > 84 {
                next -= 12;
            }
            pitch = next;
            note(
                t,
                beat_s * if rng.chance(0.3) { 0.95 } else { 0.45 },
                pitch,
                0.65,
                &mut out,
            );
        }
        bar += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(m: Macros) -> SymphonySpec {
        SymphonySpec {
            seed: 7,
            start_s: 0.0,
            end_s: 32.0,
            base: m,
            changes: vec![],
        }
    }

    fn notes(cues: &[AudioCue]) -> Vec<(u64, u8)> {
        cues.iter()
            .filter_map(|c| match c.action {
                AudioAction::NoteOn { note, .. } => Some(((c.time_s * 1000.0) as u64, note)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_same_seed_and_macros_give_the_same_music() {
        let a = compose(&spec(Macros::default()), &Tempo::default());
        let b = compose(&spec(Macros::default()), &Tempo::default());
        assert_eq!(a, b);
        assert!(notes(&a).len() > 50);
    }

    #[test]
    fn another_seed_gives_other_music() {
        let a = compose(&spec(Macros::default()), &Tempo::default());
        let mut s = spec(Macros::default());
        s.seed = 8;
        assert_ne!(notes(&a), notes(&compose(&s, &Tempo::default())));
    }

    #[test]
    fn relaxed_harmony_stays_in_the_scale() {
        let m = Macros {
            key: 0,
            mode: Mode::Ionian,
            tension: 0.0,
            density: 0.6,
            unity: 1.0,
        };
        let scale = Mode::Ionian.steps();
        let ns = notes(&compose(&spec(m), &Tempo::default()));
        for (_, n) in &ns {
            assert!(scale.contains(&(n % 12)), "note {n} is outside C major");
        }
        // Music, not one repeated note: many notes over most of the scale.
        let classes: std::collections::BTreeSet<u8> = ns.iter().map(|(_, n)| n % 12).collect();
        assert!(ns.len() > 20, "{} notes", ns.len());
        assert!(classes.len() >= 5, "pitch classes {classes:?}");
    }

    #[test]
    fn density_makes_more_notes() {
        let sparse = compose(
            &spec(Macros {
                density: 0.1,
                ..Macros::default()
            }),
            &Tempo::default(),
        );
        let busy = compose(
            &spec(Macros {
                density: 0.9,
                ..Macros::default()
            }),
            &Tempo::default(),
        );
        assert!(notes(&busy).len() > notes(&sparse).len() + 40);
    }

    #[test]
    fn a_macro_change_applies_from_the_next_bar_only() {
        let calm = Macros {
            key: 0,
            mode: Mode::Ionian,
            tension: 0.0,
            density: 0.5,
            unity: 1.0,
        };
        let mut s = spec(calm);
        s.changes.push((15.0, Macros { key: 6, ..calm })); // F# from bar 8 (16 s at 120 BPM)
        let all = notes(&compose(&s, &Tempo::default()));
        let before = compose(&spec(calm), &Tempo::default());
        let before: Vec<_> = notes(&before)
            .into_iter()
            .filter(|(t, _)| *t < 16_000)
            .collect();
        let same: Vec<_> = all.iter().copied().filter(|(t, _)| *t < 16_000).collect();
        assert!(
            before.iter().any(|(t, _)| (15_000..16_000).contains(t)),
            "notes between the change and the next bar, to show they did not change"
        );
        assert_eq!(same, before);
        // From the bar on: F# major, and not all of it in C major.
        let after: Vec<u8> = all
            .iter()
            .filter(|(t, _)| (16_000..18_000).contains(t))
            .map(|(_, n)| *n)
            .collect();
        let f_sharp_major = |n: u8| [0, 2, 4, 5, 7, 9, 11].contains(&((n + 6) % 12));
        assert!(
            !after.is_empty() && after.iter().all(|n| f_sharp_major(*n)),
            "{after:?}"
        );
        assert!(
            after
                .iter()
                .any(|n| !Mode::Ionian.steps().contains(&(n % 12))),
            "{after:?}"
        );
    }
}
