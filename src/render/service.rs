//! The service manager (systemd) told how the show is, when it runs as a `Type=notify` unit:
//! `READY=1` once the first frame is on screen, `STATUS=` what is playing, and `WATCHDOG=1`
//! after a successful present, at half the unit's `WatchdogSec`. The pings come only from the
//! render loop, so a hung GPU or render thread stops them and systemd restarts the process.
//! Outside a unit (no `NOTIFY_SOCKET`) every call does nothing.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

pub struct ServiceNotifier {
    /// The unit's watchdog interval, if it has one for this process.
    watchdog: Option<Duration>,
    last_ping: Option<Instant>,
    ready: bool,
    /// A failed notification was logged (said once, not each frame).
    told_failure: bool,
}

impl ServiceNotifier {
    /// As the environment the service manager gave says.
    pub fn from_env() -> Self {
        Self {
            // A zero interval would mean a ping every frame: no watchdog at all is meant.
            watchdog: sd_notify::watchdog_enabled().filter(|d| !d.is_zero()),
            last_ping: None,
            ready: false,
            told_failure: false,
        }
    }

    /// A frame was presented at `now`: the first says the show is ready (and what plays), the
    /// rest keep the watchdog fed.
    pub fn presented(&mut self, now: Instant, playing: impl FnOnce() -> String) {
        if !self.ready {
            self.ready = true;
            // One line: a newline would start another assignment in the message.
            let status = format!("playing {}", playing().replace(['\n', '\r'], " "));
            self.send(&[NotifyState::Ready, NotifyState::Status(&status)]);
        }
        let Some(interval) = self.watchdog else {
            return;
        };
        if self
            .last_ping
            .is_none_or(|t| now.saturating_duration_since(t) >= interval / 2)
        {
            self.last_ping = Some(now);
            self.send(&[NotifyState::Watchdog]);
        }
    }

    /// `READY=1` has been sent.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// What plays changed (a kiosk's next item).
    pub fn status(&mut self, status: &str) {
        let status = status.replace(['\n', '\r'], " ");
        self.send(&[NotifyState::Status(&status)]);
    }

    /// The show is ending on purpose: no restart is wanted for it.
    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping]);
    }

    fn send(&mut self, state: &[NotifyState]) {
        if let Err(e) = sd_notify::notify(state) {
            if !self.told_failure {
                self.told_failure = true;
                tracing::warn!("somnia: cannot tell the service manager how the show is: {e}");
            }
        }
    }
}
