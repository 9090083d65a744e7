//! MIDI as a controller, one file per reason to change:
//! - [`wire`]: the bytes a device sends, parsed into messages (in the device callback);
//! - [`input`]: the device side (ports, hot-plug, the `somnia-midi` thread);
//! - `jack_in`: in the `jack` build, JACK's MIDI sources through a client of our own;
//! - [`route`]: what a message means to the show, as [`Intent`](super::intent::Intent)s;
//! - [`binding`]: the checked bindings of a map (controllers, triggers, seeks, programs);
//! - [`map_file`]: the map file, read and checked at file:line:col;
//! - [`learn`]: MIDI learn's targets and how a learned binding is written into the file;
//! - [`clock`]: following an external MIDI clock's beat and tempo.

pub mod binding;
pub mod clock;
pub mod input;
#[cfg(feature = "jack")]
pub mod jack_in;
pub mod learn;
pub mod map_file;
pub mod route;
pub mod wire;
