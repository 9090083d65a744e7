//! Every type that crosses between threads lives here, and nothing else crosses.
//!
//! Two channel kinds only:
//! - discrete events (notes, parameter targets, patch swaps) travel a bounded, wait-free
//!   FIFO ([`events`]) with a sample timestamp; when it is full the sender keeps the event
//!   and retries, or drops and counts it, but never blocks the audio thread;
//! - continuous state is latest-value-wins: the clock position and transport requests in
//!   atomics ([`transport`]), an external MIDI clock's beat in a sequence lock
//!   ([`external_clock`]), the analysis snapshot in a triple buffer ([`analysis`]), and the
//!   cue list's standby in a cell that only non-real-time threads lock ([`cue_board`]).

pub mod analysis;
pub mod cue_board;
pub mod events;
pub mod external_clock;
pub mod patch;
pub mod priority;
pub mod shutdown;
pub mod transport;

pub use analysis::{
    Analysis, AnalysisReader, AnalysisTrack, AnalysisWriter, BANDS, analysis_channel,
};
pub use cue_board::{CueBoard, CueName, CueStatus};
pub use events::{AudioParam, Curve, Event, EventKind, EventQueue, MIN_RAMP_S, event_queue};
pub use external_clock::ExternalClock;
pub use patch::{MasterSettings, Patch};
pub use priority::Priority;
pub use transport::Transport;
