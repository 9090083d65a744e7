//! Our one wrapper around wgpu's instance, adapter, device and queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error(
        "no graphics adapter found ({0}); install Mesa's Vulkan drivers (apt-get install mesa-vulkan-drivers) for software rendering, or set WGPU_BACKEND=gl"
    )]
    NoAdapter(String),
    #[error("the graphics device could not be opened: {0}")]
    Device(String),
    #[error("the window surface could not be created: {0}")]
    Surface(String),
    #[error("reading a frame back from the GPU failed: {0}")]
    Readback(String),
}

pub struct Gpu {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// Set by wgpu's device-lost callback: a driver reset, a GPU that hung, an unplugged
    /// external GPU. wgpu does not recover by itself; whoever draws builds a new `Gpu`.
    lost: Arc<AtomicBool>,
}

impl Gpu {
    /// A device for offscreen rendering. Honours `WGPU_BACKEND` and friends.
    pub fn headless() -> Result<Self, RenderError> {
        let mut last = RenderError::NoAdapter("no backend was tried".into());
        for backends in backend_tries() {
            let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
            if let Some(b) = backends {
                desc.backends = b;
            }
            match Self::with_instance(wgpu::Instance::new(desc), None) {
                Ok(gpu) => return Ok(gpu),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A device able to present to `surface`, created from `instance`.
    pub fn with_instance(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Self, RenderError> {
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: surface,
            ..Default::default()
        }))
        .map_err(|e| RenderError::NoAdapter(e.to_string()))?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("somnia"),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device(e.to_string()))?;
        // wgpu's default handler panics on any validation error. The show goes on: log it,
        // at a bounded rate (a kiosk's log must never fill its disk).
        let limit = std::sync::Mutex::new(LogLimit::default());
        device.on_uncaptured_error(Arc::new(move |e| {
            if let Ok(mut l) = limit.lock() {
                l.say(
                    std::time::Instant::now(),
                    &format!("somnia: graphics error: {e}"),
                );
            }
        }));
        let lost = Arc::new(AtomicBool::new(false));
        {
            let lost = lost.clone();
            device.set_device_lost_callback(move |_reason, _message| {
                lost.store(true, Ordering::Relaxed);
            });
        }
        Ok(Self {
            instance,
            adapter,
            device,
            queue,
            lost,
        })
    }

    /// Whether the device was lost (it cannot draw again; build a new `Gpu`).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// "llvmpipe (LLVM 15.0.6, 256 bits) via Vulkan, Cpu" and the like.
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        format!(
            "{} via {:?}, {:?}",
            info.name, info.backend, info.device_type
        )
    }
}

/// The backends to try, in order (`None`: as `WGPU_BACKEND` says). Unless that variable
/// names them: the platform's primary API (Vulkan, Metal, DX12), then OpenGL only where it
/// found no adapter. Probing OpenGL beside Vulkan loads Mesa's GL driver for nothing: 11 MB of
/// resident memory while a show plays (measured with `somnia play` on lavapipe).
pub fn backend_tries() -> Vec<Option<wgpu::Backends>> {
    if std::env::var_os("WGPU_BACKEND").is_some() {
        vec![None]
    } else {
        vec![Some(wgpu::Backends::PRIMARY), Some(wgpu::Backends::GL)]
    }
}

/// How many error lines may be printed in a [`LogLimit::WINDOW`] before the rest are only
/// counted.
const LOG_LINES_PER_WINDOW: u32 = 5;

/// Bounds how fast a repeating error fills the log: the first few of each window are printed,
/// the rest counted and summed up once the window is over.
#[derive(Debug, Default)]
pub struct LogLimit {
    window_start: Option<std::time::Instant>,
    said: u32,
    held: u64,
}

impl LogLimit {
    pub const WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

    /// Prints `line` unless too many were printed lately; returns whether it was printed.
    pub fn say(&mut self, now: std::time::Instant, line: &str) -> bool {
        let new_window = self
            .window_start
            .is_none_or(|t| now.saturating_duration_since(t) >= Self::WINDOW);
        if new_window {
            if self.held > 0 {
                tracing::warn!(
                    "somnia: ({} more such errors in the last {} s were not printed)",
                    self.held,
                    Self::WINDOW.as_secs()
                );
            }
            *self = Self {
                window_start: Some(now),
                ..Self::default()
            };
        }
        if self.said < LOG_LINES_PER_WINDOW {
            self.said += 1;
            tracing::warn!("{line}");
            true
        } else {
            self.held += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_error_prints_five_lines_in_ten_seconds_and_counts_the_rest() {
        let mut l = LogLimit::default();
        let t0 = std::time::Instant::now();
        let printed = (0..1000)
            .filter(|i| l.say(t0 + std::time::Duration::from_millis(*i), "x"))
            .count();
        assert_eq!(printed, 5);
        assert_eq!(l.held, 995);
        assert!(
            l.say(t0 + LogLimit::WINDOW, "x"),
            "a new window prints again"
        );
        assert_eq!(l.held, 0);
    }
}
