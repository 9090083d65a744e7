//! What the live benchmarks share: the show's `/health`, and the Python the peers run in.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

/// `GET /health` over a plain TCP connection.
pub fn health(port: u16) -> Option<serde_json::Value> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    serde_json::from_str(body.split("\r\n\r\n").nth(1)?).ok()
}

/// The private Python with python-osc, websockets, zeroconf and JACK-Client.
pub fn python() -> String {
    std::env::var("SOMNIA_PYTHON").unwrap_or_else(|_| {
        let out = Command::new("bash")
            .arg("scripts/ensure-python-osc.sh")
            .output()
            .expect("scripts/ensure-python-osc.sh");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to a minute) until the show whose web server is on `port` says it is ok.
pub fn wait_until_up(port: u16) {
    let up = std::time::Instant::now();
    while health(port).is_none_or(|h| h["status"] != "ok") {
        assert!(
            up.elapsed() < std::time::Duration::from_secs(60),
            "the show never came up"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Least-squares slope of `y` over `x`.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if den > 0.0 { num / den } else { 0.0 }
}
