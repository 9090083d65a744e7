//! `somnia meter`: a soundcheck for the line in. Prints what the visuals will see of the
//! input (level, spectrum bands, onsets, tempo) a few times a second, then a summary.

use std::time::{Duration, Instant};

use super::EXIT_MISSING;
use crate::audio::input::AudioInput;
use crate::bridge::analysis_channel;

fn db(x: f32) -> f32 {
    20.0 * x.max(1e-6).log10()
}

pub fn run(input: Option<&str>, seconds: f64) -> i32 {
    let (writer, mut reader) = analysis_channel();
    let stream = match AudioInput::start(input, writer) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("somnia meter: {e}. `somnia list audio` shows the devices.");
            return EXIT_MISSING;
        }
    };
    eprintln!(
        "somnia meter: listening to `{}` at {} Hz",
        stream.name, stream.sample_rate_hz
    );
    let t0 = Instant::now();
    let mut last = Default::default();
    while t0.elapsed().as_secs_f64() < seconds {
        std::thread::sleep(Duration::from_millis(250));
        last = reader.latest();
        let bands: Vec<String> = last.bands.iter().map(|b| format!("{:.2}", b)).collect();
        println!(
            "t={:6.2}s rms={:6.1}dB peak={:6.1}dB bands=[{}] onsets={} bpm={:.1}",
            t0.elapsed().as_secs_f64(),
            db(last.rms),
            db(last.peak),
            bands.join(" "),
            last.onsets,
            last.bpm
        );
        if stream.has_failed() {
            return EXIT_MISSING;
        }
    }
    println!("summary: onsets={} bpm={:.1}", last.onsets, last.bpm);
    0
}
