//! The OSC server (rosc over UDP). Safe on an open network by default:
//! - it binds 127.0.0.1 unless another address is given explicitly;
//! - senders outside the allow-list are refused (and counted);
//! - each sender has a rate limit (a token bucket; the table of senders is bounded);
//! - malformed packets are dropped and counted; decoding never panics the show (and a panic
//!   inside it would be caught and counted as malformed);
//! - everything goes into bounded queues: when one is full the message is dropped and counted,
//!   never waited for, so the audio thread is never held up;
//! - nothing from the network is a file path: preset names go through the project's name check.
//!
//! Bundles with a future time tag take effect at their exact sample (scsynth's model); late ones
//! at once, counted. The immediate tag (0, 1) means "now" (rosc's own conversion to `SystemTime`
//! panics on it, so the conversion here is our own).
//!
//! The address space is in the README ("OSC").

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};

use super::intent::{Intent, MAX_INTENT_S, Steering};
use crate::bridge::{
    AudioParam, CORNER_NAMES, EDGE_NAMES, EventKind, Health, LiveMacros, LookCommand, OutputAdjust,
    OutputChange, ShowCommand,
};
use crate::control::midi::input::MidiStats;
use crate::control::midi::learn::LearnTarget;
use crate::show::live_look::MAX_CAPTION_CHARS;
use crate::show::look::MAX_DREAMERS;

/// The port OSC listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 9000;
/// Messages a second one sender may send before the rest are dropped (a burst of as many is
/// allowed).
pub const DEFAULT_RATE_PER_S: u32 = 2_000;
/// Most senders tracked for rate limiting; the longest idle is forgotten first.
const MAX_SENDERS: usize = 1024;

#[derive(Clone, Debug)]
pub struct OscSettings {
    pub bind: SocketAddr,
    /// Sender networks accepted; empty accepts only loopback.
    pub allow: Vec<IpNet>,
    pub rate_per_s: u32,
}

impl Default for OscSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            allow: Vec::new(),
            rate_per_s: DEFAULT_RATE_PER_S,
        }
    }
}

/// What the server has seen, for `/somnia/status` and the log.
#[derive(Debug, Default)]
pub struct OscStats {
    pub packets: AtomicU64,
    pub messages: AtomicU64,
    pub malformed: AtomicU64,
    pub refused: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Dropped because a queue was full.
    pub dropped: AtomicU64,
    /// Time-tagged for a moment already past: applied at once.
    pub late: AtomicU64,
    pub unknown_address: AtomicU64,
}

impl OscStats {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Where OSC messages go.
pub struct OscSink {
    pub steering: Steering,
    /// The show's title, for `/somnia/status`.
    pub title: String,
    /// MIDI input's counters, when it runs (reported in `/somnia/status`).
    pub midi_stats: Option<Arc<MidiStats>>,
    /// The picture's and the devices' figures, as `/health` has them.
    pub health: Arc<Health>,
}

/// One thing a message asks for: an intent, or (OSC's own) a status reply to the sender.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Steer(Intent),
    Status,
}

/// Why a message did nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    UnknownAddress(String),
    BadArguments(String),
}

/// What a packet asks for, message by message (bundles flattened, each message with its
/// bundle's time). Pure: no I/O, so it can be fuzzed.
pub fn actions(packet: &OscPacket) -> Vec<Result<Action, Refusal>> {
    let mut out = Vec::new();
    collect(packet, None, 0, &mut out);
    out
}

/// Most bundle nesting followed (rosc already bounds decoding; this bounds our walk).
const MAX_DEPTH: usize = 8;

fn collect(
    packet: &OscPacket,
    at: Option<SystemTime>,
    depth: usize,
    out: &mut Vec<Result<Action, Refusal>>,
) {
    match packet {
        OscPacket::Message(m) => out.push(message_action(m, at)),
        OscPacket::Bundle(OscBundle { timetag, content }) => {
            if depth >= MAX_DEPTH {
                return;
            }
            let at = osc_time(*timetag).or(at);
            for p in content {
                collect(p, at, depth + 1, out);
            }
        }
    }
}

/// An OSC time tag as a moment; `None` for the immediate tag (0, 1) and anything before 1970.
pub fn osc_time(t: OscTime) -> Option<SystemTime> {
    const NTP_TO_UNIX_S: u64 = 2_208_988_800;
    if t.seconds == 0 && t.fractional <= 1 {
        return None;
    }
    let secs = u64::from(t.seconds).checked_sub(NTP_TO_UNIX_S)?;
    let nanos = (u64::from(t.fractional) * 1_000_000_000) >> 32;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs) + Duration::from_nanos(nanos))
}

