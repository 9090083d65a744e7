//! Live control: controllers that steer the show. The walking skeleton has the keyboard
//! (handled by the window) and device listing; OSC and MIDI input arrive with issue 6.

pub mod midi;
