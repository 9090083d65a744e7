//! The windows of an output map (`--outputs`), on the main thread: one borderless window per
//! window output, on its monitor (by number or name) or, where the system reports one big
//! screen (a GPU's Mosaic, Xvfb), at its position.

use std::sync::Arc;

use winit::event_loop::ActiveEventLoop;
use winit::window::{Fullscreen, Window, WindowAttributes};

use crate::show::outputs::{MonitorChoice, OutputDef, OutputKind, OutputMap};

/// A window output's window and surface (the first output's is the window's own `Live`).
pub struct Screen {
    pub window: Arc<Window>,
    /// `None` after the surface was lost, until the GPU side is rebuilt.
    pub surface: Option<wgpu::Surface<'static>>,
    pub config: wgpu::SurfaceConfiguration,
    /// The surface may be viewed as sRGB: its flash guard works in place.
    pub srgb_views: bool,
    /// The output of the map it shows.
    pub output: usize,
}

/// The outputs of `map` that are windows, by index.
pub fn window_outputs(map: &OutputMap) -> Vec<usize> {
    map.outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.kind, OutputKind::Window { .. }))
        .map(|(i, _)| i)
        .collect()
}

/// How output `def`'s window is made: fullscreen on its monitor if the system has it; else a
/// borderless window of the output's size at its position; else fullscreen on the primary
/// monitor (said in the log).
pub fn attributes(event_loop: &ActiveEventLoop, title: &str, def: &OutputDef) -> WindowAttributes {
    let (w, h) = def.size;
    let attrs = Window::default_attributes()
        .with_title(format!("Somnia — {title} — {}", def.name))
        .with_inner_size(winit::dpi::PhysicalSize::new(w, h));
    let OutputKind::Window { monitor, position } = &def.kind else {
        return attrs;
    };
    let found = monitor.as_ref().and_then(|m| match m {
        MonitorChoice::Number(i) => event_loop.available_monitors().nth(*i),
        MonitorChoice::Name(n) => event_loop
            .available_monitors()
            .find(|m| m.name().as_deref() == Some(n.as_str())),
    });
    match (found, position) {
        (Some(m), _) => attrs.with_fullscreen(Some(Fullscreen::Borderless(Some(m)))),
        (None, Some((x, y))) => {
            if let Some(m) = monitor {
                tracing::info!(
                    "somnia: output `{}`: no monitor {m:?} here; a borderless window at {x},{y}",
                    def.name
                );
            }
            attrs
                .with_decorations(false)
                .with_position(winit::dpi::PhysicalPosition::new(*x, *y))
        }
        (None, None) => {
            if let Some(m) = monitor {
                tracing::warn!(
                    "somnia: output `{}`: no monitor {m:?} (`somnia list monitors` names them); fullscreen on the primary one",
                    def.name
                );
            }
            attrs.with_fullscreen(Some(Fullscreen::Borderless(None)))
        }
    }
}