fn number(a: &OscType) -> Option<f64> {
    match a {
        OscType::Int(i) => Some(f64::from(*i)),
        OscType::Float(f) => Some(f64::from(*f)),
        OscType::Double(d) => Some(*d),
        OscType::Long(l) => Some(*l as f64),
        OscType::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
    // NaN and infinity are refused (and counted), and so is a double too big for the f32 most
    // values become.
    .filter(|x| x.is_finite() && x.abs() <= f64::from(f32::MAX))
}

fn message_action(m: &OscMessage, at: Option<SystemTime>) -> Result<Action, Refusal> {
    if m.addr.trim_start_matches('/') == "somnia/status" {
        return Ok(Action::Status);
    }
    message_intent(m, at).map(Action::Steer)
}

/// Calibration of an output map (`/somnia/output/NAME/...`, or every output with
/// `/somnia/outputs/...`): values only, never a file.
fn output_intent(output: Option<&str>, rest: &[&str], m: &OscMessage) -> Result<Intent, Refusal> {
    let args = &m.args;
    let arg = |i: usize| args.get(i).and_then(number);
    let bad = |what: &str| Refusal::BadArguments(format!("{}: {what}", m.addr));
    let index = |s: &str, n: u16| {
        s.parse::<u16>()
            .ok()
            .filter(|k| (1..=n).contains(k))
            .map(|k| k - 1)
    };
    let change = match rest {
        ["test_card"] => OutputChange::TestCard(arg(0).is_none_or(|v| v >= 0.5)),
        ["save"] => OutputChange::Save,
        ["corner", which] => {
            let corner = CORNER_NAMES
                .iter()
                .position(|c| c == which)
                .ok_or_else(|| bad("corners are tl, tr, br and bl"))?
                as u8;
            match (arg(0), arg(1)) {
                (Some(x_px), Some(y_px)) => OutputChange::Corner { corner, x_px, y_px },
                _ => return Err(bad("needs x and y in output pixels")),
            }
        }
        ["corner", which, "by"] => {
            let corner = CORNER_NAMES
                .iter()
                .position(|c| c == which)
                .ok_or_else(|| bad("corners are tl, tr, br and bl"))?
                as u8;
            match (arg(0), arg(1)) {
                (Some(dx_px), Some(dy_px)) => OutputChange::CornerBy {
                    corner,
                    dx_px,
                    dy_px,
                },
                _ => return Err(bad("needs dx and dy in output pixels")),
            }
        }
        ["mesh", column, row] => {
            let (Some(column), Some(row)) = (index(column, 33), index(row, 33)) else {
                return Err(bad("columns and rows count from 1"));
            };
            match (arg(0), arg(1)) {
                (Some(x), Some(y)) => OutputChange::MeshPoint { column, row, x, y },
                _ => return Err(bad("needs x and y in layout units (0..1)")),
            }
        }
        ["blend", edge] => {
            let edge = EDGE_NAMES
                .iter()
                .position(|e| e == edge)
                .ok_or_else(|| bad("edges are left, right, top and bottom"))?
                as u8;
            OutputChange::Blend {
                edge,
                width_px: arg(0).ok_or_else(|| bad("needs a width in pixels (0: none)"))?,
                power: arg(1),
            }
        }
        ["gamma"] => match (arg(0), arg(1), arg(2)) {
            (Some(r), Some(g), Some(b)) => OutputChange::Gamma([r, g, b]),
            (Some(all), None, None) => OutputChange::Gamma([all; 3]),
            _ => return Err(bad("needs one gamma, or red, green and blue")),
        },
        ["black_lift"] => OutputChange::BlackLift(arg(0).ok_or_else(|| bad("needs a level"))?),
        ["slice", k, what] => {
            let slice = index(k, 256).ok_or_else(|| bad("slices count from 1"))?;
            match *what {
                "crop" => match (arg(0), arg(1), arg(2), arg(3)) {
                    (Some(x), Some(y), Some(w), Some(h)) => OutputChange::SliceCrop {
                        slice,
                        rect: [x, y, w, h],
                    },
                    _ => return Err(bad("needs x, y, width and height in canvas pixels")),
                },
                "rotate" => OutputChange::SliceRotate {
                    slice,
                    deg: arg(0)
                        .filter(|d| (0.0..=270.0).contains(d))
                        .ok_or_else(|| bad("needs 0, 90, 180 or 270"))?
                        as u16,
                },
                _ => return Err(Refusal::UnknownAddress(m.addr.clone())),
            }
        }
        _ => return Err(Refusal::UnknownAddress(m.addr.clone())),
    };
    Ok(Intent::Look(LookCommand::Output(OutputAdjust {
        output: output.map(str::to_string),
        change,
    })))
}

/// What a message asks of the show, in the vocabulary every controller speaks.
fn message_intent(m: &OscMessage, at: Option<SystemTime>) -> Result<Intent, Refusal> {
    let args = &m.args;
    let arg = |i: usize| args.get(i).and_then(number);
    let bad = |what: &str| Refusal::BadArguments(format!("{}: {what}", m.addr));
    let show = |c| Ok(Intent::Show(c));
    let parts: Vec<&str> = m.addr.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["somnia", "go"] => show(ShowCommand::Go),
        ["somnia", "transport", "play"] => show(ShowCommand::Resume),
        ["somnia", "transport", "pause"] => show(ShowCommand::Pause),
        ["somnia", "transport", "stop"] => show(ShowCommand::Stop),
        ["somnia", "transport", "next"] => show(ShowCommand::NextCue),
        ["somnia", "transport", "prev"] => show(ShowCommand::PrevCue),
        ["somnia", "transport", "seek"] => match arg(0) {
            Some(t) if t >= 0.0 => show(ShowCommand::Seek(t)),
            _ => Err(bad("needs a time in seconds, zero or more")),
        },
        ["somnia", "transport", "cue"] => match arg(0) {
            Some(n) if (1.0..1e6).contains(&n) => show(ShowCommand::SeekCue(n as usize - 1)),
            _ => Err(bad("needs a cue number from 1")),
        },
        ["somnia", "note"] => {
            let note = arg(0)
                .filter(|n| (0.0..=127.0).contains(n))
                .ok_or_else(|| bad("needs a MIDI note 0..127"))? as u8;
            let velocity = arg(1).unwrap_or(0.8).clamp(0.0, 1.0) as f32;
            match arg(2) {
                Some(len) if len > 0.0 && len <= 600.0 => Ok(Intent::Note {
                    note,
                    velocity,
                    length_s: len,
                    at,
                }),
                Some(_) => Err(bad("the length must be within 0..600 s")),
                None => Ok(Intent::Engine {
                    kind: EventKind::NoteOn { note, velocity },
                    at,
                }),
            }
        }
        ["somnia", "note", "off"] => {
            let note = arg(0)
                .filter(|n| (0.0..=127.0).contains(n))
                .ok_or_else(|| bad("needs a MIDI note 0..127"))? as u8;
            Ok(Intent::Engine {
                kind: EventKind::NoteOff { note },
                at,
            })
        }
        ["somnia", "sustain"] => Ok(Intent::Engine {
            kind: EventKind::Sustain {
                down: arg(0).is_some_and(|v| v >= 0.5),
            },
            at,
        }),
        ["somnia", "param", name] => {
            let param = AudioParam::from_name(name)
                .ok_or_else(|| Refusal::UnknownAddress(m.addr.clone()))?;
            let value = arg(0).ok_or_else(|| bad("needs a value"))? as f32;
            // Seconds: converted at the engine's own rate when carried out.
            let ramp_s = arg(1).unwrap_or(0.0).clamp(0.0, MAX_INTENT_S);
            Ok(Intent::Param {
                param,
                value,
                ramp_s,
                at,
            })
        }
        ["somnia", "preset"] => match args.first() {
            // A name, never a path: the project's name check refuses separators and `..`
            // again when the show loads it.
            Some(OscType::String(name)) if is_plain_name(name) => show(ShowCommand::Preset {
                name: name.clone(),
                fade_s: arg(1).unwrap_or(0.0).clamp(0.0, 60.0),
            }),
            _ => Err(bad("needs a preset name (letters, digits, - and _)")),
        },
        ["somnia", "symphony", what] => {
            let text = || match args.first() {
                Some(OscType::String(s)) if s.len() <= 32 => Ok(s.clone()),
                _ => Err(bad("needs a name")),
            };
            let value = || {
                arg(0)
                    .map(|v| v as f32)
                    .ok_or_else(|| bad("needs a value 0..1"))
            };
            let mut change = LiveMacros::default();
            match *what {
                "key" => change.key = Some(text()?),
                "mode" => change.mode = Some(text()?),
                "tension" => change.tension = Some(value()?),
                "density" => change.density = Some(value()?),
                "unity" => change.unity = Some(value()?),
                _ => return Err(Refusal::UnknownAddress(m.addr.clone())),
            }
            show(ShowCommand::Symphony(change))
        }
        ["somnia", "layer", name] if name.len() <= 64 => {
            Ok(Intent::Look(LookCommand::LayerParam {
                name: (*name).to_string(),
                value: arg(0).ok_or_else(|| bad("needs a value"))? as f32,
            }))
        }
        ["somnia", "unity"] => Ok(Intent::Look(LookCommand::Unity(
            arg(0).ok_or_else(|| bad("needs a value 0..1"))? as f32,
        ))),
        ["somnia", "midi", "learn"] => {
            let wrong = || bad("needs a parameter name, go, play, pause, stop, next, prev or off");
            match args.first() {
                None => Ok(Intent::Learn(None)),
                Some(OscType::String(off)) if off == "off" => Ok(Intent::Learn(None)),
                Some(OscType::String(name)) => LearnTarget::from_name(name)
                    .map(|t| Intent::Learn(Some(t)))
                    .ok_or_else(wrong),
                _ => Err(wrong()),
            }
        }
        ["somnia", "glitch"] => Ok(Intent::Glitch(
            arg(0)
                .filter(|g| (0.0..=1.0).contains(g))
                .ok_or_else(|| bad("needs an intensity 0..1"))? as f32,
        )),
        ["somnia", "caption"] => match args.first() {
            Some(OscType::String(text)) if !text.trim().is_empty() => {
                Ok(Intent::Look(LookCommand::Caption {
                    text: text.chars().take(MAX_CAPTION_CHARS).collect(),
                    hold_s: arg(1).unwrap_or(5.0) as f32,
                }))
            }
            _ => Err(bad("needs the text")),
        },
        ["somnia", "outputs", rest @ ..] => output_intent(None, rest, m),
        ["somnia", "output", name, rest @ ..] if is_plain_name(name) => {
            output_intent(Some(name), rest, m)
        }
        ["somnia", "dreamer", n, what] => {
            let dreamer = n
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_DREAMERS).contains(n))
                .ok_or_else(|| bad(&format!("dreamers are numbered 1 to {MAX_DREAMERS}")))?
                - 1;
            let value = || arg(0).ok_or_else(|| bad("needs a value")).map(|v| v as f32);
            Ok(Intent::Look(match *what {
                "leave" => LookCommand::DreamerLeave { dreamer },
                "return" => LookCommand::DreamerReturn { dreamer },
                "opacity" => LookCommand::DreamerOpacity {
                    dreamer,
                    value: value()?,
                },
                name if name.len() <= 64 => LookCommand::DreamerParam {
                    dreamer,
                    name: name.to_string(),
                    value: value()?,
                },
                _ => return Err(Refusal::UnknownAddress(m.addr.clone())),
            }))
        }
        _ => Err(Refusal::UnknownAddress(m.addr.clone())),
    }
}

