//! The kiosk soak: `somnia kiosk` (this build) cycles every shipped preset and performance, each
//! for 3 s with 1 s crossfades, in a real window (Xvfb) with real sound (the PulseAudio null
//! sink), for 30 minutes. Once a round of the playlist (45 s, about a minute; the same item
//! each time, so what is loaded is alike from sample to sample) it reads the kiosk's own
//! `/health`: resident memory, the GPU allocator's report and the black-frame counter (each
//! presented frame's brightness, measured on the GPU). It prints the samples, then the growth
//! per hour after the warm-up (the first third of the run; a least-squares slope over the rest;
//! target under 1 MB/hour) and the longest
//! black stretch (target 0 frames), each beside its target.
//!
//! Run: `scripts/bench.sh kiosk_soak [--seconds S]` (which starts Xvfb and the sound server), or
//! in such an environment `cargo bench --bench kiosk_soak -- --seconds 600 --size 640x360`
//! (`--sample-s S` samples at another interval than a round).

mod common;

use common::{health, slope};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOLD_S: f64 = 3.0;
const FADE_S: f64 = 1.0;
/// Targets from the issue: growth after warm-up, and black frames in a row.
const TARGET_GROWTH_MB_PER_H: f64 = 1.0;
const TARGET_BLACK_FRAMES: u64 = 0;

struct Options {
    seconds: f64,
    sample_s: f64,
    size: String,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 1800.0,
        // Set to one round of the playlist unless given.
        sample_s: 0.0,
        size: "640x360".into(),
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seconds" => o.seconds = value.parse().expect("--seconds S"),
            "--sample-s" => o.sample_s = value.parse().expect("--sample-s S"),
            "--size" => o.size = value,
            // cargo bench's own (`--bench`) and anything else: not ours.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// The names (file stems) in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "toml").then_some(stem)
        })
        .collect();
    n.sort();
    n
}

/// A project beside the repository's own (its folders linked) with a kiosk playing all of it.
fn soak_project(repo: &Path) -> (tempfile::TempDir, usize) {
    let dir = tempfile::tempdir().unwrap();
    for d in ["presets", "performances", "shaders"] {
        std::os::unix::fs::symlink(repo.join(d), dir.path().join(d)).unwrap();
    }
    std::fs::create_dir(dir.path().join("kiosks")).unwrap();
    let mut text =
        format!("title = \"Soak\"\norder = \"in-order\"\nfade_s = {FADE_S}\nhold_s = {HOLD_S}\n");
    let presets = names(&repo.join("presets"));
    let performances = names(&repo.join("performances"));
    for p in &performances {
        text.push_str(&format!(
            "[[item]]\nperformance = \"{p}\"\nhold_s = {HOLD_S}\n"
        ));
    }
    for p in &presets {
        text.push_str(&format!("[[item]]\npreset = \"{p}\"\n"));
    }
    std::fs::write(dir.path().join("kiosks/soak.toml"), text).unwrap();
    (dir, presets.len() + performances.len())
}

struct Sample {
    t_s: f64,
    rss_mb: f64,
    gpu_allocated_mb: f64,
    gpu_reserved_mb: f64,
    gpu_allocations: u64,
    fps: f64,
    black_longest: u64,
    dropped: u64,
}

fn mb(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN) / 1_048_576.0
}

