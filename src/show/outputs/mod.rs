//! The output map: where the one canvas the show is composed on goes in the room. A map
//! declares outputs (a borderless fullscreen window on a monitor, or a virtual output drawn
//! offscreen and written as raw video), and for each the slices of the canvas it shows and the
//! projector's correction below that layout: a four-corner perspective warp, a mesh warp on
//! top of it, soft-edge blends and polygon masks.
//!
//! Coordinates, stated once:
//! - **canvas** pixels: the composed show, top-left origin (`crop`);
//! - **layout** pixels: the output before its correction, where slices are `place`d and blends
//!   ramp, so a blend moves with the picture when the warp moves it;
//! - **output** pixels: what the projector shows, after the correction (`corners`, masks cut
//!   to the surface as the projector sees it).
//!
//! The map is a file format of the show side (`file.rs` reads and checks it, `save.rs` writes
//! live calibration back); the render thread bakes it (`render::mapping`).

mod adjust;
mod file;
mod save;

pub use adjust::{Adjusted, apply};
pub use file::{load_outputs, outputs_shape, parse_outputs};
pub use save::{SaveError, save_outputs};

use std::path::PathBuf;

/// Most outputs a map may declare (each is a window or an offscreen target of its own).
pub const MAX_OUTPUTS: usize = 16;
/// Largest canvas or output side, in pixels (wgpu's common texture limit).
pub const MAX_SIDE_PX: u32 = 8192;
/// Most points a mesh warp's grid may have a side.
pub const MAX_MESH_SIDE: usize = 33;

/// The bounds a map's values keep, in the file and live alike (a live value the file could
/// not hold would be saved into a file that no longer reads).
pub(crate) mod limits {
    /// A blend's curve power.
    pub const POWER: (f64, f64) = (0.1, 10.0);
    /// A projector's gamma.
    pub const GAMMA: (f64, f64) = (0.5, 4.0);
    /// The black-level lift.
    pub const BLACK_LIFT: (f64, f64) = (0.0, 0.5);

    pub fn within(v: f64, (lo, hi): (f64, f64)) -> bool {
        v.is_finite() && (lo..=hi).contains(&v)
    }

    /// A corner may lie off its output (a projector aimed past the surface), not far off.
    pub fn corner_in_reach(p: [f64; 2], size: (u32, u32)) -> bool {
        let reach = |v: f64, side: u32| v.is_finite() && v.abs() <= 4.0 * f64::from(side) + 4096.0;
        reach(p[0], size.0) && reach(p[1], size.1)
    }

    /// A mesh point, in layout units, a little beyond the layout at most.
    pub fn mesh_point_in_reach(p: [f64; 2]) -> bool {
        p.iter().all(|v| v.is_finite() && v.abs() <= 4.0)
    }

    /// A crop (x, y, width, height) with a size, inside the canvas. The slack is the saved
    /// file's rounding (1e-5), so a crop made live reads back.
    pub fn crop_fits(rect: [f64; 4], canvas: (u32, u32)) -> bool {
        let slack = 1e-4;
        rect.iter().all(|v| v.is_finite())
            && rect[0] >= 0.0
            && rect[1] >= 0.0
            && rect[2] > 0.0
            && rect[3] > 0.0
            && rect[0] + rect[2] <= f64::from(canvas.0) + slack
            && rect[1] + rect[3] <= f64::from(canvas.1) + slack
    }
}

/// A checked output map.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputMap {
    /// The file it was read from (saves go back there).
    pub path: PathBuf,
    /// The size the show is composed at, in pixels.
    pub canvas: (u32, u32),
    pub outputs: Vec<OutputDef>,
}

/// One output: a projector, a screen or a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputDef {
    pub name: String,
    pub kind: OutputKind,
    /// Its resolution, in pixels.
    pub size: (u32, u32),
    /// Waits for the display's refresh (windows only).
    pub vsync: bool,
    /// What of the canvas it shows, and where on its layout (none: nothing but black).
    pub slices: Vec<Slice>,
    /// Where the layout's corners land on the output (top-left, top-right, bottom-right,
    /// bottom-left), in output pixels: the four-corner perspective warp.
    pub corners: [[f64; 2]; 4],
    /// A mesh warp under the corners (none: the identity).
    pub mesh: Option<Mesh>,
    pub blend: Blend,
    pub masks: Vec<Mask>,
    /// The calibration test card shows instead of the show.
    pub test_card: bool,
}

