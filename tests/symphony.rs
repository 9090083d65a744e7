//! The neuro-symphony composer, judged by ear, not by its internals: each performance is
//! rendered to audio, and every bar's chroma (energy per pitch class, 55 Hz..2 kHz) is measured.
//!
//! - Dissonance of a bar: the energy-weighted share of clashing pitch-class pairs (semitone or
//!   major seventh: 1, tritone: 0.6, whole tone or minor seventh: 0.3).
//! - Concentration of a bar: the share of its energy in its three strongest pitch classes.
//!
//! Raising tension must raise dissonance; raising unity must raise concentration.

mod common;

use std::path::Path;

use common::*;
use somnia::offline::render_blocks;
use somnia::show::compile::load_timeline;

const BAR_S: f64 = 2.0; // 4/4 at 120 BPM

/// Renders a 16-bar performance with the given macros and returns its per-bar chroma.
fn chroma_per_bar(dir: &Path, name: &str, macros: &str) -> Vec<[f64; 12]> {
    let perf = dir.join(format!("performances/{name}.toml"));
    let text = format!(
        "duration = 32\npreset = \"cool\"\ntempo_bpm = 120\n\n[symphony]\nseed = 11\nkey = \"C\"\nmode = \"major\"\n{macros}\n"
    );
    std::fs::write(&perf, text).unwrap();
    let tl = load_timeline(&perf).unwrap();
    let mut mono = Vec::new();
    render_blocks(
        &tl,
        32.0,
        48_000,
        256,
        |b| {
            mono.extend(b.chunks(2).map(|f| 0.5 * (f[0] + f[1])));
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    let bar = (BAR_S * 48_000.0) as usize;
    mono.chunks_exact(bar)
        .map(|w| {
            let spec = spectrum(w);
            let mut chroma = [0.0f64; 12];
            for (k, m) in spec.iter().enumerate() {
                let hz = k as f64 * 48_000.0 / w.len() as f64;
                if (55.0..2_000.0).contains(&hz) {
                    let pc = ((12.0 * (hz / 440.0).log2() + 69.0).round() as i64).rem_euclid(12)
                        as usize;
                    chroma[pc] += f64::from(*m).powi(2);
                }
            }
            chroma
        })
        .collect()
}

fn dissonance(c: &[f64; 12]) -> f64 {
    let weight = |d: usize| match d.min(12 - d) {
        1 => 1.0,
        6 => 0.6,
        2 => 0.3,
        _ => 0.0,
    };
    let total: f64 = c.iter().sum();
    let mut d = 0.0;
    for i in 0..12 {
        for j in i + 1..12 {
            d += c[i] * c[j] * weight(j - i);
        }
    }
    d / (total * total)
}

fn concentration(c: &[f64; 12]) -> f64 {
    let mut s = *c;
    s.sort_by(|a, b| b.total_cmp(a));
    (s[0] + s[1] + s[2]) / c.iter().sum::<f64>()
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

fn project() -> tempfile::TempDir {
    temp_project(&[("cool", "cool")])
}

#[test]
fn more_tension_makes_the_rendered_harmony_more_dissonant() {
    let dir = project();
    let calm = chroma_per_bar(
        dir.path(),
        "calm",
        "tension = 0.05\ndensity = 0.5\nunity = 0.7",
    );
    let tense = chroma_per_bar(
        dir.path(),
        "tense",
        "tension = 0.95\ndensity = 0.5\nunity = 0.7",
    );
    let (dc, dt) = (
        mean(calm.iter().map(dissonance)),
        mean(tense.iter().map(dissonance)),
    );
    eprintln!("dissonance: calm {dc:.4}, tense {dt:.4}");
    assert!(
        dt > 1.3 * dc,
        "tension should raise dissonance: calm {dc:.4}, tense {dt:.4}"
    );
}

#[test]
fn more_unity_concentrates_the_rendered_harmony_on_fewer_pitch_classes() {
    let dir = project();
    let apart = chroma_per_bar(
        dir.path(),
        "apart",
        "tension = 0.3\ndensity = 0.8\nunity = 0.0",
    );
    let united = chroma_per_bar(
        dir.path(),
        "united",
        "tension = 0.3\ndensity = 0.8\nunity = 1.0",
    );
    let (ca, cu) = (
        mean(apart.iter().map(concentration)),
        mean(united.iter().map(concentration)),
    );
    eprintln!("concentration: apart {ca:.4}, united {cu:.4}");
    assert!(
        cu > ca + 0.04,
        "unity should concentrate the harmony: apart {ca:.4}, united {cu:.4}"
    );
}

#[test]
fn the_same_symphony_renders_the_same_audio() {
    let dir = project();
    let a = chroma_per_bar(dir.path(), "a", "tension = 0.5");
    let b = chroma_per_bar(dir.path(), "b", "tension = 0.5");
    assert_eq!(a, b);
}
