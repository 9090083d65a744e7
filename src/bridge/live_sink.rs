//! Where live control goes: the engine's live queue, the live show and the render thread. One
//! sink serves every controller (the keyboard, OSC, MIDI), so each full queue is handled one
//! way: the message is dropped and counted, never waited for. The crowd's figures are the one
//! value here that is not a queue: the newest wins.

use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use super::{
    CrowdGauge, CueBoard, Event, JournalNotes, LookCommand, ShowCommand, StampedLook,
    TimecodeReading, TimecodeSender, Transport,
};

#[derive(Clone)]
pub struct LiveSink {
    /// The engine's live queue (shared by the controllers, hence the lock: only non-real-time
    /// threads ever take it; the audio thread owns the consumer).
    pub live: Arc<Mutex<rtrb::Producer<Event>>>,
    /// The live show (GO, transport, presets).
    pub commands: SyncSender<ShowCommand>,
    /// Live changes to the picture (the render thread).
    pub looks: SyncSender<StampedLook>,
    pub transport: Arc<Transport>,
    /// Where the cue list stands (the standby cue), for controllers that report it.
    pub cues: Arc<CueBoard>,
    /// What the audience's crowd feels, for the picture (the audience page sets it).
    pub crowd: Arc<CrowdGauge>,
    /// Timecode heard (MTC, LTC), for the sync thread when it chases.
    pub timecode: TimecodeSender,
    /// The show's journal: each input and where it came from ([`JournalNotes::off`] when
    /// none is kept).
    pub journal: JournalNotes,
}

impl LiveSink {
    /// Queues `events` for the engine; returns how many were dropped because it was full.
    pub fn engine(&self, events: &[Event]) -> u64 {
        let Ok(mut q) = self.live.lock() else {
            return events.len() as u64;
        };
        events.iter().filter(|ev| q.push(**ev).is_err()).count() as u64
    }

    /// Sends a command to the live show; false if it was dropped.
    pub fn show(&self, command: ShowCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }

    /// Hands timecode heard to the chaser; false if it was dropped (none, or behind).
    pub fn timecode(&self, reading: TimecodeReading) -> bool {
        self.timecode.send(reading)
    }

    /// Sends a change to the picture, received by its controller at `received`; false if it
    /// was dropped.
    pub fn look(&self, look: LookCommand, received: std::time::Instant) -> bool {
        self.looks.try_send(StampedLook { look, received }).is_ok()
    }
}
