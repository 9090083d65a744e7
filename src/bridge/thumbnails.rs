//! Thumbnails of the project's presets, for the operator's console: the render thread asks for
//! them (at the start, and again when a preset or its shader changes), a helper thread of its
//! own draws them offscreen, and the web thread serves the newest set. Tier 2: a request is a
//! flag (asking twice before the helper got to it is asking once), the set is behind a mutex
//! the web and helper threads take for a moment, and nobody waits for anybody but the helper,
//! which sleeps until there is work.

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

#[derive(Debug, Default)]
pub struct Thumbnails {
    /// (a set was asked for, a console has been opened): the helper paints only when both
    /// hold, so a show nobody watches from a console never pays for thumbnails (on a machine
    /// drawing on its CPU, painting competes with the show itself).
    wanted: Mutex<(bool, bool)>,
    wake: Condvar,
    set: Mutex<ThumbnailSet>,
}

impl Thumbnails {
    /// Asks for a new set (the presets or their shaders changed).
    pub fn request(&self) {
        if let Ok(mut w) = self.wanted.lock() {
            w.0 = true;
            self.wake.notify_one();
        }
    }

    /// A console was opened: from now on, asked-for sets are painted.
    pub fn watch(&self) {
        if let Ok(mut w) = self.wanted.lock() {
            if !w.1 {
                w.1 = true;
                self.wake.notify_one();
            }
        }
    }

    /// The helper's end: whether a set was asked for, waiting up to `timeout` for a request.
    pub fn take_request(&self, timeout: Duration) -> bool {
        let Ok(w) = self.wanted.lock() else {
            return false;
        };
        match self.wake.wait_timeout_while(w, timeout, |w| !(w.0 && w.1)) {
            Ok((mut w, _)) if w.0 && w.1 => {
                w.0 = false;
                true
            }
            _ => false,
        }
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
    fn two_requests_before_the_helper_looks_are_one_and_each_set_has_a_new_generation() {
        let t = Thumbnails::default();
        assert!(!t.take_request(Duration::from_millis(1)));
        t.request();
        t.request();
        assert!(
            !t.take_request(Duration::from_millis(1)),
            "nobody has opened a console yet"
        );
        t.watch();
        assert!(t.take_request(Duration::ZERO));
        assert!(!t.take_request(Duration::from_millis(1)));
        t.publish(vec![("a".into(), Arc::from(&b"png"[..]))]);
        t.publish(vec![("b".into(), Arc::from(&b"png"[..]))]);
        let set = t.current();
        assert_eq!((set.generation, set.pngs[0].0.as_str()), (2, "b"));
    }
}
