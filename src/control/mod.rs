//! Live control: the controllers that steer the show, each a thin adapter onto one vocabulary
//! ([`intent`]): the keyboard ([`keys`], whose presses the window receives), OSC ([`osc`]) and
//! MIDI ([`midi`]); and [`sync`], the show's clock to and from other machines (MIDI clock and
//! MTC out, timecode chased in). [`intent::Steering::carry_out`] is the one place an intent is carried out.

pub mod intent;
mod intent_words;
pub mod keys;
pub mod midi;
pub mod osc;
pub mod osc_namespace;
pub mod sync;
