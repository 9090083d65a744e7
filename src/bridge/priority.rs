//! What became of a thread's request for real-time priority, and the request itself (one
//! system call), for the threads whose timing is the show's: the audio thread
//! (`audio::rt_priority` asks, reports through an atomic in [`Transport`](super::Transport), and
//! the supervisor logs it once) and the sync thread that sends clock and timecode out. Here is
//! the value, how it packs into one integer, and the call.

/// What became of the request, as the audio thread reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// The thread runs at real-time priority.
    RealTime,
    /// Refused with this OS error number; the thread plays on at normal priority.
    Refused(i32),
}

/// Packs a result into one integer for an atomic (0: not yet known).
pub fn encode(priority: Priority) -> i32 {
    match priority {
        Priority::RealTime => 1,
        Priority::Refused(errno) => -errno.max(1),
    }
}

pub fn decode(code: i32) -> Option<Priority> {
    match code {
        0 => None,
        1 => Some(Priority::RealTime),
        c => Some(Priority::Refused(-c)),
    }
}

/// Puts thread `tid` of this process (0: the caller) under SCHED_FIFO at `priority` (1..99;
/// above every normal thread). One system call; reading errno does not allocate. Elsewhere than
/// Linux nothing is asked here (cpal asks for the audio thread itself).
pub fn set_fifo(tid: i32, priority: i32) -> Priority {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: tid names a thread of this process (or 0, the caller); param outlives the call.
        if unsafe { libc::sched_setscheduler(tid, libc::SCHED_FIFO, &param) } == 0 {
            Priority::RealTime
        } else {
            Priority::Refused(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (tid, priority);
        Priority::RealTime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_survive_the_trip_through_an_atomic() {
        for p in [
            Priority::RealTime,
            Priority::Refused(1),
            Priority::Refused(13),
        ] {
            assert_eq!(decode(encode(p)), Some(p));
        }
        assert_eq!(decode(0), None);
    }
}
