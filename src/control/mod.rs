//! Live control: controllers that steer the show. The keyboard is handled by the window; OSC
//! ([`osc`]) here; MIDI input arrives next (port listing only so far).

pub mod midi;
pub mod midi_map;
pub mod osc;
