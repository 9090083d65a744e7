//! Somnia: a real-time audio-visual performance engine.
//!
//! Three kinds of thread share one clock (see `docs/ARCHITECTURE.md`):
//! the control side ([`show`], [`control`]) parses files and schedules events,
//! the audio thread ([`audio`]) runs [`audio::Engine::process`] and owns the master sample clock,
//! and the render thread ([`render`]) draws the dreamscape for whatever time the clock reports.
//! Everything that crosses between them lives in [`bridge`].

pub mod audio;
pub mod bridge;
pub mod clock;
pub mod commands;
pub mod control;
pub mod offline;
pub mod render;
pub mod show;
pub mod web;

/// The sample rate of offline renders, and the one live playback asks the device for.
pub const SAMPLE_RATE_HZ: u32 = 48_000;
