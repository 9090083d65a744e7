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
    // The analysis is of the latest block: read it often, and print what each quarter
    // second held (its loudest peak, its mean level) and the loudest peak of the last two
    // seconds, so a kick between two prints is never missed.
    let t0 = Instant::now();
    let mut last = Default::default();
    let mut recent_peaks: std::collections::VecDeque<f32> = Default::default();
    let (mut loudest, mut sum_sq, mut reads) = (0.0f32, 0.0f64, 0u64);
    while t0.elapsed().as_secs_f64() < seconds {
        let (mut peak, mut window_sq, mut n) = (0.0f32, 0.0f64, 0u32);
        let until = Instant::now() + Duration::from_millis(250);
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
            last = reader.latest();
            peak = peak.max(last.peak);
            window_sq += f64::from(last.rms).powi(2);
            n += 1;
        }
        let rms = (window_sq / f64::from(n.max(1))).sqrt() as f32;
        (sum_sq, reads) = (sum_sq + window_sq, reads + u64::from(n));
        loudest = loudest.max(peak);
        recent_peaks.push_back(peak);
        if recent_peaks.len() > 8 {
            recent_peaks.pop_front();
        }
        let held = recent_peaks.iter().copied().fold(0.0, f32::max);
        let bands: Vec<String> = last.bands.iter().map(|b| format!("{:.2}", b)).collect();
        println!(
            "t={:6.2}s rms={:6.1}dB peak={:6.1}dB hold={:6.1}dB bands=[{}] onsets={} bpm={:.1}",
            t0.elapsed().as_secs_f64(),
            db(rms),
            db(peak),
            db(held),
            bands.join(" "),
            last.onsets,
            last.bpm
        );
        if stream.has_failed() {
            return EXIT_MISSING;
        }
    }
    let mean = (sum_sq / reads.max(1) as f64).sqrt() as f32;
    println!(
        "summary: loudest peak {:.1} dB, mean level {:.1} dB, onsets={} bpm={:.1}",
        db(loudest),
        db(mean),
        last.onsets,
        last.bpm
    );
    0
}
