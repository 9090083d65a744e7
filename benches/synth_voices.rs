//! Synth voice cost, in a table: Somnia's engine, a bare hand-written loop doing the same voice
//! math with no engine around it, and SuperCollider's scsynth rendering the equivalent
//! SynthDef in non-real-time mode (`scsynth -N`), all on this machine in the same run.
//!
//! Reference voice: 2 band-limited saws (the second 0.4% sharp) → resonant low-pass whose
//! cutoff follows a filter ADSR → amp ADSR → equal-power pan. Envelopes are linear in all
//! three; the filter envelope is read once per 32-sample control segment, so all three advance
//! it per segment (scsynth: at control rate, every 64 samples). Voices are sustained notes
//! across five octaves.
//!
//! Somnia's engine is measured on each way it can render voices that this machine has: one
//! at a time (the scalar reference), side by side in SIMD lanes in the build's baseline
//! instructions (SSE2 on x86-64: "portable"), and in AVX2 lanes chosen at run time. All give
//! the same bytes (tests/offline_render.rs, src/audio/synth/lanes.rs).
//!
//! Cost per voice is marginal: (time with V voices − time with none) / (V × samples), so the
//! master bus (Somnia) or the server's start-up and file writing (scsynth) are not charged to
//! the voices. "Voices in real time" is how many fit in one second of one core at 48 kHz,
//! after the fixed cost.
//!
//! Each renderer is timed once per round, and its fastest round is kept (see `main`).
//!
//! The voices are held, so after half a second their filter envelope sustains: the engine then
//! works the filter's coefficients out only when a live control moves, as scsynth's `RLPF`
//! recomputes its own only when its frequency input changes. One more row has the portable
//! lanes with a filter envelope that never settles, coefficients worked out every control
//! segment (every 32 samples).
//!
//! Run: `cargo bench --bench synth_voices` (scripts/bench.sh installs scsynth first).
//! SOMNIA_BENCH_VOICES, SOMNIA_BENCH_SECONDS and SOMNIA_BENCH_ROUNDS override the defaults
//! (64 voices, 20 s, 7 rounds).

use std::f32::consts::PI;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use somnia::audio::{Engine, SimdPath};
use somnia::bridge::patch::{EnvSpec, FilterSpec, OscSpec, Patch, Waveform};
use somnia::bridge::{AudioParam, Event, EventKind, event_queue};

const SR: u32 = 48_000;
/// The engine's control segment: the filter envelope is read once per segment.
const CONTROL_FRAMES: usize = somnia::audio::engine::CHUNK;
const BLOCK: usize = 256;
const AMP: EnvSpec = EnvSpec {
    attack_s: 0.01,
    decay_s: 0.3,
    sustain: 0.7,
    release_s: 0.6,
};
const FENV: EnvSpec = EnvSpec {
    attack_s: 0.005,
    decay_s: 0.4,
    sustain: 0.3,
    release_s: 0.6,
};
const CUTOFF_HZ: f32 = 1_200.0;
const ENV_OCTAVES: f32 = 1.5;
const RESONANCE: f32 = 0.5;

fn note_of(i: usize) -> u8 {
    36 + (i * 7 % 60) as u8
}

fn hz(note: u8) -> f32 {
    440.0 * 2f32.powf((f32::from(note) - 69.0) / 12.0)
}

// ---------------------------------------------------------------- Somnia's engine

/// The reference voice; with `moving_filter`, its filter envelope decays over 1000 s instead,
/// so it never settles and the filter's coefficients are worked out again every control
/// segment (a sustained note's are not, while the knobs stay still).
fn reference_patch(moving_filter: bool) -> Patch {
    let saw = OscSpec {
        waveform: Waveform::Saw,
        level: 0.5,
        ..OscSpec::default()
    };
    Patch {
        voices: 128,
        osc: [
            saw,
            OscSpec {
                detune_cents: 6.9,
                ..saw
            },
        ],
        filter: FilterSpec {
            cutoff_hz: CUTOFF_HZ,
            resonance: RESONANCE,
            env_octaves: ENV_OCTAVES,
            key_track: 0.0,
            velocity_octaves: 0.0,
            ..FilterSpec::default()
        },
        amp_env: AMP,
        filter_env: if moving_filter {
            EnvSpec {
                decay_s: 1000.0,
                ..FENV
            }
        } else {
            FENV
        },
        velocity_amount: 0.0,
        gain_db: -24.0,
        ..Patch::default()
    }
}

