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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveMacros {
    pub key: Option<String>,
    pub mode: Option<String>,
    pub tension: Option<f32>,
    pub density: Option<f32>,
    pub unity: Option<f32>,
}

/// A live change to the picture. Dreamers are numbered from 0 here (1 on the wire).
#[derive(Clone, Debug, PartialEq)]
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
