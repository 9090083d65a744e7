//! Where live control goes: the engine's live queue, the live show and the render thread. One
//! sink serves every controller (OSC, MIDI), so each full queue is handled one way: the message
//! is dropped and counted, never waited for.

use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use crate::bridge::{AudioParam, CueBoard, Curve, Event, EventKind, Transport};
use crate::show::live::ShowCommand;
use crate::show::live_look::LookCommand;

#[derive(Clone)]
pub struct LiveSink {
    /// The engine's live queue (shared by the controllers, hence the lock: only non-real-time
    /// threads ever take it).
    pub live: Arc<Mutex<rtrb::Producer<Event>>>,
    /// The live show (GO, transport, presets).
    pub commands: SyncSender<ShowCommand>,
    /// Live changes to the picture (the render thread).
    pub looks: SyncSender<LookCommand>,
    pub transport: Arc<Transport>,
    /// Where the cue list stands (the standby cue), for controllers that report it.
    pub cues: Arc<CueBoard>,
}

impl LiveSink {
    /// Queues `events` for the engine; returns how many were dropped because it was full.
    pub fn engine(&self, events: &[Event]) -> u64 {
        let Ok(mut q) = self.live.lock() else {
            return 0;
        };
        events.iter().filter(|ev| q.push(**ev).is_err()).count() as u64
    }

    /// Sends a command to the live show; false if it was dropped.
    pub fn show(&self, command: ShowCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }

    /// Sends a change to the picture; false if it was dropped.
    pub fn look(&self, look: LookCommand) -> bool {
        self.looks.try_send(look).is_ok()
    }

    /// The glitch at `g`, on picture and sound, at once; returns how many parts were dropped.
    pub fn glitch(&self, g: f32) -> u64 {
        let look_dropped = u64::from(!self.look(LookCommand::Glitch(g)));
        let events = glitch_sound(g).map(|kind| Event { at_sample: 0, kind });
        look_dropped + self.engine(&events)
    }
}

/// The glitch's sound, as a `glitch` cue makes it: bitcrush, and beat repeat from half way.
pub fn glitch_sound(g: f32) -> [EventKind; 2] {
    let stutter = if g >= 0.5 { g } else { 0.0 };
    [(AudioParam::Crush, 0.6 * g), (AudioParam::Stutter, stutter)].map(|(param, value)| {
        EventKind::SetParam {
            param,
            value,
            ramp_samples: 0,
            curve: Curve::Linear,
        }
    })
}