fn time_engine(voices: usize, seconds: f64, path: SimdPath, moving_filter: bool) -> f64 {
    let (mut tx, rx) = event_queue(512);
    let mut e = Engine::new(SR, reference_patch(moving_filter), rx);
    e.set_simd_path(path).unwrap();
    for p in [AudioParam::ReverbMix, AudioParam::DelayMix] {
        tx.push(Event {
            at_sample: 0,
            kind: EventKind::SetParam {
                param: p,
                value: 0.0,
                ramp_samples: 0,
                curve: Default::default(),
            },
        })
        .unwrap();
    }
    for i in 0..voices {
        tx.push(Event {
            at_sample: 0,
            kind: EventKind::NoteOn {
                note: note_of(i),
                velocity: 1.0,
            },
        })
        .unwrap();
    }
    let mut buf = vec![0.0f32; 2 * BLOCK];
    let blocks = (seconds * f64::from(SR)) as usize / BLOCK;
    let t0 = Instant::now();
    for _ in 0..blocks {
        e.process(&mut buf, false);
    }
    std::hint::black_box(&buf);
    t0.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------- the bare loop

#[derive(Clone, Copy, Default)]
struct Env {
    level: f32,
    stage: u8,
    attack: f32,
    decay: f32,
    sustain: f32,
}

impl Env {
    fn new(e: &EnvSpec) -> Self {
        let per = |s: f32| 1.0 / (s * SR as f32);
        Self {
            level: 0.0,
            stage: 0,
            attack: per(e.attack_s),
            decay: per(e.decay_s) * (1.0 - e.sustain),
            sustain: e.sustain,
        }
    }

    /// `n` steps at once (the engine advances its filter envelope per control segment too).
    fn advance(&mut self, n: u32) {
        for _ in 0..n {
            if self.stage == 2 {
                return;
            }
            self.next();
        }
    }

    #[inline(always)]
    fn next(&mut self) -> f32 {
        if self.stage == 0 {
            self.level += self.attack;
            if self.level >= 1.0 {
                self.level = 1.0;
                self.stage = 1;
            }
        } else if self.stage == 1 {
            self.level -= self.decay;
            if self.level <= self.sustain {
                self.level = self.sustain;
                self.stage = 2;
            }
        }
        self.level
    }
}

#[inline(always)]
fn blep(t: f32, dt: f32) -> f32 {
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

#[derive(Clone, Copy, Default)]
struct BareVoice {
    p1: f32,
    p2: f32,
    dt1: f32,
    dt2: f32,
    ic1: f32,
    ic2: f32,
    a1: f32,
    a2: f32,
    a3: f32,
    amp: Env,
    fenv: Env,
    pl: f32,
    pr: f32,
}

fn time_bare(voices: usize, seconds: f64) -> f64 {
    let mut vs: Vec<BareVoice> = (0..voices)
        .map(|i| {
            let f = hz(note_of(i));
            let pan = ((f32::from(note_of(i)) - 60.0) / 72.0 + 1.0) * PI / 4.0;
            BareVoice {
                dt1: f / SR as f32,
                dt2: f * 1.004 / SR as f32,
                amp: Env::new(&AMP),
                fenv: Env::new(&FENV),
                pl: pan.cos(),
                pr: pan.sin(),
                ..Default::default()
            }
        })
        .collect();
    let k = 2.0 - 1.95 * RESONANCE;
    let mut buf = vec![0.0f32; 2 * BLOCK];
    let blocks = (seconds * f64::from(SR)) as usize / BLOCK;
    let t0 = Instant::now();
    for _ in 0..blocks {
        buf.fill(0.0);
        for v in vs.iter_mut() {
            for seg in buf.chunks_mut(2 * CONTROL_FRAMES) {
                // Filter coefficients per control segment, as in the engine.
                v.fenv.advance(CONTROL_FRAMES as u32);
                let fc = CUTOFF_HZ * 2f32.powf(v.fenv.level * ENV_OCTAVES);
                let g = (PI * fc / SR as f32).tan();
                v.a1 = 1.0 / (1.0 + g * (g + k));
                v.a2 = g * v.a1;
                v.a3 = g * v.a2;
                for fr in seg.chunks_mut(2) {
                    let s = 0.5
                        * ((2.0 * v.p1 - 1.0 - blep(v.p1, v.dt1))
                            + (2.0 * v.p2 - 1.0 - blep(v.p2, v.dt2)));
                    v.p1 += v.dt1;
                    if v.p1 >= 1.0 {
                        v.p1 -= 1.0;
                    }
                    v.p2 += v.dt2;
                    if v.p2 >= 1.0 {
                        v.p2 -= 1.0;
                    }
                    let v3 = s - v.ic2;
                    let v1 = v.a1 * v.ic1 + v.a2 * v3;
                    let v2 = v.ic2 + v.a2 * v.ic1 + v.a3 * v3;
                    v.ic1 = 2.0 * v1 - v.ic1;
                    v.ic2 = 2.0 * v2 - v.ic2;
                    let out = v2 * v.amp.next() * 0.05;
                    fr[0] += out * v.pl;
                    fr[1] += out * v.pr;
                }
            }
        }
        std::hint::black_box(&buf);
    }
    t0.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------- scsynth

/// One unit generator: class, rate (1 control, 2 audio), inputs as (ugen, output) or
/// (-1, constant index), number of outputs, special index.
type UGen = (&'static str, i8, Vec<(i32, i32)>, usize, i16);

/// Writes the reference SynthDef in SuperCollider's binary format (SCgf version 2).
fn synthdef() -> Vec<u8> {
    struct W(Vec<u8>);
    impl W {
        fn i8(&mut self, v: i8) {
            self.0.push(v as u8);
        }
        fn i16(&mut self, v: i16) {
            self.0.extend_from_slice(&v.to_be_bytes());
        }
        fn i32(&mut self, v: i32) {
            self.0.extend_from_slice(&v.to_be_bytes());
        }
        fn f32(&mut self, v: f32) {
            self.0.extend_from_slice(&v.to_be_bytes());
        }
        fn pstr(&mut self, s: &str) {
            self.0.push(s.len() as u8);
            self.0.extend_from_slice(s.as_bytes());
        }
    }
    // Constants, referenced by index.
    let consts: Vec<f32> = vec![
        1.0,
        0.0,
        3.0,
        2.0,
        -99.0, // 0..4: gate/levelScale 1, bias/doneAction 0, segments 3, release node 2, loop node -99
        AMP.attack_s,
        AMP.sustain,
        AMP.decay_s,
        AMP.release_s, // 5..8
        FENV.attack_s,
        FENV.sustain,
        FENV.decay_s,
        FENV.release_s, // 9..12
        1.004,
        CUTOFF_HZ * (2f32.powf(ENV_OCTAVES) - 1.0),
        CUTOFF_HZ, // 13..15
        2.0 - 1.95 * RESONANCE,
        0.05, // 16..17: rq (1/Q, as the engine's k), amp
    ];
    let c = |i: i32| (-1, i);
    let u = |i: i32, o: i32| (i, o);
    // Envelope spec: init 0, 3 segments, release node 2, loop -99, then (level, time, shape 1 = linear, curve 0).
    let env = |a: i32, s: i32, d: i32, r: i32| -> Vec<(i32, i32)> {
        vec![
            c(1),
            c(2),
            c(3),
            c(4),
            c(0),
            c(a),
            c(0),
            c(1),
            c(s),
            c(d),
            c(0),
            c(1),
            c(1),
            c(r),
            c(0),
            c(1),
        ]
    };
    let mut env_amp = vec![c(0), c(0), c(1), c(0), c(1)];
    env_amp.extend(env(5, 6, 7, 8));
    let mut env_f = vec![c(0), c(0), c(1), c(0), c(1)];
    env_f.extend(env(9, 10, 11, 12));
    // (class, rate, inputs, outputs, special)
    let ugens: Vec<UGen> = vec![
        ("Control", 1, vec![], 2, 0),                      // 0: freq, pan
        ("EnvGen", 1, env_amp, 1, 0),                      // 1: amp env
        ("EnvGen", 1, env_f, 1, 0),                        // 2: filter env
        ("Saw", 2, vec![u(0, 0)], 1, 0),                   // 3
        ("BinaryOpUGen", 1, vec![u(0, 0), c(13)], 1, 2),   // 4: freq * 1.004
        ("Saw", 2, vec![u(4, 0)], 1, 0),                   // 5
        ("BinaryOpUGen", 2, vec![u(3, 0), u(5, 0)], 1, 0), // 6: saw + saw
        ("MulAdd", 1, vec![u(2, 0), c(14), c(15)], 1, 0),  // 7: cutoff from the filter env
        ("RLPF", 2, vec![u(6, 0), u(7, 0), c(16)], 1, 0),  // 8
        ("BinaryOpUGen", 2, vec![u(8, 0), u(1, 0)], 1, 2), // 9: * amp env
        ("BinaryOpUGen", 2, vec![u(9, 0), c(17)], 1, 2),   // 10: * level
        ("Pan2", 2, vec![u(10, 0), u(0, 1), c(0)], 2, 0),  // 11
        ("Out", 2, vec![c(1), u(11, 0), u(11, 1)], 0, 0),  // 12
    ];
    let mut w = W(Vec::new());
    w.0.extend_from_slice(b"SCgf");
    w.i32(2);
    w.i16(1);
    w.pstr("somnia_ref");
    w.i32(consts.len() as i32);
    for k in &consts {
        w.f32(*k);
    }
    w.i32(2);
    w.f32(220.0);
    w.f32(0.0);
    w.i32(2);
    w.pstr("freq");
    w.i32(0);
    w.pstr("pan");
    w.i32(1);
    w.i32(ugens.len() as i32);
    for (class, rate, inputs, outputs, special) in &ugens {
        w.pstr(class);
        w.i8(*rate);
        w.i32(inputs.len() as i32);
        w.i32(*outputs as i32);
        w.i16(*special);
        for (a, b) in inputs {
            w.i32(*a);
            w.i32(*b);
        }
        for _ in 0..*outputs {
            w.i8(*rate);
        }
    }
    w.i16(0);
    w.0
}

/// A non-real-time score: load the SynthDef, start the voices, end at `seconds`.
fn score(voices: usize, seconds: f64) -> Vec<u8> {
    use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
    let at = |s: f64| OscTime {
        seconds: s as u32,
        fractional: ((s.fract()) * 4_294_967_296.0) as u32,
    };
    let msg = |addr: &str, args: Vec<OscType>| {
        OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        })
    };
    let mut start = vec![msg("/d_recv", vec![OscType::Blob(synthdef())])];
    for i in 0..voices {
        let pan = (f32::from(note_of(i)) - 60.0) / 72.0;
        start.push(msg(
            "/s_new",
            vec![
                OscType::String("somnia_ref".into()),
                OscType::Int(1000 + i as i32),
                OscType::Int(0),
                OscType::Int(0),
                OscType::String("freq".into()),
                OscType::Float(hz(note_of(i))),
                OscType::String("pan".into()),
                OscType::Float(pan),
            ],
        ));
    }
    let bundles = [
        OscBundle {
            timetag: at(0.0),
            content: start,
        },
        OscBundle {
            timetag: at(seconds),
            content: vec![msg("/c_set", vec![OscType::Int(0), OscType::Float(0.0)])],
        },
    ];
    let mut out = Vec::new();
    for b in bundles {
        let bytes = rosc::encoder::encode(&OscPacket::Bundle(b)).expect("score encodes");
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

fn time_scsynth(dir: &Path, voices: usize, seconds: f64) -> Result<f64, String> {
    let osc = dir.join(format!("score{voices}.osc"));
    std::fs::write(&osc, score(voices, seconds)).map_err(|e| e.to_string())?;
    let wav = dir.join(format!("out{voices}.wav"));
    let t0 = Instant::now();
    let out = Command::new("scsynth")
        .args(["-o", "2", "-i", "0", "-N"])
        .arg(&osc)
        .arg("_")
        .arg(&wav)
        .args([&SR.to_string(), "WAV", "float"])
        .output()
        .map_err(|e| format!("cannot run scsynth ({e}); install supercollider-server"))?;
    let wall = t0.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "scsynth failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Make sure it really rendered sound: the WAV must not be silent.
    let reader = hound::WavReader::open(&wav).map_err(|e| e.to_string())?;
    let peak = reader
        .into_samples::<f32>()
        .filter_map(Result::ok)
        .fold(0.0f32, |m, s| m.max(s.abs()));
    if voices > 0 && peak < 1e-3 {
        return Err(format!(
            "scsynth rendered silence (peak {peak}); the SynthDef did not run\n{}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(wall)
}

// ---------------------------------------------------------------- the table

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let voices = env_or("SOMNIA_BENCH_VOICES", 64.0) as usize;
    let seconds = env_or("SOMNIA_BENCH_SECONDS", 20.0);
    let samples = seconds * f64::from(SR);
    let per_voice_ns =
        |with: f64, without: f64| (with - without).max(1e-12) * 1e9 / (voices as f64 * samples);
    let rt_voices = |ns: f64, fixed_s: f64| ((1e9 / f64::from(SR)) - fixed_s * 1e9 / samples) / ns;

    // Each path the machine can take, fastest first; the default build takes the first.
    let paths: Vec<SimdPath> = SimdPath::ALL
        .into_iter()
        .filter(|p| p.available())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // One checked run first (it fails with a reason if scsynth is missing or renders silence).
    let sc_ok = time_scsynth(dir.path(), voices, seconds).map(|_| ());
    // Rounds, each timing every renderer once, and each renderer's fastest round kept: this
    // host's load comes in bursts, and a burst then spoils one round of every renderer alike
    // rather than all runs of one of them.
    let rounds = env_or("SOMNIA_BENCH_ROUNDS", 7.0).max(1.0) as usize;
    let mut engines: Vec<(SimdPath, (f64, f64))> = paths
        .iter()
        .map(|&p| (p, (f64::INFINITY, f64::INFINITY)))
        .collect();
    let mut moving = (f64::INFINITY, f64::INFINITY);
    let mut bare = (f64::INFINITY, 0.0);
    let mut sc = (f64::INFINITY, f64::INFINITY);
    for _ in 0..rounds {
        for (p, (with, without)) in engines.iter_mut() {
            *with = with.min(time_engine(voices, seconds, *p, false));
            *without = without.min(time_engine(0, seconds, *p, false));
        }
        let portable = SimdPath::Portable;
        moving.0 = moving.0.min(time_engine(voices, seconds, portable, true));
        moving.1 = moving.1.min(time_engine(0, seconds, portable, true));
        bare.0 = bare.0.min(time_bare(voices, seconds));
        if sc_ok.is_ok() {
            let time = |v| time_scsynth(dir.path(), v, seconds).unwrap_or(f64::NAN);
            sc = (sc.0.min(time(voices)), sc.1.min(time(0)));
        }
    }
    let sc = sc_ok.map(|()| sc);

    let bare_ns = per_voice_ns(bare.0, bare.1);
    let sc_ns = sc.as_ref().ok().map(|t| per_voice_ns(t.0, t.1));
    println!();
    println!(
        "reference voice: 2 saws → resonant low-pass + filter ADSR → amp ADSR → pan; {voices} voices, {seconds} s at 48 kHz, 256-frame blocks"
    );
    println!();
    println!(
        "| renderer | wall s ({voices} voices) | wall s (no voices) | ns / voice-sample | voices in real time, 1 core | vs bare loop | scsynth / this |"
    );
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, (with, without): (f64, f64)| {
        let ns = per_voice_ns(with, without);
        let vs_sc = sc_ns.map_or("".to_string(), |sc| format!("{:.2}×", sc / ns));
        println!(
            "| {name} | {with:.3} | {without:.3} | {ns:.2} | {:.0} | {:.2}× | {vs_sc} |",
            rt_voices(ns, without),
            ns / bare_ns
        );
    };
    for (path, t) in &engines {
        let what = match path {
            SimdPath::Avx2 => "somnia engine, AVX2 lanes (run-time dispatch)",
            SimdPath::Portable => "somnia engine, portable lanes (the build's baseline SIMD)",
            _ => "somnia engine, scalar (one voice at a time)",
        };
        row(what, *t);
    }
    row(
        "somnia engine, portable lanes, filter envelope never settling",
        moving,
    );
    row("bare scalar loop (no engine)", bare);
    match &sc {
        Ok(t) => row("scsynth -N (SuperCollider 3)", *t),
        Err(e) => println!("| scsynth -N | not measured: {e} | | | | | |"),
    }
    // Issue 19's target: the portable path at most 2.5 ns, and 4× faster than scsynth.
    if let Some((_, t)) = engines.iter().find(|(p, _)| *p == SimdPath::Portable) {
        let ns = per_voice_ns(t.0, t.1);
        let vs = sc_ns.map_or(f64::NAN, |sc| sc / ns);
        let met = ns <= 2.5 && vs >= 4.0;
        println!();
        println!(
            "target (portable lanes ≤ 2.50 ns and ≥ 4× faster than scsynth): {ns:.2} ns, {vs:.2}× — {}",
            if met { "met" } else { "NOT met" }
        );
    }
}
