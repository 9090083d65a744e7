//! What the control thread tells the render thread: the newest show to draw (after a GO, a
//! seek, a saved file) and why the last reload failed. Latest value wins: the render thread
//! only ever needs the newest of each, so nothing queues however long a frame takes, and
//! nothing is dropped that still matters. A mutex only the control and render threads take
//! (never the audio thread) holds them.
//!
//! Generic over the show and its problems: what a timeline *is* belongs to `show/`; how it
//! crosses belongs here.

use std::sync::{Arc, Mutex};

/// What the render thread finds when it looks.
#[derive(Debug)]
pub struct ShowUpdate<Show, Problems> {
    /// A newer show to draw.
    pub show: Option<Arc<Show>>,
    /// A reload failed after the newest show: the last good one plays on, these say why.
    pub load_failed: Option<Problems>,
}

/// The control thread's end and the render thread's end at once (clone the `Arc`).
#[derive(Debug)]
pub struct ShowMailbox<Show, Problems> {
    slot: Mutex<ShowUpdate<Show, Problems>>,
}

impl<S, P> Default for ShowMailbox<S, P> {
    fn default() -> Self {
        Self {
            slot: Mutex::new(ShowUpdate {
                show: None,
                load_failed: None,
            }),
        }
    }
}

impl<S, P> ShowMailbox<S, P> {
    /// A new show replaces any not yet taken, and the load failure before it (a show posted
    /// after a failure loaded fine).
    pub fn post_show(&self, show: Arc<S>) {
        if let Ok(mut slot) = self.slot.lock() {
            slot.show = Some(show);
            slot.load_failed = None;
        }
    }

    /// A failed reload, replacing an older one not yet taken.
    pub fn post_load_failed(&self, problems: P) {
        if let Ok(mut slot) = self.slot.lock() {
            slot.load_failed = Some(problems);
        }
    }

    /// Everything posted since the last look: the show first, then the failure that came
    /// after it. `None` when nothing is new.
    pub fn take(&self) -> Option<ShowUpdate<S, P>> {
        let mut slot = self.slot.lock().ok()?;
        if slot.show.is_none() && slot.load_failed.is_none() {
            return None;
        }
        Some(ShowUpdate {
            show: slot.show.take(),
            load_failed: slot.load_failed.take(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_show_and_the_failure_after_it_are_taken_together() {
        let m = ShowMailbox::<u32, &str>::default();
        assert!(m.take().is_none());
        m.post_show(Arc::new(1));
        m.post_show(Arc::new(2));
        m.post_load_failed("bad");
        let u = m.take().unwrap();
        assert_eq!(u.show.as_deref(), Some(&2));
        assert_eq!(u.load_failed, Some("bad"));
        assert!(m.take().is_none());
    }

    #[test]
    fn a_show_posted_after_a_failure_clears_it() {
        let m = ShowMailbox::<u32, &str>::default();
        m.post_load_failed("bad");
        m.post_show(Arc::new(3));
        let u = m.take().unwrap();
        assert_eq!(u.show.as_deref(), Some(&3));
        assert_eq!(u.load_failed, None);
    }
}
