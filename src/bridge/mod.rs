//! The floor of the house: every crossing between threads lives here, and nothing crosses any
//! other way. It imports nothing from the folders above it (`audio/`, `show/`, `control/`,
//! `render/`; `tests/house_plan.rs` checks), so every thread can stand on it.
//!
//! # Tier 1: to and from the audio thread, wait-free
//! The audio thread never waits, allocates or locks, so everything it touches is a
//! fixed-size `Copy` value in a lock-free structure:
//! - discrete events (notes, parameter targets, patch swaps: [`patch`] is their payload)
//!   travel a bounded SPSC FIFO ([`events`]) stamped with their sample; a full queue makes
//!   the sender keep the event and retry (the scheduler) or drop and count it (controllers);
//! - continuous state is latest-value-wins: the clock position, transport requests and
//!   counters in atomics ([`transport`], with the real-time [`priority`] packed into one), an
//!   external MIDI clock's beat in a sequence lock ([`external_clock`]), the analysis snapshot
//!   in a triple buffer ([`analysis`]).
//!
//! Nothing on the heap crosses to the audio thread (patches are `Copy`), so no object is ever
//! retired there and no return queue is needed.
//!
//! # Tier 2: between the other threads, bounded, drop and count
//! The control, OSC, MIDI and render threads may block for a moment but must never queue
//! without end:
//! - commands to the live show and changes to the picture ([`commands`]) travel bounded
//!   channels; every controller reaches them, and the engine's live queue, through one
//!   [`LiveSink`] that drops and counts when one is full;
//! - a request to a thread that parks (MIDI learn's arming) travels a [`wake`] channel;
//! - the newest show for the render thread ([`show_update`]) and the standby cue
//!   ([`cue_board`]) are latest-value-wins cells under a mutex only these threads take, and
//!   the render thread's frame figures for the reporters ([`health`]) are kept the same way;
//! - the audience's crowd, from the web thread to the picture ([`crowd`]), in atomics;
//! - the presets' thumbnails for the console ([`thumbnails`]): a latest-value request the
//!   render thread makes, a helper thread draws, the web thread serves;
//! - sound from an input callback to a thread that reads it at leisure ([`sample_tap`]: LTC
//!   in), wait-free on the callback's side;
//! - timecode heard from outside, to the sync thread that chases it, and every sync source's
//!   report back ([`timecode`]);
//! - a stop signal for the whole process ([`shutdown`]).
//!
//! Two rings carry what the audio thread made or did to the threads that keep it: its output
//! to a WAV ([`record_tap`], `--record`) and what it applied, on which frame, to the show's
//! journal ([`journal_tap`]), beside which every other thread's notes for it travel
//! ([`journal_notes`]: inputs and from whom, files, happenings; bounded, drop and count); wait-free on the audio side, whole or dropped and counted.

pub mod analysis;
pub mod commands;
pub mod crowd;
pub mod cue_board;
pub mod events;
pub mod external_clock;
pub mod health;
pub mod journal_notes;
pub mod journal_tap;
pub mod launch;
pub mod live_sink;
pub mod patch;
pub mod priority;
pub mod record_tap;
pub mod sample_tap;
pub mod show_update;
pub mod shutdown;
pub mod thumbnails;
pub mod timecode;
pub mod transport;
pub mod wake;

pub use analysis::{
    Analysis, AnalysisReader, AnalysisTrack, AnalysisWriter, AudioShape, BANDS, SHAPE_LEN,
    analysis_channel,
};
pub use commands::{
    CORNER_NAMES, EDGE_NAMES, LiveMacros, LookCommand, OutputAdjust, OutputChange, ShowCommand,
    StampedLook, look_commands, show_commands,
};
pub use crowd::{Crowd, CrowdGauge};
pub use cue_board::{CueBoard, CueName, CueRow, CueRowState, CueStatus, ParamFacts, PresetFacts};
pub use events::{
    AudioParam, Curve, Event, EventKind, EventQueue, MIN_RAMP_S, event_queue, glitch_sound,
};
pub use external_clock::ExternalClock;
pub use health::{FrameReport, Health, LatencyReport, Levels, OutputReport};
pub use journal_notes::{JournalNotes, JournalNotesCell, Note, journal_notes};
pub use journal_tap::{Applied, JournalDrain, JournalTap, journal_channel};
pub use live_sink::LiveSink;
pub use patch::{MasterSettings, Patch};
pub use priority::Priority;
pub use record_tap::{RecordDrain, RecordTap, record_channel};
pub use sample_tap::{SampleTap, TapClock, TapWriter, sample_tap};
pub use show_update::{ShowMailbox, ShowUpdate};
pub use thumbnails::{ThumbnailSet, Thumbnails};
pub use timecode::{
    SyncBoard, SyncReport, SyncState, TimecodeReading, TimecodeSender, TimecodeSource,
    timecode_channel,
};
pub use transport::Transport;
pub use wake::{WakeSender, wake_channel};