impl OutputDef {
    /// The corners of an unwarped output of `size`.
    pub fn identity_corners(size: (u32, u32)) -> [[f64; 2]; 4] {
        let (w, h) = (f64::from(size.0), f64::from(size.1));
        [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum OutputKind {
    /// A borderless fullscreen window.
    Window {
        /// Which monitor (none: the primary one, or `position`).
        monitor: Option<MonitorChoice>,
        /// Where the window goes when the monitor is not found or not named (a setup that
        /// reports one big screen): a borderless window of the output's size at this place.
        position: Option<(i32, i32)>,
    },
    /// Drawn offscreen; each frame's raw RGBA written to `file` (a file or a named pipe that
    /// ffmpeg reads onwards), if one is named.
    Virtual { file: Option<PathBuf> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorChoice {
    /// As `somnia list monitors` numbers them.
    Number(usize),
    /// As the system names it (`HDMI-1`).
    Name(String),
}

/// A part of the canvas shown on a part of the output's layout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slice {
    /// The canvas rectangle shown: x, y, width, height in canvas pixels.
    pub crop: [f64; 4],
    /// Where it goes on the layout: x, y, width, height in output pixels.
    pub place: [f64; 4],
    /// Clockwise turns of the picture on the output, in degrees (0, 90, 180 or 270).
    pub rotate_deg: u16,
    /// Mirrored left to right, then top to bottom, after the turn.
    pub flip_x: bool,
    pub flip_y: bool,
}

/// A grid of `columns` × `rows` points over the layout, in layout units (0..1 across each
/// side), row by row from the top: where each point of a regular grid is moved to. Between
/// points the warp is smooth (Catmull-Rom).
#[derive(Clone, Debug, PartialEq)]
pub struct Mesh {
    pub columns: usize,
    pub rows: usize,
    pub points: Vec<[f64; 2]>,
}

impl Mesh {
    /// The regular grid: no warp.
    pub fn identity(columns: usize, rows: usize) -> Self {
        let mut points = Vec::with_capacity(columns * rows);
        for j in 0..rows {
            for i in 0..columns {
                points.push([
                    i as f64 / (columns - 1) as f64,
                    j as f64 / (rows - 1) as f64,
                ]);
            }
        }
        Self {
            columns,
            rows,
            points,
        }
    }

    pub fn is_identity(&self) -> bool {
        *self == Self::identity(self.columns, self.rows)
    }
}

/// The edges a blend ramps, in the order [`Blend::edges`] holds them.
pub const EDGES: [&str; 4] = crate::bridge::EDGE_NAMES;

/// Soft-edge blending, so overlapping projectors read as one picture.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Blend {
    /// Left, right, top, bottom (see [`EDGES`]): the overlap at that edge, if any.
    pub edges: [Option<Edge>; 4],
    /// The projector's gamma per channel: the ramps are made in linear light through it.
    pub gamma: [f64; 3],
    /// Black-level lift outside the overlaps, in output value (0..0.5): raises the black
    /// there to the overlap's doubled black.
    pub black_lift: f64,
}

impl Default for Blend {
    fn default() -> Self {
        Self {
            edges: [None; 4],
            gamma: [2.2; 3],
            black_lift: 0.0,
        }
    }
}

/// One edge's overlap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    /// How wide the overlap is, in layout pixels.
    pub width_px: f64,
    /// The ramp's curve power (1: linear; 2, the default, is smoother).
    pub power: f64,
}

/// A polygon cut to an odd surface, in output pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    /// Subtract: hides what is inside. Add: once any add mask exists, only what is inside one
    /// shows.
    pub subtract: bool,
    pub points: Vec<[f64; 2]>,
    /// A soft edge this wide, in output pixels (at least one pixel's antialiasing).
    pub feather_px: f64,
}
