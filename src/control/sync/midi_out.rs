//! The MIDI output the sync messages leave by: our own small type over the device crates.
//!
//! - Through midir (ALSA's sequencer, the default build): a message is sent the moment the
//!   sync thread hands it over, so the thread sleeps until each message's time first.
//! - Through JACK (the `jack` build): a client of our own (`somnia-sync`) whose process
//!   callback writes each message at its frame within the period, so a clock tick lands on its
//!   sample whatever the period length (midir's JACK output puts everything at a period's
//!   start: 5 ms of jitter at 256 frames). Messages are handed over ahead of time through a
//!   bounded wait-free ring; the callback allocates nothing and never waits.

use std::time::{Duration, Instant};

use super::schedule::Timed;

/// Why the output could not open. The show plays on without it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MidiOutError {
    /// No MIDI system (no ALSA sequencer, no JACK server).
    #[error("no MIDI output system: {0}")]
    NoSystem(String),
    /// No output port's name contains the one asked for; `somnia list midi` prints them.
    #[error("no MIDI output port matches `{wanted}` (there are: {present})")]
    NoPort { wanted: String, present: String },
    #[error("cannot open the MIDI output `{0}`")]
    Open(String),
}

/// The outputs `--midi-out` can name: ALSA's (midir), or under the `jack` build JACK's MIDI
/// inputs of other clients.
pub fn output_port_names() -> Result<Vec<String>, MidiOutError> {
    #[cfg(feature = "jack")]
    {
        let (client, _) = jack::Client::new(CLIENT_NAME, jack::ClientOptions::NO_START_SERVER)
            .map_err(|e| MidiOutError::NoSystem(format!("JACK: {e}")))?;
        Ok(client.ports(None, Some("midi"), jack::PortFlags::IS_INPUT))
    }
    #[cfg(not(feature = "jack"))]
    {
        let out = midir::MidiOutput::new(CLIENT_NAME)
            .map_err(|e| MidiOutError::NoSystem(e.to_string()))?;
        Ok(out
            .ports()
            .iter()
            .filter_map(|p| out.port_name(p).ok())
            .collect())
    }
}

/// An open output.
pub struct MidiOut {
    inner: Inner,
    /// Messages dropped (a full ring, a failed send).
    pub dropped: u64,
}

enum Inner {
    Midir(midir::MidiOutputConnection),
    #[cfg(feature = "jack")]
    Jack(jack_out::JackOut),
}

/// The client name the show's MIDI output appears under (MIDI input leaves it alone).
pub const CLIENT_NAME: &str = "somnia-sync";

impl MidiOut {
    /// Opens the first output port whose name contains `wanted` (any case).
    pub fn open(wanted: &str) -> Result<Self, MidiOutError> {
        #[cfg(feature = "jack")]
        {
            jack_out::JackOut::open(wanted).map(|j| Self {
                inner: Inner::Jack(j),
                dropped: 0,
            })
        }
        #[cfg(not(feature = "jack"))]
        {
            Self::open_midir(wanted)
        }
    }

    #[cfg_attr(feature = "jack", allow(dead_code))]
    fn open_midir(wanted: &str) -> Result<Self, MidiOutError> {
        let out = midir::MidiOutput::new(CLIENT_NAME)
            .map_err(|e| MidiOutError::NoSystem(e.to_string()))?;
        let ports = out.ports();
        let names: Vec<String> = ports
            .iter()
            .map(|p| out.port_name(p).unwrap_or_default())
            .collect();
        let low = wanted.to_lowercase();
        let Some(i) = names.iter().position(|n| n.to_lowercase().contains(&low)) else {
            return Err(MidiOutError::NoPort {
                wanted: wanted.into(),
                present: names.join(", "),
            });
        };
        let conn = out
            .connect(&ports[i], "sync")
            .map_err(|e| MidiOutError::Open(format!("{}: {e}", names[i])))?;
        Ok(Self {
            inner: Inner::Midir(conn),
            dropped: 0,
        })
    }

