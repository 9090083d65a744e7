//! What the show's journal costs, measured against the same show without one in the same run.
//! `cargo bench --bench journal` (or `scripts/bench.sh journal`) prints a table:
//!   - CPU: a show of S seconds (default 60) with 1,000 live inputs a second (notes, their
//!     releases and parameter moves through the engine's live queue, each also noted with its
//!     sender as a controller notes it), rendered as fast as the machine allows with the
//!     journal written by its real thread into a real file, against the same without: the
//!     difference in this process's CPU time per second of show is the journal's share of one
//!     core (target: under 1 %);
//!   - size: the journal's bytes per hour of that show, and of the shipped performance played
//!     as written (its cued events only);
//!   - re-render: `somnia render --journal`'s sound path (the engine given the journal's
//!     entries) in × real time, against the plain offline render of the performance.
//!
//! Speed targets live here, never in tests.

use std::path::PathBuf;
use std::time::Instant;

use somnia::audio::Engine;
use somnia::bridge::journal_tap::Entry;
use somnia::bridge::{
    AudioParam, Curve, Event, EventKind, Patch, event_queue, journal_channel, journal_notes,
};
use somnia::offline::render_blocks;
use somnia::offline::replay::replay_blocks;
use somnia::show::compile::load_timeline;
use somnia::show::journal::{Journal, JournalWriter, Start};
use somnia::show::scheduler::Scheduler;

const RATE: u32 = 48_000;
const BLOCK: usize = 256;
const INPUTS_PER_S: f64 = 1000.0;

fn cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn start(title: &str) -> Start {
    Start {
        command: "bench".into(),
        title: title.into(),
        latency_frames: 67,
        ..Start::default()
    }
}

/// The k-th live input: a note on, its release, or a parameter move.
fn input(k: u64) -> EventKind {
    match k % 3 {
        0 => EventKind::NoteOn {
            note: 48 + (k % 36) as u8,
            velocity: 0.7,
        },
        1 => EventKind::NoteOff {
            note: 48 + ((k - 1) % 36) as u8,
        },
        _ => EventKind::SetParam {
            param: AudioParam::CutoffHz,
            value: 300.0 + (k % 50) as f32 * 100.0,
            ramp_samples: 480,
            curve: Curve::Linear,
        },
    }
}

/// `seconds` of a show with 1,000 live inputs a second, journaled into `journal` or not:
/// (wall s, CPU s, the journal's bytes).
fn busy_show(seconds: f64, journal: Option<&std::path::Path>) -> (f64, f64, u64) {
    let (_tx, rx) = event_queue(16);
    let (mut live_tx, live_rx) = event_queue(8192);
    let mut engine = Engine::new(RATE, Patch::default(), rx);
    engine.attach_live_queue(live_rx);
    let kept = journal.map(|path| {
        let (tap, drain) = journal_channel(1 << 15);
        engine.attach_journal(tap);
        let (notes, notes_rx) = journal_notes(drain.counters.clone(), 8192, "/".into());
        let writer =
            JournalWriter::start(path, &start("busy"), drain, notes_rx, u64::MAX, None).unwrap();
        (writer, notes)
    });
    let blocks = (seconds * f64::from(RATE) / BLOCK as f64) as u64;
    let per_block = INPUTS_PER_S * BLOCK as f64 / f64::from(RATE);
    let mut owed = 0.0;
    let mut k = 0u64;
    let mut buf = vec![0.0f32; 2 * BLOCK];
    let (t0, c0) = (Instant::now(), cpu_s());
    for _ in 0..blocks {
        owed += per_block;
        while owed >= 1.0 {
            owed -= 1.0;
            let kind = input(k);
            k += 1;
            // As a controller does: noted with its sender, then queued for the engine.
            if let Some((_, notes)) = &kept {
                notes.input("OSC 127.0.0.1:9000", format_args!("{kind}"));
            }
            let _ = live_tx.push(Event { at_sample: 0, kind });
        }
        engine.process(&mut buf, false);
    }
    let bytes = kept.map_or(0, |(writer, _)| writer.finish().map_or(0, |s| s.bytes));
    (t0.elapsed().as_secs_f64(), cpu_s() - c0, bytes)
}

