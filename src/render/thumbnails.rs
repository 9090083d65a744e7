//! The thumbnail painter: a helper thread (`somnia-thumbs`) that draws a small still of each
//! of the project's presets (loaded afresh from their files each time), offscreen on a GPU
//! device of its own, when the render thread asks (at the start, and after a preset or a
//! shader changes), and publishes them as PNGs for the operator's console. It never touches
//! the window's device, so a slow painter (lavapipe on a busy machine) can never hold up a
//! frame.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::bridge::thumbnails::Thumbnail;
use crate::bridge::{AnalysisTrack, Thumbnails};
use crate::show::compile::still_timeline;
use crate::show::preset::Preset;
use crate::show::timeline::Switch;

use super::capture::FrameRenderer;

/// A thumbnail's size: 16:9, big enough to tell looks apart in a grid.
pub const SIZE: (u32, u32) = (192, 108);
/// Where in its preset's life a thumbnail is taken (s): past any opening darkness.
const AT_S: f64 = 1.5;

/// Loads the presets to draw, as their files are now.
pub type PresetLoader = Box<dyn Fn() -> Vec<Preset> + Send>;

/// Starts the painter; it ends once everyone else has let go of `board`.
pub fn start(
    board: &Arc<Thumbnails>,
    load: PresetLoader,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let board = Arc::downgrade(board);
    std::thread::Builder::new()
        .name("somnia-thumbs".into())
        .spawn(move || paint_on(board, load))
}

fn paint_on(board: Weak<Thumbnails>, load: PresetLoader) {
    loop {
        let Some(b) = board.upgrade() else { return };
        if !b.take_request(Duration::from_millis(500)) {
            continue;
        }
        let presets = load();
        drop(b);
        // Given up between pictures once the show ends: a paint in flight on its own device
        // must not outlive the process's teardown.
        let alive = || board.strong_count() > 0;
        match paint(&presets, &alive) {
            Ok(pngs) => {
                if let Some(b) = board.upgrade() {
                    b.publish(pngs);
                }
            }
            Err(_) if !alive() => return,
            Err(e) => tracing::warn!("somnia: the console's thumbnails could not be drawn: {e}"),
        }
    }
}

/// A PNG of each preset, in order. One timeline shows them one after another (a second each)
/// so that one renderer, on one device, draws them all.
pub fn paint(presets: &[Preset], alive: &dyn Fn() -> bool) -> Result<Vec<Thumbnail>, String> {
    let Some(first) = presets.first() else {
        return Ok(Vec::new());
    };
    let span_s = 10.0;
    let mut timeline = still_timeline(first.clone(), span_s * presets.len() as f64);
    timeline.presets = presets.to_vec();
    timeline.switches = (0..presets.len())
        .map(|i| Switch {
            time_s: i as f64 * span_s,
            preset: i,
            fade_s: 0.0,
            style: None,
        })
        .collect();
    let (w, h) = SIZE;
    let mut renderer = FrameRenderer::new(&timeline, w, h).map_err(|e| e.to_string())?;
    // Stills of different looks side by side, never a sequence on a screen: the flash guard
    // would take one preset's change to the next for a flash and dim it.
    renderer.set_flash_guard(false);
    let track = AnalysisTrack::default();
    presets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !alive() {
                return Err("the show ended".to_string());
            }
            let rgba = renderer
                .frame_at(&timeline, &track, i as f64 * span_s + AT_S)
                .map_err(|e| e.to_string())?;
            Ok((p.name.clone(), Arc::from(png_bytes(w, h, &rgba)?)))
        })
        .collect()
}

fn png_bytes(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgba).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}
