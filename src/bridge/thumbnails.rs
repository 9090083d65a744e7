//! Thumbnails of the show's presets, for the operator's console: the render thread asks for
//! them (at the start, and again when a preset or its shader changes), a helper thread of its
//! own draws them offscreen, and the web thread serves the newest set. Tier 2: the request is
//! latest-value-wins (asking again before the helper got to it replaces the list), the set is
//! behind a mutex the web and helper threads take for a moment, and nobody waits for anybody
//! but the helper, which sleeps until there is work.
//!
//! Generic over what a preset is (`show/` says that); how it crosses belongs here.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A preset's name and its thumbnail's PNG bytes.
pub type Thumbnail = (String, Arc<[u8]>);

/// One set of thumbnails: PNG bytes by preset name, in the show's order.
#[derive(Clone, Debug, Default)]
pub struct ThumbnailSet {
    /// Bumped with each new set, so a page knows to fetch the pictures again.
    pub generation: u64,
    pub pngs: Vec<Thumbnail>,
}

#[derive(Debug)]
pub struct Thumbnails<P> {
    wanted: Mutex<Option<Vec<P>>>,
    wake: Condvar,
    set: Mutex<ThumbnailSet>,
}

impl<P> Default for Thumbnails<P> {
    fn default() -> Self {
        Self {
            wanted: Mutex::new(None),
            wake: Condvar::new(),
            set: Mutex::new(ThumbnailSet::default()),
        }
    }
}

impl<P> Thumbnails<P> {
    /// Asks for thumbnails of `presets`, replacing a request not yet taken.
    pub fn request(&self, presets: Vec<P>) {
        if let Ok(mut w) = self.wanted.lock() {
            *w = Some(presets);
            self.wake.notify_one();
        }
    }

    /// The helper's end: the newest request, waiting up to `timeout` for one.
    pub fn next_request(&self, timeout: Duration) -> Option<Vec<P>> {
        let w = self.wanted.lock().ok()?;
        let (mut w, _) = self
            .wake
            .wait_timeout_while(w, timeout, |w| w.is_none())
            .ok()?;
        w.take()
    }

    /// The helper's result.
    pub fn publish(&self, pngs: Vec<Thumbnail>) {
        if let Ok(mut s) = self.set.lock() {
            s.generation += 1;
            s.pngs = pngs;
        }
    }

    /// The newest set (cheap: the pictures are shared).
    pub fn current(&self) -> ThumbnailSet {
        self.set.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_request_wins_and_each_published_set_has_a_new_generation() {
        let t: Thumbnails<&str> = Thumbnails::default();
        assert_eq!(t.next_request(Duration::from_millis(1)), None);
        t.request(vec!["a"]);
        t.request(vec!["a", "b"]);
        assert_eq!(t.next_request(Duration::ZERO), Some(vec!["a", "b"]));
        assert_eq!(t.next_request(Duration::from_millis(1)), None);
        t.publish(vec![("a".into(), Arc::from(&b"png"[..]))]);
        t.publish(vec![("b".into(), Arc::from(&b"png"[..]))]);
        let set = t.current();
        assert_eq!((set.generation, set.pngs[0].0.as_str()), (2, "b"));
    }
}