fn main() {
    let o = options();
    if std::env::var_os("DISPLAY").is_none() {
        println!("kiosk_soak: no DISPLAY; run it through scripts/bench.sh, which starts Xvfb");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (dir, items) = soak_project(repo);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("kiosk.log");
    let mut kiosk = Command::new(env!("CARGO_BIN_EXE_somnia"))
        .arg("kiosk")
        .arg(dir.path().join("kiosks/soak.toml"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["--windowed", "--size", &o.size, "--no-osc", "--no-midi"])
        .args(["--web-bind", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .expect("somnia kiosk");
    let started = Instant::now();
    let cycle_s = items as f64 * HOLD_S;
    let mut o = o;
    if o.sample_s <= 0.0 {
        o.sample_s = cycle_s;
    }
    println!(
        "kiosk_soak: {items} items ({} s a round, {FADE_S} s fades) for {:.0} s at {}, a sample every {:.0} s",
        cycle_s, o.seconds, o.size, o.sample_s
    );
    println!(
        "\n| t (s) | resident (MB) | GPU allocated (MB) | GPU reserved (MB) | allocations | fps | dropped | longest black (frames) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut samples: Vec<Sample> = Vec::new();
    let mut next = o.sample_s;
    loop {
        let t_s = started.elapsed().as_secs_f64();
        if t_s > o.seconds {
            break;
        }
        if let Ok(Some(status)) = kiosk.try_wait() {
            println!("kiosk_soak: the kiosk ended early ({status})");
            break;
        }
        if t_s < next {
            std::thread::sleep(Duration::from_secs_f64((next - t_s).min(1.0)));
            continue;
        }
        next += o.sample_s;
        let Some(h) = health(port) else {
            println!("| {t_s:.0} | (no answer from /health) |||||||");
            continue;
        };
        let s = Sample {
            t_s,
            rss_mb: mb(&h["resident_memory_bytes"]),
            gpu_allocated_mb: mb(&h["gpu_memory"]["allocated_bytes"]),
            gpu_reserved_mb: mb(&h["gpu_memory"]["reserved_bytes"]),
            gpu_allocations: h["gpu_memory"]["allocations"].as_u64().unwrap_or(0),
            fps: h["fps"].as_f64().unwrap_or(0.0),
            black_longest: h["picture"]["black_frames_longest"]
                .as_u64()
                .unwrap_or(u64::MAX),
            dropped: h["dropped_frames"].as_u64().unwrap_or(0),
        };
        println!(
            "| {:.0} | {:.2} | {:.2} | {:.1} | {} | {:.1} | {} | {} |",
            s.t_s,
            s.rss_mb,
            s.gpu_allocated_mb,
            s.gpu_reserved_mb,
            s.gpu_allocations,
            s.fps,
            s.dropped,
            s.black_longest
        );
        samples.push(s);
    }
    let _ = Command::new("kill")
        .args(["-INT", &kiosk.id().to_string()])
        .status();
    let _ = kiosk.wait();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let played = log.matches("somnia kiosk: now ").count();
    let passed_over = log.matches("cannot play").count();

    // Warm-up: the first third of the run, and at least two rounds of the playlist (every
    // look compiled; the allocators' pools, glibc's per-thread arenas among them, took about
    // five minutes to reach their size in the first soaks).
    let warm_s = (2.0 * cycle_s).max(o.seconds / 3.0);
    let after: Vec<&Sample> = samples.iter().filter(|s| s.t_s >= warm_s).collect();
    println!();
    if after.len() < 3 {
        println!(
            "kiosk_soak: too short to measure growth after a {warm_s:.0} s warm-up (give --seconds more)"
        );
    } else {
        let per_h = |f: fn(&Sample) -> f64| {
            slope(&after.iter().map(|s| (s.t_s, f(s))).collect::<Vec<_>>()) * 3600.0
        };
        let rss = per_h(|s| s.rss_mb);
        let gpu = per_h(|s| s.gpu_allocated_mb);
        println!(
            "| after a {warm_s:.0} s warm-up ({} samples) | measured | target |",
            after.len()
        );
        println!("|---|---|---|");
        println!(
            "| resident memory growth (MB/hour) | {rss:+.3} | under {TARGET_GROWTH_MB_PER_H} |"
        );
        println!("| GPU allocated growth (MB/hour) | {gpu:+.3} | under {TARGET_GROWTH_MB_PER_H} |");
    }
    let black = samples.last().map_or(u64::MAX, |s| s.black_longest);
    println!("| longest black stretch (frames) | {black} | {TARGET_BLACK_FRAMES} |");
    println!(
        "\nkiosk_soak: {played} items played, {passed_over} passed over, {:.0} s",
        started.elapsed().as_secs_f64()
    );
    drop(dir);
}
