//! Real-time scheduling for the audio thread. A busy machine (a render thread, a flood of OSC,
//! a sound server) must not make the sound card run dry, and the scheduler only keeps that
//! promise for a thread it runs at real-time priority.
//!
//! cpal's `realtime` feature asks rtkit over D-Bus on Linux, and without its D-Bus build it
//! does nothing at all there; so on Linux we ask the kernel ourselves, as JACK clients do:
//! `SCHED_FIFO` is granted to root and to users whose `rtprio` limit allows it (the `audio`
//! group on most distributions). Elsewhere cpal's feature does the work.

use crate::bridge::Priority;

/// The SCHED_FIFO priority asked for: above every normal thread and PulseAudio's own
/// real-time threads (5), well below the kernel's (50) and JACK's (70+).
#[cfg(target_os = "linux")]
pub const AUDIO_RT_PRIORITY: i32 = 10;

/// Asks for real-time priority for the calling thread. One system call, no allocation, no
/// lock: safe to make on the audio thread's first callback.
pub fn promote_current_thread() -> Priority {
    #[cfg(target_os = "linux")]
    {
        // Thread id 0: the calling thread.
        set_fifo(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Priority::RealTime
    }
}

/// Gives libpulse's own threads in this process real-time priority too. Through the ALSA
/// PulseAudio plugin our sound reaches the server on libpulse's mainloop thread
/// (`threaded-ml`), not on cpal's: at normal priority it is starved on a busy machine and the
/// server's buffer runs dry although our callback was on time. Called by `open_stream` once a
/// stream plays (it reads /proc, so never from the audio thread); a refusal here is the one
/// the audio thread already reported.
pub fn promote_sound_server_threads() {
    #[cfg(target_os = "linux")]
    {
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return;
        };
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() != "threaded-ml" {
                continue;
            }
            if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) {
                set_fifo(tid);
            }
        }
    }
}

/// Puts thread `tid` of this process (0: the caller) under SCHED_FIFO at
/// `AUDIO_RT_PRIORITY`. One system call; reading errno does not allocate.
#[cfg(target_os = "linux")]
fn set_fifo(tid: libc::pid_t) -> Priority {
    crate::bridge::priority::set_fifo(tid, AUDIO_RT_PRIORITY)
}

/// The line for the log, said once: what the performer can do when it was refused.
pub fn describe(priority: Priority) -> String {
    match priority {
        Priority::RealTime => "somnia: the audio thread runs at real-time priority".into(),
        Priority::Refused(errno) => format!(
            "somnia: the audio thread runs at normal priority (real-time was refused: {}); on a \
             busy machine the sound may drop out. Allow real-time scheduling (README, \"Audio\"), \
             or use a larger --buffer",
            std::io::Error::from_raw_os_error(errno)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promoted_thread_runs_under_sched_fifo_or_is_left_as_it_was() {
        std::thread::spawn(|| {
            let got = promote_current_thread();
            #[cfg(target_os = "linux")]
            {
                let mut policy = 0;
                let mut param = libc::sched_param { sched_priority: 0 };
                // SAFETY: reads the calling thread's own scheduling into locals.
                let rc = unsafe {
                    libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param)
                };
                assert_eq!(rc, 0);
                match got {
                    Priority::RealTime => {
                        assert_eq!(policy, libc::SCHED_FIFO);
                        assert_eq!(param.sched_priority, AUDIO_RT_PRIORITY);
                    }
                    Priority::Refused(errno) => {
                        assert_eq!(errno, libc::EPERM, "only a permission refusal is expected");
                        assert_eq!(policy, libc::SCHED_OTHER);
                    }
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = got;
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_refusal_tells_the_performer_what_to_do() {
        let line = describe(Priority::Refused(1));
        assert!(line.contains("normal priority"), "{line}");
        assert!(line.contains("--buffer"), "{line}");
    }
}
