//! The `[audio]` table of a preset: a synth patch, validated field by field with positions.
//!
//! ```toml
//! [audio]
//! voices = 16            # polyphony, 1..=128
//! gain_db = -10
//! pan = 0.0              # -1 left .. 1 right
//! spread = 0.5           # notes spread across the stereo field by pitch
//! velocity_amount = 0.7  # how much velocity changes the level
//! bend_semitones = 2
//! [audio.osc1]           # and [audio.osc2]
//! waveform = "saw"       # saw | square | triangle | sine | fm | noise
//! level = 0.7
//! semitones = 0
//! detune_cents = 0
//! unison = 3             # 1..=7 stacked copies...
//! unison_cents = 20      # ...spread over this many cents
//! fm_ratio = 2           # for "fm": modulator frequency / carrier frequency
//! fm_index = 1
//! [audio.filter]
//! mode = "lowpass"       # lowpass | bandpass | highpass
//! cutoff_hz = 1800
//! resonance = 0.3
//! env_octaves = 2        # filter envelope depth
//! key_track = 0.5        # 0..1: cutoff follows the note
//! velocity_octaves = 1
//! [audio.amp_env]        # and [audio.filter_env]
//! attack_s = 0.01
//! decay_s = 0.3
//! sustain = 0.7
//! release_s = 0.8
//! ```

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::diag::{Diagnostic, Reporter};
use super::schema::{Nested, Shape};
use crate::bridge::patch::{EnvSpec, FilterMode, MAX_UNISON, MAX_VOICES, OscSpec, Patch, Waveform};

