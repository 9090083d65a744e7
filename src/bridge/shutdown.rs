//! A request to end the show from outside the process (Ctrl-C, `kill`, a service manager
//! stopping a kiosk). A signal handler may only store to an atomic, so this is a static the
//! handler sets and the render loop reads; the show then ends as it does on Esc: the window
//! closes, the sound stops, the process exits 0.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the show to end. Async-signal-safe: one atomic store.
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Whether the show was asked to end.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