/// A preset name as the network may give one: short, and letters, digits, `-` and `_` only.
fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A token bucket: `rate_per_s` messages a second, with a burst of as many. Shared by every
/// controller that limits a sender (OSC per address, the audience page per phone).
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// Full at `now`.
    pub fn new(rate_per_s: f64, now: Instant) -> Self {
        Self {
            tokens: rate_per_s,
            last: now,
        }
    }

    /// Whether one more message may pass at `now` (and takes its token if so).
    pub fn take(&mut self, rate_per_s: f64, now: Instant) -> bool {
        self.tokens = (self.tokens
            + now.saturating_duration_since(self.last).as_secs_f64() * rate_per_s)
            .min(rate_per_s);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Per-sender rate limits, for a bounded number of senders.
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_s: f64,
    senders: HashMap<IpAddr, TokenBucket>,
}

impl RateLimiter {
    pub fn new(rate_per_s: u32) -> Self {
        Self {
            rate_per_s: f64::from(rate_per_s.max(1)),
            senders: HashMap::new(),
        }
    }

    /// Whether `from` may send one more message at `now`.
    pub fn allow(&mut self, from: IpAddr, now: Instant) -> bool {
        if !self.senders.contains_key(&from) && self.senders.len() >= MAX_SENDERS {
            if let Some(idle) = self
                .senders
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(ip, _)| *ip)
            {
                self.senders.remove(&idle);
            }
        }
        let rate = self.rate_per_s;
        self.senders
            .entry(from)
            .or_insert_with(|| TokenBucket::new(rate, now))
            .take(rate, now)
    }
}

