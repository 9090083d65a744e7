//! MIDI input through JACK (the `jack` build), on the `jack` crate rather than midir's JACK
//! backend.
//!
//! Why our own: midir's JACK callback copies each event's bytes into a `Vec` it grows on JACK's
//! real-time process thread (an allocation and a free every period that carries MIDI, in the
//! graph that also carries the show's sound in the `jack` build), and its connection, when
//! dropped, unregisters its port before it deactivates its client, while that thread may be
//! reading the port. Here the callback hands over each event as it lies in JACK's buffer, and
//! the `jack` crate deactivates the client before anything its callback reads is freed.
//!
//! One JACK client per connected source, as midir had it: each source can come and go alone.

use std::sync::Arc;
use std::thread::Thread;

use super::input::{MidiError, MidiStats, on_midi_bytes};
use super::wire::MidiMsg;

type Process = Box<dyn FnMut(&jack::Client, &jack::ProcessScope) -> jack::Control + Send>;

/// Lists JACK's MIDI sources (the output ports of other clients).
pub struct JackLister {
    client: jack::Client,
}

impl JackLister {
    /// A client of the running JACK server; an error when there is none (never starts one).
    pub fn new(name: &str) -> Result<Self, MidiError> {
        let (client, _) = jack::Client::new(name, jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| MidiError::NoMidiSystem(format!("JACK: {e}")))?;
        Ok(Self { client })
    }

    /// Every MIDI output port, by its full name (`client:port`), which is also its id.
    pub fn sources(&self) -> Vec<String> {
        self.client
            .ports(None, Some("midi"), jack::PortFlags::IS_OUTPUT)
    }
}

/// One source connected to a port of ours; listening stops when this is dropped (the client
/// deactivated before anything it reads is freed).
pub struct JackInput {
    _active: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Process>>,
}

impl JackInput {
    /// Connects `source` (a full port name) to a new client's input port `in`; each message
    /// goes into `ring` by [`on_midi_bytes`] on JACK's process thread.
    pub fn connect(
        name: &str,
        source: &str,
        mut ring: rtrb::Producer<(MidiMsg, std::time::Instant)>,
        wake: Thread,
        stats: Arc<MidiStats>,
    ) -> Result<Self, MidiError> {
        let (client, _) = jack::Client::new(name, jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| MidiError::Port(format!("JACK: {e}")))?;
        let port = client
            .register_port("in", jack::MidiIn::default())
            .map_err(|e| MidiError::Port(e.to_string()))?;
        let ours = port.name().map_err(|e| MidiError::Port(e.to_string()))?;
        let process: Process = Box::new(move |_, ps| {
            for event in port.iter(ps) {
                on_midi_bytes(event.bytes, &mut ring, &wake, &stats.dropped);
            }
            jack::Control::Continue
        });
        let active = client
            .activate_async((), jack::contrib::ClosureProcessHandler::new(process))
            .map_err(|e| MidiError::Port(e.to_string()))?;
        active
            .as_client()
            .connect_ports_by_name(source, &ours)
            .map_err(|e| MidiError::Port(format!("{source} to {ours}: {e}")))?;
        Ok(Self { _active: active })
    }
}
