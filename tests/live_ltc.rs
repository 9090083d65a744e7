//! LTC through real sound paths, held to libltc (Debian's libltc-dev, `tests/ltc/ltc_tool.c`):
//! - libltc's timecode, played with `pacat` into a PulseAudio sink whose monitor is the show's
//!   input, is chased: located, followed within a frame, and stopped when it ends;
//! - the show's LTC out, written to a second sound device (ALSA's JACK plugin, into the JACK
//!   dummy server) and recorded there by `jack_rec`, is read by libltc without a frame
//!   missing or wrong, at every rate;
//! - written on the right channel of the show's own device, its sound on the left, it is read by
//!   libltc in step with what is heard.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use somnia::clock::timecode::{FrameRate, Timecode};

#[test]
fn ltc_from_libltc_on_a_sound_input_is_chased_within_a_frame_and_stops_when_it_ends() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let sink = NullSink::new(&format!("ltc_in_{}", std::process::id()), 1);
    // Eight seconds of 25 fps LTC from 01:00:20:00, by libltc.
    let raw = dir.path().join("ltc.raw");
    libltc_encode("25", "01:00:20:00", 8.0, &raw);
    let web = free_port();
    let monitor = sink.monitor();
    let play = LivePlay::start_with_env(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--no-osc",
            "--no-midi",
            "--web-bind",
            &format!("127.0.0.1:{web}"),
            "--chase",
            "ltc",
            "--timecode-offset",
            "01:00:00:00",
        ],
        &fixture("performances/osc.toml"),
        // The show's default input is the test's sink: it hears the LTC and nothing else.
        &[("PULSE_SOURCE", monitor.as_str())],
    );
    play.wait_until_up();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], web));
    let started = Instant::now();
    let mut pacat = sink.play(&raw);
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(11) {
        if let Ok(h) = health(addr) {
            samples.push((started.elapsed().as_secs_f64(), h));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = pacat.wait();
    let log = play.stop();
    let state = |h: &serde_json::Value| h["sync"][0]["state"].as_str().unwrap_or("").to_string();
    let story: Vec<String> = samples
        .iter()
        .map(|(t, h)| {
            format!(
                "{t:.2}:{}:{:.2}",
                state(h),
                h["show_s"].as_f64().unwrap_or(-1.0)
            )
        })
        .collect();
    // Locked from the second second on, within a frame of the timecode.
    let locked: Vec<&(f64, serde_json::Value)> = samples
        .iter()
        .filter(|(t, _)| (2.5..7.0).contains(t))
        .collect();
    assert!(locked.len() > 20, "{story:?}\n{log}");
    let mut worst = 0.0f64;
    let mut measured = 0;
    for (_, h) in &locked {
        assert_eq!(state(h), "locked", "{story:?}\n{log}");
        assert_eq!(h["sync"][0]["name"], "ltc in");
        assert_eq!(h["paused"], false);
        // None only in the moment after a locate, until the next word is measured.
        if let Some(offset) = h["sync"][0]["offset_frames"].as_f64() {
            worst = worst.max(offset.abs());
            measured += 1;
        }
    }
    assert!(
        measured * 10 >= locked.len() * 9,
        "{measured} of {} measured",
        locked.len()
    );
    report(
        "measured",
        &format!(
            "LTC chase (libltc through PulseAudio): offset at most {worst:.2} frames while locked"
        ),
    );
    assert!(worst <= 1.0, "more than a frame off: {worst}\n{story:?}");
    // The show went to the first label's time (20 s into the show at 01:00:20:00; pacat
    // takes a moment to start) and ran with the timecode from there.
    let first = samples
        .iter()
        .find(|(_, h)| h["show_s"].as_f64().unwrap_or(0.0) > 10.0)
        .map(|(_, h)| h["show_s"].as_f64().unwrap())
        .unwrap();
    assert!(
        (20.0..20.6).contains(&first),
        "located to {first}: {story:?}"
    );
    let (t0, h0) = locked[0];
    let (t1, h1) = locked[locked.len() - 1];
    let speed = (h1["show_s"].as_f64().unwrap() - h0["show_s"].as_f64().unwrap()) / (t1 - t0);
    assert!(
        (speed - 1.0).abs() < 0.03,
        "the show ran at {speed}x: {story:?}"
    );
    // The LTC ends at 28 s: after ten frames' freewheel the show stops and stays.
    let last = &samples.last().unwrap().1;
    assert_eq!(state(last), "lost", "{story:?}");
    assert_eq!(last["paused"], true, "{story:?}");
    let stood = last["show_s"].as_f64().unwrap();
    assert!((27.5..29.0).contains(&stood), "stood at {stood}: {story:?}");
}

#[test]
fn libltc_reads_every_frame_of_the_shows_ltc_out_at_every_rate() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    for rate in FrameRate::ALL {
        let read = retry_on_dropout(|| ltc_out_run(rate), LtcOutRead::whole);
        report(
            "measured",
            &format!(
                "libltc read {} of about {} frames of the show's LTC out at {}, none missing or wrong",
                read.frames,
                read.expected,
                rate.name()
            ),
        );
    }
}

