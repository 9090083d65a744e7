//! The real-time side. [`Engine::process`] is the one function that makes sound: the cpal
//! callback ([`device`]) calls it live and a plain loop (`crate::offline`) calls it for renders,
//! so both paths run the same code. Inside `process` nothing allocates, locks, logs or
//! does I/O.

pub mod analysis;
pub mod device;
pub mod engine;
pub mod fx;
pub mod input;
mod input_stream;
pub mod ltc_channels;
pub mod ltc_streams;
pub mod recorder;
pub mod rt_priority;
pub mod supervisor;
pub mod synth;

pub use engine::Engine;
pub use synth::{SimdPath, SimdUnavailable};
