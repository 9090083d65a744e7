//! A bounded channel to a thread that parks between messages (the MIDI thread, which MIDI
//! learn is armed through): sending unparks it, so a request is seen at once rather than at
//! its next poll. Full, the message is dropped and the sender told, never waited for.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Thread;

pub struct WakeSender<T> {
    tx: SyncSender<T>,
    thread: Thread,
}

impl<T> Clone for WakeSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            thread: self.thread.clone(),
        }
    }
}

impl<T> WakeSender<T> {
    /// Queues `message` and wakes the thread; false if it was dropped (the queue was full or
    /// the thread has ended).
    pub fn send(&self, message: T) -> bool {
        let sent = self.tx.try_send(message).is_ok();
        self.thread.unpark();
        sent
    }
}

/// A channel of `capacity` whose sender wakes `thread`. Made before the thread exists, the
/// receiver moves into it; [`Waker::bind`] names the thread once it runs.
pub fn wake_channel<T>(capacity: usize) -> (Waker<T>, Receiver<T>) {
    let (tx, rx) = sync_channel(capacity);
    (Waker { tx }, rx)
}

/// The sending end before its thread is known.
pub struct Waker<T> {
    tx: SyncSender<T>,
}

impl<T> Waker<T> {
    pub fn bind(self, thread: Thread) -> WakeSender<T> {
        WakeSender {
            tx: self.tx,
            thread,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_channel_drops_and_says_so_and_a_send_wakes_the_parked_thread() {
        let (waker, rx) = wake_channel::<u8>(1);
        let tx = waker.bind(std::thread::current());
        assert!(tx.send(1));
        assert!(!tx.send(2), "the second message does not fit");
        // The sends left this thread a wake-up: parking returns at once.
        let start = std::time::Instant::now();
        std::thread::park_timeout(std::time::Duration::from_secs(10));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1]);
    }
}