/// What libltc read of one recording of the show's LTC out.
#[derive(Debug)]
struct LtcOutRead {
    rate: FrameRate,
    /// Whole words read.
    frames: usize,
    /// About how many whole words the recording holds.
    expected: usize,
    /// Each place one word was not followed by the next.
    breaks: Vec<String>,
    seconds: f64,
    log: String,
}

impl LtcOutRead {
    /// Every word read, in order, none missing.
    fn whole(&self) -> Result<(), String> {
        let rate = self.rate;
        if !self.breaks.is_empty() {
            return Err(format!("{rate:?}: {:?}\n{}", self.breaks, self.log));
        }
        if self.frames + 1 < self.expected {
            return Err(format!(
                "{rate:?}: libltc read {} of about {} frames in {:.2} s\n{}",
                self.frames, self.expected, self.seconds, self.log
            ));
        }
        Ok(())
    }
}

/// The times `log` says a sound device ran dry (the show's own, and LTC out's).
fn ran_dry(log: &str) -> u64 {
    log.lines()
        .filter_map(|l| {
            let (_, after) = l.split_once("ran dry ")?;
            after.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// One show writing LTC at `rate` to the default output (the test's own PulseAudio sink),
/// recorded from the sink's monitor for 4 s and read by libltc.
fn ltc_out_run(rate: FrameRate) -> (LtcOutRead, Environment) {
    let dir = tempfile::tempdir().unwrap();
    let sink = NullSink::new(&format!("ltc_out_{}", std::process::id()), 1);
    // The show's sound goes to JACK (ALSA's JACK plugin), its LTC to the default output:
    // the test's own PulseAudio sink, recorded from its monitor.
    let play = LivePlay::start_with_env(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--no-osc",
            "--no-midi",
            "--no-web",
            "--audio-device",
            "jack",
            "--ltc-out",
            "default",
            "--timecode-rate",
            rate.name(),
            "--timecode-offset",
            "01:00:00:00",
        ],
        &fixture("performances/osc.toml"),
        &[("PULSE_SINK", sink.name.as_str())],
    );
    play.wait_until_up();
    // LTC out comes into line over its first two seconds: the sound server starts the
    // stream a moment after its first blocks, which are then late and are put right.
    std::thread::sleep(Duration::from_millis(2500));
    let recording_from = Instant::now();
    let recorded = Command::new("timeout")
        .args(["4", "parec"])
        .arg(format!("--device={}", sink.monitor()))
        .args([
            "--format=float32le",
            "--rate=48000",
            "--channels=1",
            "--raw",
        ])
        .output()
        .expect("parec (pulseaudio-utils)");
    let wall_s = recording_from.elapsed().as_secs_f64();
    let log = play.stop();
    let bytes = recorded.stdout;
    let seconds = bytes.len() as f64 / 4.0 / 48_000.0;
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let read = libltc_decode(&samples, fps_arg(rate));
    // A word the recording started in the middle of is not a whole frame: from the first
    // that began in it.
    // (libltc dates such a word's start before the recording's, negative.)
    let whole_from = (48_000.0 / rate.fps()) as i64;
    let frames: Vec<(Timecode, bool, i64)> = read
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let start: i64 = f[2].parse().unwrap_or_else(|e| panic!("{e}: {l}"));
            (start >= whole_from).then(|| {
                let label = f[0].parse().unwrap_or_else(|e| panic!("{e}: {l}"));
                (label, f[1] == "1", start)
            })
        })
        .collect();
    assert!(seconds > 3.0, "{rate:?}: recorded {seconds} s\n{log}");
    assert!(
        frames.iter().all(|f| f.1 == rate.drop_frame()),
        "{rate:?}: drop-frame flag"
    );
    // The show had run a few seconds from its start at 01:00:00:00.
    let first_s = frames[0].0.seconds(rate) - 3600.0;
    assert!((0.0..30.0).contains(&first_s), "{rate:?}: {}", frames[0].0);
    let breaks = frames
        .windows(2)
        .filter(|w| w[1].0.frame_count(rate) != w[0].0.frame_count(rate) + 1)
        .map(|w| format!("{} at {} then {} at {}", w[0].0, w[0].2, w[1].0, w[1].2))
        .collect();
    // Every whole word in the recording: all but the one it starts in and the one it ends in.
    let expected = (seconds * rate.fps()) as usize - 2;
    // A device that ran dry (the show's, or LTC out's own) left a gap in the words: a receiver
    // hears it as a dropout, which is not what this measures.
    let environment = Environment {
        underruns: ran_dry(&log),
        recording_short_s: recording_short_s(samples.len(), wall_s),
        device_hiccups: device_hiccups(&log),
    };
    (
        LtcOutRead {
            rate,
            frames: frames.len(),
            expected,
            breaks,
            seconds,
            log,
        },
        environment,
    )
}

