//! What controllers ask of the other threads: the live show on the control thread
//! ([`ShowCommand`]) and the picture on the render thread ([`LookCommand`]). They travel
//! bounded channels ([`show_commands`], [`look_commands`]); a sender that finds one full drops
//! the command and counts it, so a flood from the network never queues without end and never
//! blocks a controller.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Most show commands waiting for the control thread (it takes them every few milliseconds).
pub const SHOW_COMMANDS: usize = 256;
/// Most picture changes waiting for the render thread (it takes them once a frame).
pub const LOOK_COMMANDS: usize = 1024;

/// What a performer (or a controller) asks of the show.
#[derive(Clone, Debug, PartialEq)]
pub enum ShowCommand {
    /// Fire the standby cue (after a stop: start the show from the top).
    Go,
    Pause,
    Resume,
    TogglePause,
    /// Pause and go back to the start, every GO forgotten.
    Stop,
    /// Jump to a show time, seconds.
    Seek(f64),
    /// Jump to cue `n` (0-based, in file order) and fire it there; a cue waiting for GO has
    /// its act GOne where it would have come.
    SeekCue(usize),
    NextCue,
    PrevCue,
    /// A file of the show was saved: load it again.
    Reload,
    /// Change to a preset (by name: it must be one of the project's), fading over `fade_s`.
    Preset {
        name: String,
        fade_s: f64,
    },
    /// Change the composer's macros (from the next bar).
    Symphony(LiveMacros),
}

/// A live change to the composer's macros; `None` leaves one as it is.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveMacros {
    pub key: Option<String>,
    pub mode: Option<String>,
    pub tension: Option<f32>,
    pub density: Option<f32>,
    pub unity: Option<f32>,
}

/// A live change to the picture. Dreamers are numbered from 0 here (1 on the wire).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LookCommand {
    /// A parameter of the preset showing (by name; ignored by presets without it).
    LayerParam {
        name: String,
        value: f32,
    },
    DreamerParam {
        dreamer: usize,
        name: String,
        value: f32,
    },
    DreamerOpacity {
        dreamer: usize,
        value: f32,
    },
    DreamerLeave {
        dreamer: usize,
    },
    DreamerReturn {
        dreamer: usize,
    },
    Unity(f32),
    Glitch(f32),
    Caption {
        text: String,
        hold_s: f32,
    },
    /// Calibration: a change to an output's mapping.
    Output(OutputAdjust),
}

/// A live change to an output's mapping (its calibration), for the output named (every
/// output when `None`). Only values travel: never a path or a file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutputAdjust {
    pub output: Option<String>,
    pub change: OutputChange,
}

/// The names of an output's corners, as OSC and the console give them (their index is
/// [`OutputChange::Corner`]'s `corner`).
pub const CORNER_NAMES: [&str; 4] = ["tl", "tr", "br", "bl"];
/// The names of an output's edges (their index is [`OutputChange::Blend`]'s `edge`).
pub const EDGE_NAMES: [&str; 4] = ["left", "right", "top", "bottom"];

/// Which edge of an output (`left`, `right`, `top`, `bottom`: 0 to 3) or corner (top-left,
/// top-right, bottom-right, bottom-left: 0 to 3).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum OutputChange {
    /// Show the calibration test card, or the show again.
    TestCard(bool),
    /// Move a corner of the perspective warp to this output pixel.
    Corner {
        corner: u8,
        x_px: f64,
        y_px: f64,
    },
    /// Move a corner by this many output pixels (a nudge: right however stale the sender's
    /// idea of where the corner is).
    CornerBy {
        corner: u8,
        dx_px: f64,
        dy_px: f64,
    },
    /// Move a mesh point (column and row from 0) to this place, in layout units.
    MeshPoint {
        column: u16,
        row: u16,
        x: f64,
        y: f64,
    },
    /// An edge's blend: its width in layout pixels (0: none) and curve power.
    Blend {
        edge: u8,
        width_px: f64,
        power: Option<f64>,
    },
    /// The projector's gamma, per channel.
    Gamma([f64; 3]),
    BlackLift(f64),
    /// A slice's crop, in canvas pixels (slices from 0).
    SliceCrop {
        slice: u16,
        rect: [f64; 4],
    },
    /// A slice's clockwise turn, in degrees (0, 90, 180, 270).
    SliceRotate {
        slice: u16,
        deg: u16,
    },
    /// Write the mapping back to its file (with a backup of the file as it was).
    Save,
}

/// The bounded channel to the live show.
pub fn show_commands() -> (SyncSender<ShowCommand>, Receiver<ShowCommand>) {
    sync_channel(SHOW_COMMANDS)
}

/// The bounded channel to the picture.
/// A change to the picture and when its controller received it: the render thread measures
/// from this to the frame that shows it (the controller-to-picture latency `/health` reports).
#[derive(Clone, Debug, PartialEq)]
pub struct StampedLook {
    pub look: LookCommand,
    pub received: std::time::Instant,
}

pub fn look_commands() -> (SyncSender<StampedLook>, Receiver<StampedLook>) {
    sync_channel(LOOK_COMMANDS)
}
