//! What became of the audio thread's request for real-time priority. The audio thread learns
//! it (one system call, `audio::rt_priority`) and reports it through an atomic in
//! [`Transport`](super::Transport); the supervisor logs it once. Here is the value and how it
//! packs into one integer.

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
