//! A display that goes away mid-show (the X server stops) ends the process: nothing can be
//! drawn, and Xlib offers no way back from a broken connection. Its default reaction prints
//! Xlib's own line and exits with status 1, which the README keeps for bad input; ours says
//! what happened and exits with the status for "something missing on the machine".

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, Ordering};

    static EXIT_CODE: AtomicI32 = AtomicI32::new(2);
    /// Xlib stays loaded for the life of the process (winit loads the same library).
    static XLIB: OnceLock<Option<x11_dl::xlib::Xlib>> = OnceLock::new();

    unsafe extern "C" fn lost(_display: *mut x11_dl::xlib::Display) -> std::os::raw::c_int {
        tracing::warn!(
            "somnia: the display went away (its X server stopped); the show cannot be seen and ends here"
        );
        // Xlib must not be returned to; `_exit` skips handlers that might touch it again.
        // SAFETY: `_exit` only ends the process.
        unsafe { libc::_exit(EXIT_CODE.load(Ordering::Relaxed)) }
    }

    pub fn exit_with(code: i32) {
        if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
            return;
        }
        EXIT_CODE.store(code, Ordering::Relaxed);
        let Some(xlib) = XLIB
            .get_or_init(|| x11_dl::xlib::Xlib::open().ok())
            .as_ref()
        else {
            return;
        };
        // SAFETY: installs a handler with the signature Xlib expects; it never returns.
        unsafe {
            (xlib.XSetIOErrorHandler)(Some(lost));
        }
    }
}

/// When the X display is lost, print one line and exit with `code`.
pub fn exit_when_lost(code: i32) {
    #[cfg(target_os = "linux")]
    imp::exit_with(code);
    #[cfg(not(target_os = "linux"))]
    let _ = code;
}
