//! When the process was launched, so that start-up is said in figures: how long until the first
//! sound is heard and the first frame is presented (or, offline, drawn). Marked as `main`
//! begins; every thread reads it.

use std::sync::OnceLock;
use std::time::Instant;

static LAUNCHED: OnceLock<Instant> = OnceLock::new();

/// Marks the launch (the first call wins; `main` makes it before anything else).
pub fn mark_launch() {
    LAUNCHED.get_or_init(Instant::now);
}

/// Seconds from the launch to `at` (from the first call here, if `main` never marked it).
pub fn since_launch_s(at: Instant) -> f64 {
    at.saturating_duration_since(*LAUNCHED.get_or_init(Instant::now))
        .as_secs_f64()
}