fn main() {
    let seconds: f64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let dir = tempfile::tempdir().unwrap();

    // CPU: best of three each way, alternating.
    let mut without = (f64::INFINITY, f64::INFINITY, 0);
    let mut with = (f64::INFINITY, f64::INFINITY, 0);
    for run in 0..3 {
        let a = busy_show(seconds, None);
        if a.1 < without.1 {
            without = a;
        }
        let path = dir.path().join(format!("busy-{run}.somnia-journal"));
        let b = busy_show(seconds, Some(&path));
        if b.1 < with.1 {
            with = b;
        }
    }
    let share = (with.1 - without.1).max(0.0) / seconds;

    // Size and re-render speed on the shipped performance, played as written.
    let perf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("performances/first-light.toml");
    let timeline = load_timeline(&perf).expect("shipped performance loads");
    let perf_s = timeline.duration_s;
    let perf_journal = dir.path().join("first-light.somnia-journal");
    {
        let (mut tx, rx) = event_queue(4096);
        let mut scheduler = Scheduler::new(&timeline, RATE);
        let mut engine = Engine::new(RATE, timeline.initial_patch, rx);
        engine.apply_master(&timeline.master);
        let (tap, drain) = journal_channel(1 << 15);
        engine.attach_journal(tap);
        let (_notes, notes_rx) = journal_notes(drain.counters.clone(), 16, "/".into());
        let mut st = start(&timeline.title);
        st.patch = timeline.initial_patch;
        st.master = timeline.master;
        st.latency_frames = engine.latency_samples() as u32;
        let writer =
            JournalWriter::start(&perf_journal, &st, drain, notes_rx, u64::MAX, None).unwrap();
        let total = somnia::clock::seconds_to_samples(perf_s, RATE);
        let mut buf = vec![0.0f32; 2 * BLOCK];
        let mut done = 0u64;
        while done < total {
            scheduler.feed(done + BLOCK as u64, &mut tx);
            engine.process(&mut buf, false);
            done += BLOCK as u64;
        }
        writer.finish();
    }
    let perf_bytes = std::fs::metadata(&perf_journal).unwrap().len();
    let journal = Journal::read(&perf_journal).unwrap();
    let entries: Vec<Entry> = journal.entries().copied().collect();
    let best = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let replay_s = best(&mut || {
        replay_blocks(
            journal.start().unwrap(),
            &entries,
            journal.frames(),
            None,
            |_| Ok(()),
            |_| {},
        )
        .unwrap();
    });
    let offline_s = best(&mut || {
        render_blocks(&timeline, perf_s, RATE, BLOCK, |_| Ok(()), |_| {}).unwrap();
    });

    println!(
        "journal (show of {seconds:.0} s at {INPUTS_PER_S:.0} live inputs a second, best of 3)"
    );
    println!("| | without a journal | with | difference |");
    println!("|---|---|---|---|");
    println!(
        "| CPU time | {:.3} s | {:.3} s | {:+.3} s: {:.2} % of one core (target under 1 %) |",
        without.1,
        with.1,
        with.1 - without.1,
        share * 100.0
    );
    println!("| wall time | {:.3} s | {:.3} s | |", without.0, with.0);
    println!();
    println!("| journal size | bytes | per hour of show |");
    println!("|---|---|---|");
    println!(
        "| {INPUTS_PER_S:.0} live inputs a second ({seconds:.0} s) | {} | {:.0} MB |",
        with.2,
        with.2 as f64 / seconds * 3600.0 / 1e6
    );
    println!(
        "| `{}` as written ({perf_s:.0} s, {} engine entries) | {perf_bytes} | {:.2} MB |",
        timeline.title,
        entries.len(),
        perf_bytes as f64 / perf_s * 3600.0 / 1e6
    );
    println!();
    println!(
        "| sound of `{}` ({perf_s:.0} s) | wall | × real time |",
        timeline.title
    );
    println!("|---|---|---|");
    println!(
        "| offline render (reference) | {offline_s:.3} s | {:.0}x |",
        perf_s / offline_s
    );
    println!(
        "| made again from its journal | {replay_s:.3} s | {:.0}x ({:.2}x the reference's time) |",
        perf_s / replay_s,
        replay_s / offline_s
    );
}