    /// How far ahead of its time a message is handed over.
    pub fn lead(&self) -> Duration {
        match &self.inner {
            Inner::Midir(_) => Duration::ZERO,
            #[cfg(feature = "jack")]
            Inner::Jack(j) => j.lead,
        }
    }

    /// The show located: messages handed over ahead of time and not yet sent are dropped.
    pub fn forget(&self) {
        match &self.inner {
            Inner::Midir(_) => {}
            #[cfg(feature = "jack")]
            Inner::Jack(j) => j.forget(),
        }
    }

    /// Sends `m` at its time: at once (midir: the caller waits for the time first) or placed
    /// on its frame (JACK).
    pub fn send(&mut self, m: &Timed) {
        let sent = match &mut self.inner {
            Inner::Midir(c) => {
                let wait = m.at.saturating_duration_since(Instant::now());
                if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
                c.send(m.bytes()).is_ok()
            }
            #[cfg(feature = "jack")]
            Inner::Jack(j) => j.send(m),
        };
        if !sent {
            self.dropped += 1;
        }
    }
}

#[cfg(feature = "jack")]
mod jack_out {
    use super::{CLIENT_NAME, MidiOutError, Timed};
    use std::time::{Duration, Instant};

    /// Handed over this far ahead of its time, beyond two periods: room for the sync thread
    /// to wake late on a busy machine (messages handed over late land at a period's start).
    /// What a locate makes stale is forgotten by generation, not sent.
    const LEAD_MARGIN: Duration = Duration::from_millis(40);
    /// Messages waiting for the callback at most.
    const RING: usize = 1024;

    /// A message for the callback: when, on JACK's clock (µs), and its bytes.
    #[derive(Clone, Copy)]
    struct Due {
        /// The generation it was planned in: a locate starts a new one.
        generation: u32,
        at_us: u64,
        len: u8,
        bytes: [u8; 10],
    }

    /// JACK's frames on its microsecond clock, as a straight line at the nominal rate that
    /// follows JACK's own estimate (`jack_frames_to_time`) only slowly: that estimate jumps
    /// by milliseconds when a period starts late on a busy machine, which would move every
    /// message with it, while a real device's clock drifts by parts per million.
    #[derive(Default)]
    struct FrameClock {
        /// A frame and its time (µs) on the line.
        anchor: Option<(u32, f64)>,
        /// Periods since the line started: it averages JACK's estimate over them (the first
        /// estimates are the least settled) until that is slower than `FOLLOW`.
        periods: u32,
    }

    impl FrameClock {
        /// How much of JACK's estimate's difference from the line is taken each period, once
        /// settled.
        const FOLLOW: f64 = 0.002;
        /// A difference this large (µs) is a restart or an xrun: start the line again.
        const JUMP_US: f64 = 20_000.0;

        fn cycle_start_us(&mut self, first: u32, jack_estimate_us: u64, sample_rate: f64) -> f64 {
            let estimate = jack_estimate_us as f64;
            let Some((frame0, us0)) = self.anchor else {
                self.anchor = Some((first, estimate));
                self.periods = 1;
                return estimate;
            };
            let since = first.wrapping_sub(frame0);
            let on_line = us0 + f64::from(since) * 1e6 / sample_rate;
            let error = estimate - on_line;
            if error.abs() > Self::JUMP_US || since > u32::MAX / 2 {
                self.anchor = Some((first, estimate));
                self.periods = 1;
                return estimate;
            }
            self.periods = self.periods.saturating_add(1);
            let follow = (1.0 / f64::from(self.periods)).max(Self::FOLLOW);
            let corrected = on_line + follow * error;
            // Re-anchored here, so the line is kept from this period on.
            self.anchor = Some((first, corrected));
            corrected
        }
    }

    type Process = Box<dyn FnMut(&jack::Client, &jack::ProcessScope) -> jack::Control + Send>;

    pub struct JackOut {
        tx: rtrb::Producer<Due>,
        /// Two periods and a margin.
        pub lead: Duration,
        generation: std::sync::Arc<std::sync::atomic::AtomicU32>,
        /// JACK's clock (µs) less ours at opening: both count the same monotonic clock.
        jack_us_at_open: u64,
        opened: Instant,
        _active: jack::AsyncClient<(), jack::contrib::ClosureProcessHandler<(), Process>>,
    }