/// Whether the allow-list lets `ip` in (an empty list lets in loopback only).
pub fn allowed(allow: &[IpNet], ip: IpAddr) -> bool {
    if allow.is_empty() {
        ip.is_loopback()
    } else {
        allow.iter().any(|net| net.contains(&ip))
    }
}

/// The running server: a thread reading the socket.
pub struct OscServer {
    pub local_addr: SocketAddr,
    pub stats: Arc<OscStats>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why the OSC server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OscError {
    /// The address is taken (another program, another show) or not this machine's: choose
    /// another port or address.
    #[error("cannot listen for OSC on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The socket or its thread could not be set up: the machine is short of something.
    #[error("cannot run the OSC server: {0}")]
    Setup(std::io::Error),
}

impl OscServer {
    /// Binds and starts listening. Fails if the address cannot be bound.
    pub fn start(settings: OscSettings, sink: OscSink) -> Result<Self, OscError> {
        let socket = UdpSocket::bind(settings.bind).map_err(|source| OscError::Bind {
            addr: settings.bind,
            source,
        })?;
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(OscError::Setup)?;
        let local_addr = socket.local_addr().map_err(OscError::Setup)?;
        let stats = Arc::new(OscStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stats, stop) = (stats.clone(), stop.clone());
            std::thread::Builder::new()
                .name("somnia-osc".into())
                .spawn(move || serve(&socket, &settings, &sink, &stats, &stop))
                .map_err(OscError::Setup)?
        };
        Ok(Self {
            local_addr,
            stats,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for OscServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Decodes one datagram; malformed input (or a panic in the decoder) is `None`.
pub fn decode(bytes: &[u8]) -> Option<OscPacket> {
    std::panic::catch_unwind(|| rosc::decoder::decode_udp(bytes).ok().map(|(_, p)| p))
        .ok()
        .flatten()
}

fn serve(
    socket: &UdpSocket,
    settings: &OscSettings,
    sink: &OscSink,
    stats: &OscStats,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; rosc::decoder::MTU];
    let mut limiter = RateLimiter::new(settings.rate_per_s);
    while !stop.load(Ordering::Relaxed) {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => continue,
        };
        OscStats::add(&stats.packets);
        if !allowed(&settings.allow, from.ip()) {
            OscStats::add(&stats.refused);
            continue;
        }
        if !limiter.allow(from.ip(), Instant::now()) {
            OscStats::add(&stats.rate_limited);
            continue;
        }
        let Some(packet) = decode(&buf[..n]) else {
            OscStats::add(&stats.malformed);
            continue;
        };
        for action in actions(&packet) {
            OscStats::add(&stats.messages);
            match action {
                Ok(a) => carry_out(a, socket, from, sink, stats),
                Err(Refusal::UnknownAddress(_)) => OscStats::add(&stats.unknown_address),
                Err(Refusal::BadArguments(_)) => OscStats::add(&stats.malformed),
            }
        }
    }
}

/// Carries out one message: an intent through the steering every controller shares (its
/// drops and late time tags counted here), or the status reply to its sender.
fn carry_out(
    action: Action,
    socket: &UdpSocket,
    from: SocketAddr,
    sink: &OscSink,
    stats: &OscStats,
) {
    match action {
        Action::Steer(intent) => {
            let carried =
                sink.steering
                    .carry_out_from(format_args!("OSC {from}"), intent, Instant::now());
            stats.dropped.fetch_add(carried.dropped, Ordering::Relaxed);
            stats.late.fetch_add(carried.late, Ordering::Relaxed);
        }
        Action::Status => {
            let reply = status_reply(sink, stats);
            if let Ok(bytes) = rosc::encoder::encode(&reply) {
                let _ = socket.send_to(&bytes, from);
            }
        }
    }
}

/// `/somnia/status` to the sender: title, show time (s), paused, then the counters packets,
/// messages, malformed, refused, rate_limited, dropped, late, unknown_address, and after them
/// (added later, so readers of the first eleven values still work) the sound card's underruns,
/// MIDI messages and MIDI messages dropped (0 and 0 without MIDI input), then the standby cue:
/// its number (from 1; 0 when no cue waits for GO) and its label; then the figures `/health`
/// reports: uptime (s), frames a second, the frame-time p99 (ms), dropped frames, audio
/// device losses, GPU device losses and resident memory (bytes); then the GPU allocator's
/// allocated bytes and the longest run of black frames (each -1 where not measured); then
/// the sync sources: how many, and for each its name (`mtc in`, `mtc out`, `midi clock out`,
/// ...), its state (`locked`, `freewheeling`, `lost`, `waiting`) and the offset last measured
/// in frames (NaN where none is).
fn status_reply(sink: &OscSink, stats: &OscStats) -> OscPacket {
    let now = Instant::now();
    let frames = sink.health.frames(now);
    let transport = &sink.steering.sink.transport;
    let count = |c: &AtomicU64| OscType::Long(OscStats::get(c) as i64);
    let midi = |pick: fn(&MidiStats) -> &AtomicU64| match &sink.midi_stats {
        Some(m) => count(pick(m)),
        None => OscType::Long(0),
    };
    let standby = sink.steering.sink.cues.get().standby;
    OscPacket::Message(OscMessage {
        addr: "/somnia/status".into(),
        args: vec![
            OscType::String(sink.title.clone()),
            OscType::Double(
                sink.steering
                    .sink
                    .transport
                    .estimated_time_s(Instant::now(), 0.05),
            ),
            OscType::Bool(sink.steering.sink.transport.is_pause_requested()),
            count(&stats.packets),
            count(&stats.messages),
            count(&stats.malformed),
            count(&stats.refused),
            count(&stats.rate_limited),
            count(&stats.dropped),
            count(&stats.late),
            count(&stats.unknown_address),
            OscType::Long(sink.steering.sink.transport.underruns() as i64),
            midi(|m| &m.messages),
            midi(|m| &m.dropped),
            OscType::Int(standby.as_ref().map_or(0, |c| c.number as i32)),
            OscType::String(standby.map(|c| c.label).unwrap_or_default()),
            OscType::Double(sink.health.uptime_s(now)),
            OscType::Double(frames.fps),
            OscType::Double(frames.frame_time_p99_ms),
            OscType::Long(frames.dropped as i64),
            OscType::Long(transport.device_losses() as i64),
            OscType::Long(sink.health.gpu_device_losses() as i64),
            OscType::Long(crate::bridge::health::resident_memory_bytes() as i64),
            OscType::Long(
                sink.health
                    .gpu_memory()
                    .map_or(-1, |m| m.allocated_bytes as i64),
            ),
            OscType::Long(
                sink.health
                    .picture()
                    .map_or(-1, |p| p.black_frames_longest as i64),
            ),
        ]
        .into_iter()
        .chain(sync_status(&sink.health))
        .chain(kiosk_status(&sink.health))
        .collect(),
    })
}

/// A kiosk's figures for the status reply, after the sync sources (fields are only ever
/// added): restarts, what plays, the next opening or closing ("" when none), then the count of
/// quarantined items and each one's name. `play` reports 0, its title, "" and 0.
fn kiosk_status(health: &crate::bridge::Health) -> Vec<OscType> {
    let kiosk = health.kiosk();
    let mut args = vec![
        OscType::Long(health.restarts() as i64),
        OscType::String(health.playing()),
        OscType::String(kiosk.next_change.unwrap_or_default()),
        OscType::Int(kiosk.quarantined.len() as i32),
    ];
    args.extend(kiosk.quarantined.into_iter().map(OscType::String));
    args
}

/// The sync sources for the status reply: their count, then name, state and offset each.
fn sync_status(health: &crate::bridge::Health) -> Vec<OscType> {
    let reports = health.sync.get();
    let mut args = vec![OscType::Int(reports.len() as i32)];
    for r in reports {
        args.push(OscType::String(r.name.into()));
        args.push(OscType::String(r.state.name().into()));
        args.push(OscType::Double(r.offset.unwrap_or(f64::NAN)));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::Transport;

    #[test]
    fn status_reports_underruns_and_midi_counters_after_the_osc_ones_and_a_kiosks_figures_last() {
        let transport = Arc::new(Transport::new(48_000));
        transport.count_underrun();
        transport.count_device_loss();
        let health = Arc::new(Health::default());
        let t0 = Instant::now();
        health.frame_presented(t0, Some(1.0 / 60.0));
        health.frame_presented(t0 + Duration::from_secs_f64(1.0 / 32.0), Some(1.0 / 60.0));
        let midi = Arc::new(MidiStats::default());
        midi.messages.store(7, Ordering::Relaxed);
        midi.dropped.store(2, Ordering::Relaxed);
        let sink = OscSink {
            steering: Steering {
                sink: crate::bridge::LiveSink {
                    live: Arc::new(std::sync::Mutex::new(rtrb::RingBuffer::new(4).0)),
                    commands: std::sync::mpsc::sync_channel(1).0,
                    looks: std::sync::mpsc::sync_channel(1).0,
                    transport,
                    cues: Arc::new(crate::bridge::CueBoard::default()),
                    crowd: Default::default(),
                    timecode: crate::bridge::TimecodeSender::unheard(),
                    journal: crate::bridge::JournalNotes::off(),
                },
                learn: None,
            },
            title: "Status".into(),
            midi_stats: Some(midi),
            health,
        };
        let stats = OscStats::default();
        stats.packets.store(5, Ordering::Relaxed);
        sink.health.sync.set(vec![crate::bridge::SyncReport {
            name: "mtc in",
            state: crate::bridge::SyncState::Freewheeling,
            offset: Some(0.5),
            detail: "25".into(),
        }]);
        sink.health.set_restarts(3);
        sink.health.set_playing("warm (item 2)");
        sink.health
            .set_next_change(Some("2026-12-04T10:00:00+01:00[Europe/Berlin]".into()));
        sink.health
            .set_quarantined(vec!["performance `torn`".into(), "preset `cracked`".into()]);
        let OscPacket::Message(m) = status_reply(&sink, &stats) else {
            panic!("a message");
        };
        assert_eq!(m.args.len(), 35);
        // Nothing measured the GPU or the picture here.
        assert_eq!(&m.args[23..25], &[OscType::Long(-1), OscType::Long(-1)]);
        // The one sync source, freewheeling half a frame off.
        assert_eq!(
            &m.args[25..29],
            &[
                OscType::Int(1),
                OscType::String("mtc in".into()),
                OscType::String("freewheeling".into()),
                OscType::Double(0.5)
            ]
        );
        // Then the kiosk's: restarts, the item, the next change and the two quarantined.
        assert_eq!(
            &m.args[29..],
            &[
                OscType::Long(3),
                OscType::String("warm (item 2)".into()),
                OscType::String("2026-12-04T10:00:00+01:00[Europe/Berlin]".into()),
                OscType::Int(2),
                OscType::String("performance `torn`".into()),
                OscType::String("preset `cracked`".into()),
            ]
        );
        assert_eq!(m.args[0], OscType::String("Status".into()));
        assert_eq!(m.args[3], OscType::Long(5));
        assert_eq!(
            &m.args[11..14],
            &[OscType::Long(1), OscType::Long(7), OscType::Long(2)]
        );
        assert_eq!(
            &m.args[14..16],
            &[OscType::Int(0), OscType::String(String::new())]
        );
        // Then the health figures: two frames 31.25 ms apart (at 60 Hz, one dropped), and a
        // lost sound card.
        assert_eq!(
            &m.args[17..21],
            &[
                OscType::Double(32.0),
                OscType::Double(31.25),
                OscType::Long(1),
                OscType::Long(1),
            ]
        );
        assert!(
            matches!(m.args[22], OscType::Long(bytes) if bytes > 1 << 20),
            "{:?}",
            m.args[22]
        );
    }

    fn msg(addr: &str, args: Vec<OscType>) -> OscPacket {
        OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        })
    }

