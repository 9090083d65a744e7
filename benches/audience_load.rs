//! The audience page under load: `somnia play` (this build) shows a four-dreamer mosaic in a
//! real window (Xvfb) with real sound (the PulseAudio null sink) while crowds of simulated phones
//! (tests/browser/crowd.py, python `websockets` on loopback) join and send at their rate limit
//! (30 messages a second each). For each crowd size it prints phones joined a second, each
//! phone's join time (p50, p99), the latency from a phone's message reaching the server to the
//! frame that shows it (p50, p99, from the show's own `/health`), and the web server's CPU per
//! 100 phones: the `somnia-web` thread's CPU time during the crowd, per 100 phones, in cores
//! (the whole process's is printed beside it; at 640x360 on lavapipe the renderer takes what
//! the cores have, so it says little about the phones).
//!
//! Run: `scripts/bench.sh audience_load [--seconds S]` (which starts Xvfb and the sound server),
//! or in such an environment `cargo bench --bench audience_load -- --seconds 30`.

mod common;

use common::{health, python, wait_until_up};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RATE: u32 = 30;
const CROWDS: [usize; 3] = [50, 100, 200];

fn seconds() -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(30.0)
}

/// CPU time so far (user and system, seconds) of the process's threads named `thread`: the web
/// server's own, apart from the picture (lavapipe draws on every core it can get, so the whole
/// process's CPU says more about the renderer than about the phones).
fn thread_cpu_s(pid: u32, thread: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .filter_map(|t| {
            let dir = t.ok()?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
            if comm.trim() != thread {
                return None;
            }
            Some(stat_cpu_s(&std::fs::read_to_string(dir.join("stat")).ok()?))
        })
        .sum()
}

/// utime + stime of a `/proc/.../stat` line, seconds.
fn stat_cpu_s(stat: &str) -> f64 {
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    // After the state (0): ppid, pgrp, session, tty, tpgid, flags, four fault counts, then
    // utime (11) and stime (12), in clock ticks (100 a second on Linux).
    (field(11) + field(12)) as f64 / 100.0
}

/// The whole process's CPU time so far, seconds.
fn cpu_s(pid: u32) -> f64 {
    stat_cpu_s(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

fn main() {
    if std::env::var_os("DISPLAY").is_none() {
        println!("audience_load: no DISPLAY; run it through scripts/bench.sh, which starts Xvfb");
        return;
    }
    let seconds = seconds();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut play = Command::new(env!("CARGO_BIN_EXE_somnia"))
        .arg("play")
        .arg(repo.join("tests/fixtures/performances/mosaic-live.toml"))
        .args(["--size", "640x360", "--no-osc", "--no-midi", "--web-bind"])
        .arg(format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .spawn()
        .expect("somnia play");
    let pid = play.id();
    wait_until_up(port);
    let python = python();
    // Idle: the show alone, for the CPU it costs without phones.
    std::thread::sleep(Duration::from_secs(3));
    let (idle_t, idle_c) = (Instant::now(), cpu_s(pid));
    std::thread::sleep(Duration::from_secs_f64(seconds.min(10.0)));
    let idle_cores = (cpu_s(pid) - idle_c) / idle_t.elapsed().as_secs_f64();
    let web = |pid| thread_cpu_s(pid, "somnia-web");

    println!("audience_load: {RATE} messages a second a phone, {seconds} s a crowd, 640x360");
    println!(
        "{:>7} {:>8} {:>9} {:>9} {:>10} {:>10} {:>10} {:>13} {:>9}",
        "phones",
        "joins/s",
        "join p50",
        "join p99",
        "msg→frame",
        "msg→frame",
        "web CPU",
        "web CPU per",
        "process"
    );
    println!(
        "{:>7} {:>8} {:>9} {:>9} {:>10} {:>10} {:>10} {:>13} {:>9}",
        "", "", "ms", "ms", "p50 ms", "p99 ms", "cores", "100 phones", "cores"
    );
    println!(
        "{:>7} {:>8} {:>9} {:>9} {:>10} {:>10} {:>10} {:>13} {:>9.3}",
        0, "", "", "", "", "", "", "", idle_cores
    );
    for phones in CROWDS {
        let before = health(port).unwrap_or_default();
        let (t0, c0, w0) = (Instant::now(), cpu_s(pid), web(pid));
        let out = Command::new(&python)
            .arg(repo.join("tests/browser/crowd.py"))
            .arg(format!("ws://127.0.0.1:{port}/join/ws"))
            .args([phones.to_string(), seconds.to_string(), RATE.to_string()])
            .output()
            .expect("the crowd runs");
        let wall_s = t0.elapsed().as_secs_f64();
        let cores = (cpu_s(pid) - c0) / wall_s;
        let web_cores = (web(pid) - w0) / wall_s;
        let after = health(port).unwrap_or_default();
        let r: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        let lat = &after["look_latency_ms"];
        let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
        println!(
            "{:>7} {:>8.0} {:>9.1} {:>9.1} {:>10.1} {:>10.1} {:>10.3} {:>13.3} {:>9.3}   underruns {}",
            phones,
            f(&r["joins_per_s"]),
            f(&r["join_p50_ms"]),
            f(&r["join_p99_ms"]),
            f(&lat["p50"]),
            f(&lat["p99"]),
            web_cores,
            web_cores / (phones as f64 / 100.0),
            cores,
            f(&after["audio_underruns"]) - f(&before["audio_underruns"]),
        );
        if r["error_count"].as_u64().unwrap_or(1) > 0 {
            println!("        phones that failed: {}", r["errors"]);
        }
        // The phones' grace ends before the next crowd (they left, so it is at once).
        std::thread::sleep(Duration::from_secs(2));
    }
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = play.wait();
}
