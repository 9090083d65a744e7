//! The show side (control thread): presets, performances (cue files), their compilation to a
//! timeline on the sample clock, the scheduler that feeds that timeline to the audio thread.
//! Everything here may allocate and block; nothing here runs in the
//! audio callback.

pub mod access;
pub mod chord;
pub mod compile;
pub mod cues;
pub mod diag;
pub mod isf_inputs;
pub mod journal;
pub mod kiosk;
pub mod live;
pub mod live_look;
pub mod look;
pub mod loops;
pub mod outputs;
pub mod patch;
pub mod performance;
pub mod preset;
pub mod project;
pub mod scheduler;
pub mod schema;
pub mod symphony;
pub mod time;
pub mod timeline;
pub mod watch;

pub use diag::Diagnostic;
pub use timeline::{Timeline, VisualState};