    impl JackOut {
        pub fn open(wanted: &str) -> Result<Self, MidiOutError> {
            let (client, _) = jack::Client::new(CLIENT_NAME, jack::ClientOptions::NO_START_SERVER)
                .map_err(|e| MidiOutError::NoSystem(format!("JACK: {e}")))?;
            let low = wanted.to_lowercase();
            let present = client.ports(None, Some("midi"), jack::PortFlags::IS_INPUT);
            let Some(dest) = present
                .iter()
                .find(|n| n.to_lowercase().contains(&low))
                .cloned()
            else {
                return Err(MidiOutError::NoPort {
                    wanted: wanted.into(),
                    present: present.join(", "),
                });
            };
            let mut port = client
                .register_port("out", jack::MidiOut::default())
                .map_err(|e| MidiOutError::Open(e.to_string()))?;
            let ours = port.name().map_err(|e| MidiOutError::Open(e.to_string()))?;
            let (tx, mut rx) = rtrb::RingBuffer::<Due>::new(RING);
            let generation = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
            let current = generation.clone();
            let sample_rate = f64::from(client.sample_rate());
            let mut map = FrameClock::default();
            let process: Process = Box::new(move |client, ps| {
                let mut w = port.writer(ps);
                let n = ps.n_frames();
                let first = ps.last_frame_time();
                let start = map.cycle_start_us(first, client.frames_to_time(first), sample_rate);
                let span = f64::from(n) * 1e6 / sample_rate;
                let next = start + span;
                // JACK takes a period's events in time order only.
                let mut last_offset = 0;
                let now_generation = current.load(std::sync::atomic::Ordering::Acquire);
                while let Ok(due) = rx.peek() {
                    // JACK plays what a cycle writes one period later: aim a period early.
                    let at = due.at_us as f64 - span;
                    if at >= next {
                        break;
                    }
                    let Ok(due) = rx.pop() else { break };
                    if due.generation != now_generation {
                        continue;
                    }
                    let offset = (((at - start) / span * f64::from(n)).max(0.0) as u32)
                        .min(n.saturating_sub(1))
                        .max(last_offset);
                    last_offset = offset;
                    let _ = w.write(&jack::RawMidi {
                        time: offset,
                        bytes: &due.bytes[..usize::from(due.len)],
                    });
                }
                jack::Control::Continue
            });
            let period_s = f64::from(client.buffer_size()) / f64::from(client.sample_rate());
            let lead = Duration::from_secs_f64(2.0 * period_s) + LEAD_MARGIN;
            let opened = Instant::now();
            let jack_us_at_open = client.time();
            let active = client
                .activate_async((), jack::contrib::ClosureProcessHandler::new(process))
                .map_err(|e| MidiOutError::Open(e.to_string()))?;
            active
                .as_client()
                .connect_ports_by_name(&ours, &dest)
                .map_err(|e| MidiOutError::Open(format!("{ours} to {dest}: {e}")))?;
            tracing::info!("somnia: sync out on JACK's {dest}");
            Ok(Self {
                tx,
                lead,
                generation,
                jack_us_at_open,
                opened,
                _active: active,
            })
        }

        /// Whatever was handed over and not yet sent is stale: the callback drops it.
        pub fn forget(&self) {
            self.generation
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }

        /// Hands `m` to the callback; false if the ring is full.
        pub fn send(&mut self, m: &Timed) -> bool {
            let since = m.at.saturating_duration_since(self.opened).as_micros() as u64;
            let before = self.opened.saturating_duration_since(m.at).as_micros() as u64;
            let due = Due {
                generation: self.generation.load(std::sync::atomic::Ordering::Relaxed),
                at_us: (self.jack_us_at_open + since).saturating_sub(before),
                len: m.len,
                bytes: m.bytes,
            };
            self.tx.push(due).is_ok()
        }
    }
}
