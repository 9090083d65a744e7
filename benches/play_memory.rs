//! Resident memory while `somnia play` (this build) plays each shipped performance in a real
//! window (Xvfb) with real sound (the PulseAudio null sink): each for S seconds (default 20) at
//! 1280x720, its resident set (`VmRSS`) read from /proc twice a second. Printed a row each: what
//! it held once loaded (after the first 5 s), its peak, and its growth over the rest (a
//! least-squares slope, MB a minute), beside the targets: at most 150 MB, and no growth. At the
//! peak it also says how much of it was private (`RssAnon`: the engine, and on a CPU renderer
//! every texture, which lives in system memory there) and how much was the CPU renderer's own
//! code (libLLVM's mapped pages, shared and clean: a GPU driver maps none of it).
//!
//! Run: `scripts/bench.sh play_memory [--seconds S]` (which starts Xvfb and the sound server),
//! or in such an environment `cargo bench --bench play_memory -- --seconds S`.

mod common;

use common::slope;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TARGET_MB: f64 = 150.0;
/// Slower growth than this over a short run is the allocator settling, not a leak.
const TARGET_GROWTH_MB_PER_MIN: f64 = 0.5;
const LOADED_S: f64 = 5.0;

/// The resident set, its private part and libLLVM's mapped pages, in MB.
#[derive(Clone, Copy, Default)]
struct Resident {
    rss: f64,
    anon: f64,
    llvm: f64,
}

fn resident(pid: u32) -> Option<Resident> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb_of = |key: &str| -> Option<f64> {
        status
            .lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    // libLLVM's resident pages, mapping by mapping.
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut in_llvm, mut llvm_kb) = (false, 0.0);
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("Rss:") if in_llvm => {
                llvm_kb += words
                    .next()
                    .and_then(|w| w.parse::<f64>().ok())
                    .unwrap_or(0.0);
            }
            Some(first) if first.contains('-') && !first.ends_with(':') => {
                in_llvm = line.contains("libLLVM");
            }
            _ => {}
        }
    }
    Some(Resident {
        rss: kb_of("VmRSS:")? / 1024.0,
        anon: kb_of("RssAnon:")? / 1024.0,
        llvm: llvm_kb / 1024.0,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(20.0_f64)
        .max(LOADED_S + 5.0);
    if std::env::var_os("DISPLAY").is_none() {
        eprintln!(
            "play_memory needs a display and a sound server: run scripts/bench.sh play_memory"
        );
        std::process::exit(1);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut performances: Vec<PathBuf> = std::fs::read_dir(root.join("performances"))
        .expect("performances/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    performances.sort();
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for perf in &performances {
        let name = perf.file_stem().unwrap().to_string_lossy().into_owned();
        let mut play = Command::new(env!("CARGO_BIN_EXE_somnia"))
            .current_dir(dir.path())
            .args([
                "play",
                "--size",
                "1280x720",
                "--no-osc",
                "--no-midi",
                "--no-web",
            ])
            .arg(perf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("somnia play");
        let t0 = Instant::now();
        let mut samples = Vec::new();
        while t0.elapsed().as_secs_f64() < seconds {
            std::thread::sleep(Duration::from_millis(500));
            if play.try_wait().ok().flatten().is_some() {
                break;
            }
            if let Some(r) = resident(play.id()) {
                samples.push((t0.elapsed().as_secs_f64(), r));
            }
        }
        let ended_early = play.try_wait().ok().flatten().is_some();
        let _ = Command::new("kill")
            .args(["-INT", &play.id().to_string()])
            .status();
        let _ = play.wait();
        let loaded: Vec<(f64, f64)> = samples
            .iter()
            .filter(|(t, _)| *t >= LOADED_S)
            .map(|(t, r)| (*t, r.rss))
            .collect();
        if ended_early || loaded.len() < 4 {
            rows.push((name, None));
            continue;
        }
        let peak = samples
            .iter()
            .map(|s| s.1)
            .fold(
                Resident::default(),
                |a, b| if b.rss > a.rss { b } else { a },
            );
        let growth = slope(&loaded) * 60.0;
        rows.push((name, Some((loaded[0].1, peak, growth))));
    }
    println!();
    println!(
        "Resident memory while `somnia play` plays each shipped performance at 1280x720, {seconds:.0} s each"
    );
    println!();
    println!(
        "| performance | MB once loaded | MB at the peak | of it private | of it libLLVM's code | growth, MB a minute | within target |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, row) in rows {
        match row {
            Some((loaded, peak, growth)) => println!(
                "| {name} | {loaded:.1} | {:.1} | {:.1} | {:.1} | {growth:+.2} | {} |",
                peak.rss,
                peak.anon,
                peak.llvm,
                if peak.rss <= TARGET_MB && growth <= TARGET_GROWTH_MB_PER_MIN {
                    "yes"
                } else {
                    "no"
                }
            ),
            None => println!("| {name} | (it stopped playing early) | | | | | no |"),
        }
    }
    println!();
    println!(
        "Targets: at most {TARGET_MB:.0} MB at the peak, and no growth while playing (under {TARGET_GROWTH_MB_PER_MIN} MB a minute over a run this short)."
    );
}
