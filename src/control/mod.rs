//! Live control: controllers that steer the show. The keyboard is handled by the window; OSC
//! ([`osc`]) and MIDI ([`midi`], the device; [`midi_route`], what messages mean; [`midi_map`],
//! the mapping files) here.

pub mod intent;
pub mod keys;
pub mod midi;
pub mod midi_map;
pub mod midi_route;
pub mod osc;