#[test]
fn ltc_on_the_right_channel_of_the_shows_own_device_is_read_by_libltc_in_step_with_its_sound_on_the_left()
 {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    // A stereo device, as on a small rig: the show's sound on the left (in mono), its LTC on
    // the right. (A four-channel null sink would take LTC on 3 and 4 by the same code, but
    // ALSA's PulseAudio plugin runs a four-channel stream dry hundreds of times a second.)
    let sink = NullSink::new(&format!("ltc_main_{}", std::process::id()), 2);
    let raw = dir.path().join("quad.raw");
    let mut parec = Command::new("parec")
        .arg(format!("--device={}", sink.monitor()))
        .args([
            "--format=float32le",
            "--rate=48000",
            "--channels=2",
            "--raw",
            // Handed over every 20 ms, so the end of the recording is not lost in its buffer.
            "--latency-msec=20",
        ])
        .arg(&raw)
        .spawn()
        .expect("parec (pulseaudio-utils)");
    std::thread::sleep(Duration::from_millis(300));
    // A4 at 0.3 s, E5 at 2 s.
    let play = LivePlay::start_with_env(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--no-osc",
            "--no-midi",
            "--no-web",
            "--ltc-out-channels",
            "2",
            "--timecode-rate",
            "25",
            "--timecode-offset",
            "01:00:00:00",
        ],
        &fixture("performances/live.toml"),
        &[("PULSE_SINK", sink.name.as_str())],
    );
    play.wait_until_up();
    std::thread::sleep(Duration::from_secs(4));
    // The recorder is stopped first: what it held back as it stopped is of a show still
    // playing.
    stop_with_sigint(&mut parec);
    let log = play.stop();
    let bytes = std::fs::read(&raw).unwrap();
    let samples: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let channel = |c: usize| -> Vec<f32> { samples.iter().skip(c).step_by(2).copied().collect() };
    let (left, right) = (channel(0), channel(1));
    // The sound is on the left: the A4 is heard there.
    let a4_s = onset_s(&left, note_hz(69));
    assert!(a4_s > 0.0, "no A4 on channel 1\n{log}");
    // libltc reads the right: every word in order, from the show's start on.
    let words: Vec<(Timecode, i64)> = libltc_decode(&right, "25")
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();
    assert!(
        words.len() > 2 * 25,
        "{} words read in {:.2} s, from {:?} to {:?}\n{log}",
        words.len(),
        right.len() as f64 / 48_000.0,
        words.first(),
        words.last()
    );
    let rate = FrameRate::Fps25;
    let breaks: Vec<String> = words
        .windows(2)
        .filter(|w| w[1].0.frame_count(rate) != w[0].0.frame_count(rate) + 1)
        .map(|w| format!("{} then {}", w[0].0, w[1].0))
        .collect();
    assert!(breaks.is_empty(), "{breaks:?}\n{log}");
    assert!(
        words[0].0.frame_count(rate) <= 90_000 + 5,
        "the first word read is {}, the show starts at 01:00:00:00",
        words[0].0
    );
    // In step with the sound: the word playing as the A4 (due 0.3 s into the show) is heard
    // stands 7.5 frames into the hour, give or take a frame.
    let onset = (a4_s * 48_000.0) as i64;
    let (tc, start) = words
        .iter()
        .take_while(|(_, start)| *start <= onset)
        .last()
        .copied()
        .expect("a word before the A4");
    let at_frames = tc.frame_count(rate) as f64 - 90_000.0 + (onset - start) as f64 / 1920.0;
    let off_frames = at_frames - 0.3 * 25.0;
    report(
        "measured",
        &format!(
            "LTC on the show's own device: the A4 heard {off_frames:+.2} frames from its timecode"
        ),
    );
    assert!(
        off_frames.abs() <= 1.0,
        "the A4 was heard at {at_frames:.2} frames into the LTC, 7.5 due\n{log}"
    );
}