    #[test]
    fn the_immediate_time_tag_means_now_and_others_are_moments() {
        assert_eq!(
            osc_time(OscTime {
                seconds: 0,
                fractional: 1
            }),
            None
        );
        let t = osc_time(OscTime {
            seconds: 2_208_988_800 + 10,
            fractional: 1 << 31,
        })
        .unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_millis(10_500)
        );
        assert_eq!(
            osc_time(OscTime {
                seconds: 5,
                fractional: 0
            }),
            None,
            "before 1970"
        );
    }

    #[test]
    fn addresses_map_to_show_commands_and_engine_events() {
        let one = |p: OscPacket| actions(&p).remove(0);
        assert_eq!(
            one(msg("/somnia/go", vec![])),
            Ok(Action::Steer(Intent::Show(ShowCommand::Go)))
        );
        assert_eq!(
            one(msg("/somnia/transport/seek", vec![OscType::Float(12.5)])),
            Ok(Action::Steer(Intent::Show(ShowCommand::Seek(12.5))))
        );
        assert_eq!(
            one(msg(
                "/somnia/note",
                vec![OscType::Int(69), OscType::Float(0.5)]
            )),
            Ok(Action::Steer(Intent::Engine {
                kind: EventKind::NoteOn {
                    note: 69,
                    velocity: 0.5
                },
                at: None
            }))
        );
        assert_eq!(
            one(msg(
                "/somnia/param/cutoff_hz",
                vec![OscType::Double(800.0), OscType::Float(1.5)]
            )),
            Ok(Action::Steer(Intent::Param {
                param: AudioParam::CutoffHz,
                value: 800.0,
                ramp_s: 1.5,
                at: None
            }))
        );
        assert!(matches!(
            one(msg("/somnia/note", vec![OscType::Int(300)])),
            Err(Refusal::BadArguments(_))
        ));
        assert!(matches!(
            one(msg("/etc/passwd", vec![])),
            Err(Refusal::UnknownAddress(_))
        ));
        for bad in ["../presets/x", "a/b", "", "x.toml"] {
            assert!(
                matches!(
                    one(msg("/somnia/preset", vec![OscType::String(bad.into())])),
                    Err(Refusal::BadArguments(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            one(msg(
                "/somnia/preset",
                vec![OscType::String("canopy".into()), OscType::Float(2.0)]
            )),
            Ok(Action::Steer(Intent::Show(ShowCommand::Preset {
                name: "canopy".into(),
                fade_s: 2.0
            })))
        );
        assert!(matches!(
            one(msg("/somnia/note", vec![OscType::Float(f32::NAN)])),
            Err(Refusal::BadArguments(_))
        ));
    }

    #[test]
    fn output_addresses_carry_calibration_values_and_never_a_path() {
        let one = |p: OscPacket| actions(&p).remove(0);
        let output = |name: Option<&str>, change| {
            Ok(Action::Steer(Intent::Look(LookCommand::Output(
                OutputAdjust {
                    output: name.map(str::to_string),
                    change,
                },
            ))))
        };
        assert_eq!(
            one(msg("/somnia/outputs/test_card", vec![OscType::Bool(true)])),
            output(None, OutputChange::TestCard(true))
        );
        assert_eq!(
            one(msg(
                "/somnia/output/left/corner/tr",
                vec![OscType::Float(1270.0), OscType::Int(4)]
            )),
            output(
                Some("left"),
                OutputChange::Corner {
                    corner: 1,
                    x_px: 1270.0,
                    y_px: 4.0
                }
            )
        );
        assert_eq!(
            one(msg(
                "/somnia/output/left/blend/right",
                vec![OscType::Float(256.0)]
            )),
            output(
                Some("left"),
                OutputChange::Blend {
                    edge: 1,
                    width_px: 256.0,
                    power: None
                }
            )
        );
        assert_eq!(
            one(msg("/somnia/outputs/save", vec![])),
            output(None, OutputChange::Save)
        );
        for bad in [
            msg("/somnia/output/../etc/test_card", vec![]),
            msg(
                "/somnia/output/left/corner/middle",
                vec![OscType::Float(1.0), OscType::Float(1.0)],
            ),
            msg(
                "/somnia/output/left/corner/tl",
                vec![OscType::Float(f32::NAN), OscType::Float(1.0)],
            ),
            msg(
                "/somnia/output/left/file",
                vec![OscType::String("/tmp/x".into())],
            ),
        ] {
            assert!(one(bad).is_err());
        }
    }

    #[test]
    fn a_bundle_gives_its_time_to_every_message_in_it() {
        let tag = OscTime {
            seconds: 2_208_988_800 + 100,
            fractional: 0,
        };
        // Three notes, one of them in a nested bundle with the immediate tag, which takes the
        // enclosing bundle's time.
        let p = OscPacket::Bundle(OscBundle {
            timetag: tag,
            content: vec![
                msg("/somnia/note", vec![OscType::Int(60)]),
                msg("/somnia/go", vec![]),
                OscPacket::Bundle(OscBundle {
                    timetag: OscTime {
                        seconds: 0,
                        fractional: 1,
                    },
                    content: vec![msg("/somnia/note", vec![OscType::Int(64)])],
                }),
                msg("/somnia/note", vec![OscType::Int(67)]),
            ],
        });
        let a = actions(&p);
        let when = osc_time(tag).unwrap();
        let notes: Vec<(u8, Option<SystemTime>)> = a
            .iter()
            .filter_map(|r| match r {
                Ok(Action::Steer(Intent::Engine {
                    kind: EventKind::NoteOn { note, .. },
                    at,
                })) => Some((*note, *at)),
                _ => None,
            })
            .collect();
        assert_eq!(
            notes,
            [(60, Some(when)), (64, Some(when)), (67, Some(when))]
        );
        assert_eq!(a[1], Ok(Action::Steer(Intent::Show(ShowCommand::Go))));
    }

    #[test]
    fn only_loopback_is_allowed_unless_networks_are_listed() {
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        assert!(allowed(&[], "127.0.0.1".parse().unwrap()));
        assert!(!allowed(&[], lan));
        let list = ["192.168.1.0/24".parse().unwrap()];
        assert!(allowed(&list, lan));
        assert!(!allowed(&list, "10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn each_sender_gets_its_rate_and_no_more() {
        let mut r = RateLimiter::new(100);
        let t0 = Instant::now();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let passed = (0..1000).filter(|_| r.allow(a, t0)).count();
        assert_eq!(passed, 100, "a burst of one second's worth");
        assert!(
            r.allow(a, t0 + Duration::from_millis(20)),
            "refilled at the rate"
        );
        assert!(
            r.allow("127.0.0.2".parse().unwrap(), t0),
            "another sender has its own"
        );
        for i in 0..5000u32 {
            r.allow(IpAddr::from(i.to_be_bytes()), t0);
        }
        assert!(
            r.senders.len() <= MAX_SENDERS,
            "the sender table stays bounded"
        );
    }
}
