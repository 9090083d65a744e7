//! The audience page under load: 200 simulated phones (tests/browser/crowd.py: python
//! `websockets` clients on loopback) join `somnia play` at once and each sends at its rate
//! limit (30 messages a second) for 60 s while the show plays. Every phone gets in (four
//! dreamers, the rest the crowd), none is refused or dropped, the picture keeps up, and memory
//! stays bounded; the sound's gaps are reported. The join time and the p99 latency from a phone's
//! message reaching the server to the frame that shows it are printed in the suite's summary.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

const PHONES: usize = 200;
const SECONDS: u64 = 60;
const RATE: u32 = 30;

#[test]
fn two_hundred_phones_steering_at_their_rate_limit_for_a_minute_leave_the_show_unharmed() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "320x180",
            "--no-osc",
            "--web-bind",
            &addr.to_string(),
        ],
        &fixture("performances/mosaic-live.toml"),
    );
    play.wait_until_up();
    let before = health(addr).expect("/health answers");

    // Memory is sampled once the crowd is in and steering, and again at the end.
    let crowd = std::thread::spawn(move || {
        Command::new(python_osc())
            .arg(repo().join("tests/browser/crowd.py"))
            .arg(format!("ws://{addr}/join/ws"))
            .args([PHONES.to_string(), SECONDS.to_string(), RATE.to_string()])
            .output()
            .expect("the crowd runs")
    });
    std::thread::sleep(Duration::from_secs(15));
    let during = health(addr).expect("/health answers under load");
    let crowd = crowd.join().unwrap();
    let after = health(addr).expect("/health answers after the load");
    let log = play.stop();

    let said = String::from_utf8_lossy(&crowd.stdout);
    let result: serde_json::Value = serde_json::from_str(said.trim()).unwrap_or_else(|e| {
        panic!(
            "the crowd's report ({e}): {said}\n{}",
            String::from_utf8_lossy(&crowd.stderr)
        )
    });
    let n = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let latency = &after["look_latency_ms"];
    let mb = |h: &serde_json::Value| n(h, "resident_memory_bytes") / 1e6;
    report(
        "measured",
        &format!(
            "{PHONES} phones joined in {:.2} s ({} joins/s; each {} ms p50, {} ms p99); message to frame {:.1} ms p50, {:.1} ms p99 over the last 10 s; {} messages sent; resident memory {:.0} MB after 15 s, {:.0} MB at the end",
            n(&result, "join_all_s"),
            result["joins_per_s"],
            result["join_p50_ms"],
            result["join_p99_ms"],
            n(latency, "p50"),
            n(latency, "p99"),
            result["sent"],
            mb(&during),
            mb(&after),
        ),
    );
    assert_eq!(result["error_count"], 0, "{result}");
    assert_eq!(
        (n(&result, "dreamer"), n(&result, "crowd")),
        (4.0, (PHONES - 4) as f64),
        "everyone got in: {result}"
    );
    assert!(
        n(&result, "sent") > 0.9 * (PHONES as f64) * SECONDS as f64 * f64::from(RATE),
        "the crowd sent at its rate: {result}"
    );
    let audience = &after["audience"];
    assert_eq!(
        (audience["refused"].as_u64(), audience["malformed"].as_u64()),
        (Some(0), Some(0)),
        "at the rate limit, nothing is refused: {after}"
    );
    // The sound's gaps are measured and reported, not asserted: here the 200 phones are a
    // python process on the show's own two cores, beside lavapipe drawing the picture on the
    // CPU, and a starved sound server is this machine's doing, not the phones'. The benchmark
    // (`scripts/bench.sh audience_load`, a release build) is where no gap is the target.
    let underruns = n(&after, "audio_underruns") - n(&before, "audio_underruns");
    report(
        "measured",
        &format!("the sound ran dry {underruns} time(s) under the crowd"),
    );
    assert!(
        n(&during, "fps") > 10.0,
        "the picture kept up under the crowd: {during}\n{log}"
    );
    assert!(
        n(latency, "p99") < 500.0,
        "a phone's message shows within half a second: {latency}"
    );
    assert!(
        mb(&after) - mb(&during) < 50.0,
        "memory stays bounded: {:.0} MB then {:.0} MB",
        mb(&during),
        mb(&after)
    );
}
