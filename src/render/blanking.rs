//! No screen blanking while a show plays: the X screensaver and DPMS power saving are turned
//! off when the window opens and put back as they were when the show ends (Esc, a signal, the
//! window closed). A gallery's kiosk must not go dark after ten minutes of nobody touching
//! it, nor a stage's projector in a long quiet act.
//!
//! The settings are the X server's, changed through a connection of our own (Xlib and Xext
//! loaded at run time, as winit loads them). Without X (Wayland, no display), or a server
//! without the DPMS extension, the part that cannot be done is skipped.

#[cfg(target_os = "linux")]
mod imp {
    use std::os::raw::c_int;

    use x11_dl::dpms::Xext;
    use x11_dl::xlib::{Display, Xlib};

    /// The screensaver's settings as found, to put back.
    struct Saver {
        timeout: c_int,
        interval: c_int,
        prefer_blanking: c_int,
        allow_exposures: c_int,
    }

    pub struct BlankingOff {
        xlib: Xlib,
        xext: Option<Xext>,
        display: *mut Display,
        saver: Saver,
        /// DPMS was on (and is now off); `None` where the server has no DPMS.
        dpms_was_on: Option<bool>,
    }

    // SAFETY: the display connection is ours alone, used only by the thread that holds this
    // (the window's), and closed once in `drop`.
    unsafe impl Send for BlankingOff {}

    impl BlankingOff {
        pub fn new() -> Option<Self> {
            if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
                return None;
            }
            let xlib = Xlib::open().ok()?;
            // SAFETY: a new connection to the server DISPLAY names; null when it fails.
            let display = unsafe { (xlib.XOpenDisplay)(std::ptr::null()) };
            if display.is_null() {
                return None;
            }
            let mut saver = Saver {
                timeout: 0,
                interval: 0,
                prefer_blanking: 0,
                allow_exposures: 0,
            };
            let xext = Xext::open().ok();
            // SAFETY: `display` is open; the out-pointers are locals.
            let dpms_was_on = unsafe {
                (xlib.XGetScreenSaver)(
                    display,
                    &mut saver.timeout,
                    &mut saver.interval,
                    &mut saver.prefer_blanking,
                    &mut saver.allow_exposures,
                );
                (xlib.XSetScreenSaver)(
                    display,
                    0,
                    saver.interval,
                    saver.prefer_blanking,
                    saver.allow_exposures,
                );
                let dpms = xext.as_ref().and_then(|xext| {
                    let (mut event, mut error) = (0, 0);
                    if (xext.DPMSQueryExtension)(display, &mut event, &mut error) == 0
                        || (xext.DPMSCapable)(display) == 0
                    {
                        return None;
                    }
                    let (mut level, mut on) = (0u16, 0u8);
                    (xext.DPMSInfo)(display, &mut level, &mut on);
                    if on != 0 {
                        (xext.DPMSDisable)(display);
                    }
                    Some(on != 0)
                });
                (xlib.XFlush)(display);
                dpms
            };
            Some(Self {
                xlib,
                xext,
                display,
                saver,
                dpms_was_on,
            })
        }
    }

    impl Drop for BlankingOff {
        fn drop(&mut self) {
            let s = &self.saver;
            // SAFETY: `display` is the connection opened in `new`, closed here once.
            unsafe {
                (self.xlib.XSetScreenSaver)(
                    self.display,
                    s.timeout,
                    s.interval,
                    s.prefer_blanking,
                    s.allow_exposures,
                );
                if let (Some(true), Some(xext)) = (self.dpms_was_on, &self.xext) {
                    (xext.DPMSEnable)(self.display);
                }
                (self.xlib.XFlush)(self.display);
                (self.xlib.XCloseDisplay)(self.display);
            }
        }
    }
}

/// While held, the display neither blanks nor sleeps; dropping it puts its settings back.
pub struct BlankingOff {
    #[cfg(target_os = "linux")]
    _x: Option<imp::BlankingOff>,
}

impl BlankingOff {
    /// Turns blanking off where it can (see the module).
    pub fn new() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            _x: imp::BlankingOff::new(),
        }
    }
}

impl Default for BlankingOff {
    fn default() -> Self {
        Self::new()
    }
}
