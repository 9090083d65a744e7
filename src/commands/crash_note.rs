//! A crash says where it happened. On SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT the process
//! writes one line to stderr naming the signal and the thread it hit (each of ours is named
//! for what it does: `somnia-midi`, `somnia-sync`, cpal's and JACK's by theirs), then the raw
//! frames as glibc gives them (`somnia(+0x1234) [0x…]`: `addr2line -fCie somnia 0x1234` names the
//! function), and lets the signal take its course: Rust's own handler still says a stack
//! overflow, a kiosk's systemd still restarts it. Without this a crash in a device library's
//! thread said only "signal 11" (once seen at the end of a show under JACK, never reproduced).
//!
//! The handler only formats into a stack buffer and calls `write`, `prctl`'s name read,
//! `backtrace` (loaded at install, so the handler never loads it) and `sigaction`.

use std::os::raw::{c_int, c_void};
use std::sync::OnceLock;

unsafe extern "C" {
    fn backtrace(buffer: *mut *mut c_void, size: c_int) -> c_int;
    fn backtrace_symbols_fd(buffer: *const *mut c_void, size: c_int, fd: c_int);
}

const SIGNALS: [(c_int, &str); 5] = [
    (libc::SIGSEGV, "SIGSEGV"),
    (libc::SIGBUS, "SIGBUS"),
    (libc::SIGILL, "SIGILL"),
    (libc::SIGFPE, "SIGFPE"),
    (libc::SIGABRT, "SIGABRT"),
];
/// Frames written at most.
const FRAMES: usize = 64;

/// Each signal's action before ours, to hand the signal on to.
static PREVIOUS: OnceLock<[libc::sigaction; SIGNALS.len()]> = OnceLock::new();

/// Installs the handler. Call first thing in `main`, before any thread starts.
pub fn install() {
    // glibc loads libgcc's unwinder on the first call: made here, not in the handler.
    let mut warm = [std::ptr::null_mut(); 1];
    // SAFETY: the buffer holds the one frame asked for.
    unsafe { backtrace(warm.as_mut_ptr(), 1) };
    let mut previous = [empty_action(); SIGNALS.len()];
    for (slot, (signal, _)) in previous.iter_mut().zip(SIGNALS) {
        // SAFETY: a null new action only reads the current one into `slot`.
        unsafe { libc::sigaction(signal, std::ptr::null(), slot) };
    }
    if PREVIOUS.set(previous).is_err() {
        return;
    }
    let mut action = empty_action();
    action.sa_sigaction = on_fatal as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    for (signal, _) in SIGNALS {
        // SAFETY: `on_fatal` has the three-argument form SA_SIGINFO asks for.
        unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
    }
}

fn empty_action() -> libc::sigaction {
    // SAFETY: all zeroes is an empty mask, no flags and SIG_DFL.
    unsafe { std::mem::zeroed() }
}

extern "C" fn on_fatal(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let index = SIGNALS.iter().position(|(s, _)| *s == signal).unwrap_or(0);
    let mut line = Line::default();
    line.push(b"somnia: crashed with ");
    line.push(SIGNALS[index].1.as_bytes());
    line.push(b" on thread `");
    let mut name = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL-terminated, into `name`.
    unsafe { libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr()) };
    line.push(&name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())]);
    line.push(b"`; its frames (addr2line -fCie BINARY +OFFSET names each):\n");
    line.write();
    let mut frames = [std::ptr::null_mut(); FRAMES];
    // SAFETY: the buffer holds FRAMES frames; fd 2 is stderr.
    unsafe {
        let n = backtrace(frames.as_mut_ptr(), FRAMES as c_int);
        backtrace_symbols_fd(frames.as_ptr(), n, 2);
    }
    // Handed on: Rust's handler (a stack overflow is said as one) or the default. What
    // returns from here is raised again, with the default action, to end the process even
    // when the signal was sent rather than caused.
    if let Some(previous) = PREVIOUS.get() {
        let before = previous[index];
        let handler = before.sa_sigaction;
        if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
            if before.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: installed with SA_SIGINFO, so it takes these three arguments.
                let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                    unsafe { std::mem::transmute(handler) };
                f(signal, info, context);
            } else {
                // SAFETY: installed without SA_SIGINFO, so it takes the signal alone.
                let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(handler) };
                f(signal);
            }
        }
    }
    let default = empty_action();
    // SAFETY: setting the default action, then raising: delivered when this handler returns.
    unsafe {
        libc::sigaction(signal, &default, std::ptr::null_mut());
        libc::raise(signal);
    }
}

/// A line built on the stack (the handler must not allocate).
struct Line {
    bytes: [u8; 256],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self {
            bytes: [0; 256],
            len: 0,
        }
    }
}

impl Line {
    fn push(&mut self, more: &[u8]) {
        let n = more.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&more[..n]);
        self.len += n;
    }

    fn write(&self) {
        // SAFETY: writes `len` initialised bytes to stderr.
        unsafe { libc::write(2, self.bytes.as_ptr().cast(), self.len) };
    }
}

/// `SOMNIA_DEBUG_CRASH=1`: a thread named `somnia-debug` raises SIGSEGV, so a test sees what
/// a crash says.
pub fn crash_if_asked() {
    if std::env::var_os("SOMNIA_DEBUG_CRASH").is_none() {
        return;
    }
    let crashing = std::thread::Builder::new()
        .name("somnia-debug".into())
        .spawn(|| {
            // SAFETY: raising a signal; the handler above ends the process.
            unsafe { libc::raise(libc::SIGSEGV) };
        });
    if let Ok(t) = crashing {
        let _ = t.join();
    }
}
