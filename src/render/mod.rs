//! The render thread's side: the wgpu device ([`gpu`]), layer pipelines built from presets
//! ([`renderer`]), offscreen capture shared by `somnia render` and tests ([`offscreen`]),
//! and the live window ([`window`]). The render thread reads the clock and the analysis
//! snapshot; it never waits on the audio thread.

pub mod blanking;
pub mod capture;
pub mod display_lost;
pub mod flash_guard;
pub mod gpu;
pub mod isf;
pub mod isf_layer;
pub mod isf_size;
pub mod join_code;
pub mod mapping;
pub mod mosaic;
pub mod offscreen;
pub mod output_windows;
pub mod passes;
pub mod picture_meter;
pub mod post;
pub mod renderer;
pub mod service;
pub mod shader;
pub mod shadertoy;
pub mod text;
pub mod thumbnails;
pub mod window;

pub use gpu::{Gpu, RenderError};
pub use renderer::{FrameInputs, Renderer};
