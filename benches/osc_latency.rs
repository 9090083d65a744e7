//! OSC arrival to sample: how long after an OSC message is sent the engine renders its effect,
//! and how much that varies, at 64- and 256-frame blocks. In-process and real: the OSC server
//! on a UDP socket, a sender on another thread, and an audio thread calling `Engine::process`
//! on a real-time schedule (a block every `frames / 48 kHz`), as a device callback would.
//! Latency is from just before `send_to` to the start of the block that applied the message.
//!
//! Run: `cargo bench --bench osc_latency` (or scripts/bench.sh).

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rosc::{OscMessage, OscPacket, OscType};
use somnia::audio::Engine;
use somnia::bridge::LiveSink;
use somnia::bridge::patch::Patch;
use somnia::bridge::{Transport, event_queue};
use somnia::control::intent::Steering;
use somnia::control::osc::{OscServer, OscSettings, OscSink};

const RATE: u32 = 48_000;
const TRIALS: usize = 300;

/// Latencies (ms) of `TRIALS` messages at `frames`-frame blocks.
fn run(frames: usize) -> Vec<f64> {
    let transport = Arc::new(Transport::new(RATE));
    let (_show_tx, show_rx) = event_queue(16);
    let (live_tx, live_rx) = event_queue(4096);
    let mut engine = Engine::new(RATE, Patch::default(), show_rx);
    engine.attach_live_queue(live_rx);
    let (cmd_tx, _cmd_rx) = mpsc::sync_channel(16);
    let server = OscServer::start(
        OscSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..OscSettings::default()
        },
        OscSink {
            steering: Steering {
                sink: LiveSink {
                    live: Arc::new(Mutex::new(live_tx)),
                    commands: cmd_tx,
                    looks: mpsc::sync_channel(16).0,
                    transport: transport.clone(),
                    cues: Default::default(),
                    crowd: Default::default(),
                    timecode: somnia::bridge::TimecodeSender::unheard(),
                    journal: somnia::bridge::JournalNotes::off(),
                },
                learn: None,
            },
            title: "bench".into(),
            midi_stats: None,
            health: Default::default(),
        },
    )
    .expect("OSC server");
    let addr = server.local_addr;

    // The audio thread: a block every period, on schedule; reports when each event applied.
    let stop = Arc::new(AtomicBool::new(false));
    let (applied_tx, applied_rx) = mpsc::channel::<Instant>();
    let audio = {
        let (stop, transport) = (stop.clone(), transport.clone());
        std::thread::spawn(move || {
            let period = Duration::from_secs_f64(frames as f64 / f64::from(RATE));
            let mut buf = vec![0.0f32; 2 * frames];
            let start = Instant::now();
            let mut n = 0u32;
            let mut seen = 0;
            while !stop.load(Ordering::Relaxed) {
                let due = start + period * n;
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
                let block_start = Instant::now();
                let pos = engine.position_samples();
                engine.process(&mut buf, false);
                transport.publish_position(pos, frames as u32, block_start);
                while seen < engine.applied_events() {
                    seen += 1;
                    let _ = applied_tx.send(block_start);
                }
                n += 1;
            }
        })
    };

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let msg = rosc::encoder::encode(&OscPacket::Message(OscMessage {
        addr: "/somnia/param/gain_db".into(),
        args: vec![OscType::Float(-6.0)],
    }))
    .unwrap();
    let mut out = Vec::with_capacity(TRIALS);
    let mut phase = 0.37f64;
    for _ in 0..TRIALS {
        // Spread the sends over the block period.
        phase = (phase + 0.618_034) % 1.0;
        std::thread::sleep(Duration::from_secs_f64(
            0.003 + phase * frames as f64 / f64::from(RATE),
        ));
        let sent = Instant::now();
        socket.send_to(&msg, addr).unwrap();
        let applied = applied_rx
            .recv_timeout(Duration::from_secs(1))
            .expect("applied");
        out.push(applied.saturating_duration_since(sent).as_secs_f64() * 1e3);
    }
    stop.store(true, Ordering::Relaxed);
    audio.join().unwrap();
    drop(server);
    out
}

fn main() {
    println!();
    println!("OSC arrival to sample ({TRIALS} messages each, loopback UDP, 48 kHz)");
    println!();
    println!("| block | block length (ms) | mean (ms) | p50 | p99 | max | jitter (std dev, ms) |");
    println!("|---|---|---|---|---|---|---|");
    for frames in [64usize, 256] {
        let mut v = run(frames);
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {frames} | {:.2} | {mean:.3} | {:.3} | {:.3} | {:.3} | {sd:.3} |",
            frames as f64 * 1e3 / f64::from(RATE),
            at(0.5),
            at(0.99),
            v[v.len() - 1]
        );
    }
}