type Num = Option<Spanned<f64>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioFile {
    voices: Num,
    gain_db: Num,
    pan: Num,
    spread: Num,
    velocity_amount: Num,
    bend_semitones: Num,
    osc1: Option<OscFile>,
    osc2: Option<OscFile>,
    filter: Option<FilterFile>,
    amp_env: Option<EnvFile>,
    filter_env: Option<EnvFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OscFile {
    waveform: Option<Spanned<String>>,
    level: Num,
    semitones: Num,
    detune_cents: Num,
    unison: Num,
    unison_cents: Num,
    fm_ratio: Num,
    fm_index: Num,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterFile {
    mode: Option<Spanned<String>>,
    cutoff_hz: Num,
    resonance: Num,
    env_octaves: Num,
    key_track: Num,
    velocity_octaves: Num,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvFile {
    attack_s: Num,
    decay_s: Num,
    sustain: Num,
    release_s: Num,
}

/// The `[audio]` table's shape, for reporting every unknown key at once.
pub(crate) fn audio_shape() -> Shape {
    let osc = || Nested::Table(Shape::of::<OscFile>(vec![]));
    let env = || Nested::Table(Shape::of::<EnvFile>(vec![]));
    Shape::of::<AudioFile>(vec![
        ("osc1", osc()),
        ("osc2", osc()),
        ("filter", Nested::Table(Shape::of::<FilterFile>(vec![]))),
        ("amp_env", env()),
        ("filter_env", env()),
    ])
}

/// Copies `v` into `dst` when it is within `lo..=hi`; reports it otherwise.
fn num(r: &mut Reporter, v: &Num, name: &str, lo: f64, hi: f64, dst: &mut f32) {
    if let Some(x) = v.as_ref().and_then(|v| r.within(v, name, lo, hi)) {
        *dst = x as f32;
    }
}

/// A count 1..=`hi`, whole.
fn count(r: &mut Reporter, v: &Num, name: &str, hi: usize, dst: &mut u8) {
    let mut x = f32::from(*dst);
    num(r, v, name, 1.0, hi as f64, &mut x);
    if let Some(v) = v {
        if v.get_ref().fract() != 0.0 {
            r.error(v.span(), format!("{name} must be a whole number"));
        }
    }
    *dst = x as u8;
}

/// Copies the name `v` as one of `names` into `dst`; reports an unknown one.
fn choice<T>(
    r: &mut Reporter,
    v: &Option<Spanned<String>>,
    what: &str,
    names: &[&str],
    parse: fn(&str) -> Option<T>,
    dst: &mut T,
) {
    if let Some(x) = v.as_ref().and_then(|v| r.choice(v, what, names, parse)) {
        *dst = x;
    }
}

fn osc(r: &mut Reporter, f: &OscFile, o: &mut OscSpec, n: u8) {
    choice(
        r,
        &f.waveform,
        "waveform",
        &Waveform::NAMES,
        Waveform::from_name,
        &mut o.waveform,
    );
    num(
        r,
        &f.level,
        &format!("osc{n}.level"),
        0.0,
        1.0,
        &mut o.level,
    );
    num(
        r,
        &f.semitones,
        &format!("osc{n}.semitones"),
        -48.0,
        48.0,
        &mut o.semitones,
    );
    num(
        r,
        &f.detune_cents,
        &format!("osc{n}.detune_cents"),
        -100.0,
        100.0,
        &mut o.detune_cents,
    );
    count(
        r,
        &f.unison,
        &format!("osc{n}.unison"),
        MAX_UNISON,
        &mut o.unison,
    );
    num(
        r,
        &f.unison_cents,
        &format!("osc{n}.unison_cents"),
        0.0,
        100.0,
        &mut o.unison_cents,
    );
    num(
        r,
        &f.fm_ratio,
        &format!("osc{n}.fm_ratio"),
        0.0625,
        16.0,
        &mut o.fm_ratio,
    );
    num(
        r,
        &f.fm_index,
        &format!("osc{n}.fm_index"),
        0.0,
        20.0,
        &mut o.fm_index,
    );
}

fn env(r: &mut Reporter, f: &EnvFile, e: &mut EnvSpec) {
    num(r, &f.attack_s, "attack_s", 0.0, 30.0, &mut e.attack_s);
    num(r, &f.decay_s, "decay_s", 0.0, 30.0, &mut e.decay_s);
    num(r, &f.sustain, "sustain", 0.0, 1.0, &mut e.sustain);
    num(r, &f.release_s, "release_s", 0.0, 30.0, &mut e.release_s);
}

/// Builds a patch from the `[audio]` table, on top of the defaults; errors go to `diags`.
pub fn parse_patch(path: &Path, src: &str, a: &AudioFile, diags: &mut Vec<Diagnostic>) -> Patch {
    let mut p = Patch::default();
    let mut r = Reporter::new(path, src, diags);
    let c = &mut r;
    count(c, &a.voices, "voices", MAX_VOICES, &mut p.voices);
    num(c, &a.gain_db, "gain_db", -60.0, 6.0, &mut p.gain_db);
    num(c, &a.pan, "pan", -1.0, 1.0, &mut p.pan);
    num(c, &a.spread, "spread", 0.0, 1.0, &mut p.spread);
    num(
        c,
        &a.velocity_amount,
        "velocity_amount",
        0.0,
        1.0,
        &mut p.velocity_amount,
    );
    num(
        c,
        &a.bend_semitones,
        "bend_semitones",
        0.0,
        24.0,
        &mut p.bend_semitones,
    );
    if let Some(o) = &a.osc1 {
        osc(c, o, &mut p.osc[0], 1);
    }
    if let Some(o) = &a.osc2 {
        osc(c, o, &mut p.osc[1], 2);
    }
    if let Some(f) = &a.filter {
        choice(
            c,
            &f.mode,
            "filter mode",
            &FilterMode::NAMES,
            FilterMode::from_name,
            &mut p.filter.mode,
        );
        num(
            c,
            &f.cutoff_hz,
            "cutoff_hz",
            20.0,
            20_000.0,
            &mut p.filter.cutoff_hz,
        );
        num(
            c,
            &f.resonance,
            "resonance",
            0.0,
            1.0,
            &mut p.filter.resonance,
        );
        num(
            c,
            &f.env_octaves,
            "env_octaves",
            -8.0,
            8.0,
            &mut p.filter.env_octaves,
        );
        num(
            c,
            &f.key_track,
            "key_track",
            0.0,
            1.0,
            &mut p.filter.key_track,
        );
        num(
            c,
            &f.velocity_octaves,
            "velocity_octaves",
            -4.0,
            4.0,
            &mut p.filter.velocity_octaves,
        );
    }
    if let Some(e) = &a.amp_env {
        env(c, e, &mut p.amp_env);
    }
    if let Some(e) = &a.filter_env {
        env(c, e, &mut p.filter_env);
    }
    p
}
