//! No screen blanking while a show plays: the X screensaver and DPMS power saving are turned
//! off when the window opens and put back as they were when the show ends (Esc, a signal, the
//! window closed). A gallery's kiosk must not go dark after ten minutes of nobody touching
//! it, nor a stage's projector in a long quiet act.
//!
//! The settings are the X server's, changed through a connection of our own (Xlib and Xext
//! loaded at run time, as winit loads them). Without X (Wayland, no display), or a server
//! without the DPMS extension, the part that cannot be done is skipped.
//!
//! A show killed outright (`kill -9`, a crash) cannot put them back, and the next start would
//! take "off" for the settings to keep. So the settings found are also written to a small
//! file for that display, removed when they are put back; a start that finds the file takes
//! the settings from it.

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

    /// Where the settings found wait for a show that did not end to put them back.
    fn saved_path() -> std::path::PathBuf {
        let display: String = std::env::var("DISPLAY")
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        std::env::temp_dir().join(format!("somnia-blanking-{display}.txt"))
    }

    /// The settings a show that did not end left in the file: saver and DPMS.
    fn read_saved() -> Option<(Saver, Option<bool>)> {
        let text = std::fs::read_to_string(saved_path()).ok()?;
        let v: Vec<i64> = text
            .split_whitespace()
            .map(|n| n.parse().ok())
            .collect::<Option<_>>()?;
        let [timeout, interval, prefer_blanking, allow_exposures, dpms] = v[..] else {
            return None;
        };
        let int = |n: i64| c_int::try_from(n).ok();
        Some((
            Saver {
                timeout: int(timeout)?,
                interval: int(interval)?,
                prefer_blanking: int(prefer_blanking)?,
                allow_exposures: int(allow_exposures)?,
            },
            match dpms {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            },
        ))
    }

    fn write_saved(s: &Saver, dpms: Option<bool>) {
        let dpms = match dpms {
            Some(true) => 1,
            Some(false) => 0,
            None => -1,
        };
        let _ = std::fs::write(
            saved_path(),
            format!(
                "{} {} {} {} {dpms}\n",
                s.timeout, s.interval, s.prefer_blanking, s.allow_exposures
            ),
        );
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
            // A show before this one did not end: what it found is what to put back.
            let (saver, dpms_was_on) = match read_saved() {
                Some((saved, dpms)) => (saved, dpms.or(dpms_was_on)),
                None => {
                    write_saved(&saver, dpms_was_on);
                    (saver, dpms_was_on)
                }
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

    impl BlankingOff {
        /// Puts the display to sleep (DPMS off) or wakes it; false where the server has no
        /// DPMS. While asleep DPMS is enabled (it must be, to force a level), awake it is off
        /// again as the show wants it.
        pub fn sleep(&self, asleep: bool) -> bool {
            let (Some(_), Some(xext)) = (self.dpms_was_on, &self.xext) else {
                return false;
            };
            use x11_dl::dpms::{DPMSModeOff, DPMSModeOn};
            // SAFETY: `display` is the connection opened in `new`, still open.
            unsafe {
                if asleep {
                    (xext.DPMSEnable)(self.display);
                    (xext.DPMSForceLevel)(self.display, DPMSModeOff);
                } else {
                    (xext.DPMSForceLevel)(self.display, DPMSModeOn);
                    (xext.DPMSDisable)(self.display);
                }
                (self.xlib.XFlush)(self.display);
            }
            true
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
            let _ = std::fs::remove_file(saved_path());
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

impl BlankingOff {
    /// Puts the display to sleep (a closed kiosk's `sleep`) or wakes it; false where it
    /// cannot (no X server with DPMS).
    pub fn sleep(&self, asleep: bool) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(x) = &self._x {
            return x.sleep(asleep);
        }
        let _ = asleep;
        false
    }
}

impl Default for BlankingOff {
    fn default() -> Self {
        Self::new()
    }
}
