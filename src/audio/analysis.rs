//! Analysis for the visuals, run on the audio thread after each block: RMS and peak, eight
//! log-spaced spectrum bands, onsets (spectral flux with an adaptive threshold, timed to
//! within a few samples), a tempo estimate from the intervals between onsets, and the sound's
//! shape for shaders (the spectrum and waveform as bytes, as Web Audio gives Shadertoy).
//!
//! Everything is allocated in [`Analyzer::new`]; [`Analyzer::push`] only reuses it (the FFT
//! runs with a preallocated scratch buffer), so it is safe inside the audio callback.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::bridge::{Analysis, BANDS, SHAPE_LEN};

/// Lowest and highest band edges, Hz.
const BAND_LO_HZ: f32 = 40.0;
const BAND_HI_HZ: f32 = 16_000.0;
const FFT_LEN: usize = 1024;
const HOP: usize = 512;
/// Onsets closer together than this are one onset.
const MIN_ONSET_GAP_S: f64 = 0.1;
/// How many recent onsets the tempo estimate looks at.
const ONSET_MEMORY: usize = 24;
/// Sub-block length used to place an onset precisely inside the analysis window.
const ONSET_GRAIN: usize = 32;
/// The shape's spectrum in dB: this is 0, `SHAPE_MAX_DB` is 255 (Web Audio's defaults).
const SHAPE_MIN_DB: f32 = -100.0;
const SHAPE_MAX_DB: f32 = -30.0;
/// How much of the last frame's magnitude a column keeps (Web Audio's smoothing).
const SHAPE_SMOOTHING: f32 = 0.8;
/// FFT bins a spectrum column spans: 256 columns over the lower half of the 512 bins.
const BINS_PER_COLUMN: usize = FFT_LEN / 2 / SHAPE_LEN / 2;

pub struct Analyzer {
    sample_rate_hz: u32,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// The last FFT_LEN mono samples, oldest first once `filled`.
    history: Vec<f32>,
    filled: usize,
    since_hop: usize,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    prev_mag: Vec<f32>,
    band_bins: [(usize, usize); BANDS + 1],
    flux_avg: f32,
    flux_dev: f32,
    onset_times: [f64; ONSET_MEMORY],
    /// Each spectrum column's smoothed magnitude.
    shape_mag: [f32; SHAPE_LEN],
    out: Analysis,
}

impl Analyzer {
    pub fn new(sample_rate_hz: u32) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_LEN);
        let window = (0..FFT_LEN)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / FFT_LEN as f32).cos())
            .collect();
        let hz_per_bin = sample_rate_hz as f32 / FFT_LEN as f32;
        let mut band_bins = [(0, 0); BANDS + 1];
        for (i, b) in band_bins.iter_mut().enumerate() {
            let edge = BAND_LO_HZ * (BAND_HI_HZ / BAND_LO_HZ).powf(i as f32 / BANDS as f32);
            let bin = ((edge / hz_per_bin).round() as usize).clamp(1, FFT_LEN / 2);
            *b = (bin, bin);
        }
        Self {
            sample_rate_hz,
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            history: vec![0.0; FFT_LEN],
            filled: 0,
            since_hop: 0,
            prev_mag: vec![0.0; FFT_LEN / 2 + 1],
            band_bins,
            flux_avg: 0.0,
            flux_dev: 0.0,
            onset_times: [f64::NEG_INFINITY; ONSET_MEMORY],
            shape_mag: [0.0; SHAPE_LEN],
            out: Analysis::default(),
        }
    }

    /// The latest analysis.
    pub fn analysis(&self) -> Analysis {
        self.out
    }

    /// Analyses one block of interleaved stereo whose first frame is at sample `start` (which
    /// may be negative: output that precedes time zero, such as a limiter's lookahead).
    pub fn push(&mut self, block: &[f32], start: i64) {
        let frames = block.len() / 2;
        let mut sum_sq = 0.0f32;
        let mut peak = 0.0f32;
        for (i, f) in block.chunks_exact(2).enumerate() {
            sum_sq += f[0] * f[0] + f[1] * f[1];
            peak = peak.max(f[0].abs()).max(f[1].abs());
            let idx = self.filled % FFT_LEN;
            self.history[idx] = 0.5 * (f[0] + f[1]);
            self.filled += 1;
            self.since_hop += 1;
            if self.since_hop == HOP && self.filled >= FFT_LEN {
                self.since_hop = 0;
                self.analyse_hop(start + i as i64 + 1);
            } else if self.since_hop >= HOP {
                self.since_hop = 0;
            }
        }
        if frames > 0 {
            self.out.rms = (sum_sq / (2 * frames) as f32).sqrt();
            self.out.peak = peak;
        }
    }

    /// One FFT frame over the last FFT_LEN samples, which end just before sample `end`.
    fn analyse_hop(&mut self, end: i64) {
        let oldest = self.filled % FFT_LEN;
        for i in 0..FFT_LEN {
            self.input[i] = self.history[(oldest + i) % FFT_LEN] * self.window[i];
        }
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            return;
        }
        let norm = 2.0 / FFT_LEN as f32;
        let mut flux = 0.0f32;
        for (k, c) in self.spectrum.iter().enumerate() {
            let mag = c.norm() * norm;
            // Log-compressed flux: loud and quiet onsets both register.
            let rise = (1.0 + 100.0 * mag).ln() - (1.0 + 100.0 * self.prev_mag[k]).ln();
            if rise > 0.0 {
                flux += rise;
            }
            self.prev_mag[k] = mag;
        }
        for b in 0..BANDS {
            let (lo, hi) = (
                self.band_bins[b].0,
                self.band_bins[b + 1].0.max(self.band_bins[b].0 + 1),
            );
            let energy: f32 = self.prev_mag[lo..hi].iter().map(|m| m * m).sum();
            let level = (energy.sqrt() * 4.0).min(1.5);
            // Fast attack, slower fall: what looks right on screen.
            let prev = self.out.bands[b];
            self.out.bands[b] = if level > prev {
                level
            } else {
                prev + (level - prev) * 0.3
            };
        }

        self.shape();

        // Adaptive threshold: well above the running mean and deviation of the flux.
        let threshold = self.flux_avg + 3.0 * self.flux_dev + 2.0;
        let now_s = end as f64 / f64::from(self.sample_rate_hz);
        if flux > threshold {
            let t = self.locate_onset(end);
            if t - self.onset_times[ONSET_MEMORY - 1] >= MIN_ONSET_GAP_S {
                self.onset_times.rotate_left(1);
                self.onset_times[ONSET_MEMORY - 1] = t;
                self.out.onsets = self.out.onsets.wrapping_add(1);
                self.out.last_onset_s = t;
                self.out.bpm = estimate_bpm(&self.onset_times, now_s);
            }
        }
        let a = 0.1;
        self.flux_dev += a * ((flux - self.flux_avg).abs() - self.flux_dev);
        self.flux_avg += a * (flux - self.flux_avg);
    }

    /// The shape for shaders from this frame's magnitudes and the latest samples.
    fn shape(&mut self) {
        // A sine at full scale reads 0.5 here (the Hann window's gain): Web Audio's 0 dB.
        let full_scale = 0.5;
        for (c, smoothed) in self.shape_mag.iter_mut().enumerate() {
            let bins = &self.prev_mag[c * BINS_PER_COLUMN..(c + 1) * BINS_PER_COLUMN];
            let mag = bins.iter().fold(0.0f32, |m, b| m.max(*b)) / full_scale;
            *smoothed = SHAPE_SMOOTHING * *smoothed + (1.0 - SHAPE_SMOOTHING) * mag;
            let db = 20.0 * smoothed.max(1e-9).log10();
            let level = (db - SHAPE_MIN_DB) / (SHAPE_MAX_DB - SHAPE_MIN_DB);
            self.out.shape.spectrum[c] = (level.clamp(0.0, 1.0) * 255.0) as u8;
        }
        let newest = self.filled % FFT_LEN;
        for (i, w) in self.out.shape.waveform.iter_mut().enumerate() {
            let s = self.history[(newest + FFT_LEN - SHAPE_LEN + i) % FFT_LEN];
            *w = (128.0 + s.clamp(-1.0, 1.0) * 127.0).round() as u8;
        }
        self.out.frames = self.out.frames.wrapping_add(1);
    }

    /// Places an onset inside the analysis window: the start of the grain whose energy rises
    /// most over the grain before it. Returns seconds on the sample clock.
    fn locate_onset(&self, end: i64) -> f64 {
        let oldest = self.filled % FFT_LEN;
        let grains = FFT_LEN / ONSET_GRAIN;
        let mut best = (0.0f32, FFT_LEN - HOP);
        let mut prev = f32::MAX;
        for g in 0..grains {
            let e: f32 = (0..ONSET_GRAIN)
                .map(|i| self.history[(oldest + g * ONSET_GRAIN + i) % FFT_LEN].powi(2))
                .sum();
            if prev != f32::MAX && e - prev > best.0 {
                best = (e - prev, g * ONSET_GRAIN);
            }
            prev = e;
        }
        let sample = end - FFT_LEN as i64 + best.1 as i64;
        sample as f64 / f64::from(self.sample_rate_hz)
    }
}

/// Tempo from recent onset times: the beat period (60..200 BPM) that the most intervals
/// between onsets are whole multiples of, refined by averaging the intervals that fit it.
fn estimate_bpm(onsets: &[f64; ONSET_MEMORY], now_s: f64) -> f32 {
    let recent = |t: f64| t.is_finite() && now_s - t < 8.0;
    let sigma = 0.012;
    let mut best = (0.0f64, 0.0f64);
    let mut period = 0.3;
    while period <= 1.0 {
        let mut score = 0.0;
        for (i, a) in onsets.iter().enumerate().filter(|(_, t)| recent(**t)) {
            for b in onsets[i + 1..].iter().filter(|t| recent(**t)) {
                let interval = b - a;
                if interval > 4.0 {
                    continue;
                }
                let k = (interval / period).round();
                if k >= 1.0 {
                    let err = interval - k * period;
                    score += (-(err * err) / (2.0 * sigma * sigma)).exp() / k;
                }
            }
        }
        if score > best.0 {
            best = (score, period);
        }
        period += 0.002;
    }
    if best.0 < 1.5 {
        return 0.0;
    }
    // Refine: the mean of interval / k over the intervals that fit the best period.
    let (mut sum, mut n) = (0.0, 0.0);
    for (i, a) in onsets.iter().enumerate().filter(|(_, t)| recent(**t)) {
        for b in onsets[i + 1..].iter().filter(|t| recent(**t)) {
            let interval = b - a;
            let k = (interval / best.1).round();
            if (1.0..=8.0).contains(&k) && (interval - k * best.1).abs() < 2.0 * sigma {
                sum += interval / k;
                n += 1.0;
            }
        }
    }
    if n == 0.0 {
        0.0
    } else {
        (60.0 / (sum / n)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: u32 = 48_000;

    /// A synthetic kick: a 60 Hz sine dropping from 120 Hz with a fast exponential decay.
    fn kick(i: usize) -> f32 {
        let t = i as f32 / SR as f32;
        let f = 60.0 + 60.0 * (-t * 40.0).exp();
        0.9 * (2.0 * std::f32::consts::PI * f * t).sin() * (-t * 12.0).exp()
    }

    fn run(signal: impl Fn(usize) -> f32, seconds: f32, block: usize) -> (Analyzer, Vec<f64>) {
        let mut a = Analyzer::new(SR);
        let n = (seconds * SR as f32) as usize;
        let mut onsets = Vec::new();
        let mut seen = 0;
        let mut buf = vec![0.0f32; 2 * block];
        let mut start = 0;
        while start < n {
            for (i, f) in buf.chunks_mut(2).enumerate() {
                let x = signal(start + i);
                f[0] = x;
                f[1] = x;
            }
            a.push(&buf, start as i64);
            if a.analysis().onsets != seen {
                seen = a.analysis().onsets;
                onsets.push(a.analysis().last_onset_s);
            }
            start += block;
        }
        (a, onsets)
    }

    #[test]
    fn a_kick_every_500_ms_gives_onsets_at_those_times_and_120_bpm() {
        let every = SR as usize / 2;
        let (a, onsets) = run(|i| kick(i % every), 8.0, 256);
        assert_eq!(onsets.len(), 16, "{onsets:?}");
        for (k, t) in onsets.iter().enumerate() {
            let want = k as f64 * 0.5;
            assert!(
                (t - want).abs() < 0.005,
                "onset {k} at {t:.4} s, wanted {want} s"
            );
        }
        let bpm = a.analysis().bpm;
        assert!((bpm - 120.0).abs() <= 1.0, "bpm {bpm}");
    }

    #[test]
    fn tempo_follows_a_different_pulse() {
        let every = (SR as f32 * 60.0 / 97.0) as usize; // 97 BPM
        let (a, _) = run(|i| kick(i % every), 10.0, 1000);
        let bpm = a.analysis().bpm;
        assert!((bpm - 97.0).abs() <= 1.0, "bpm {bpm}");
    }

    #[test]
    fn a_steady_tone_gives_no_onsets_after_it_starts_and_lights_its_own_band() {
        let (a, onsets) = run(
            |i| 0.5 * (2.0 * std::f32::consts::PI * 1_000.0 * i as f32 / SR as f32).sin(),
            3.0,
            256,
        );
        // At most the tone's own start, and nothing after it.
        assert!(onsets.len() <= 1, "{onsets:?}");
        assert!(
            onsets.iter().all(|t| *t < 0.05),
            "onsets after the first 50 ms of a steady tone: {onsets:?}"
        );
        let bands = a.analysis().bands;
        let loudest = (0..BANDS)
            .max_by(|x, y| bands[*x].total_cmp(&bands[*y]))
            .unwrap();
        let edge = |i: usize| BAND_LO_HZ * (BAND_HI_HZ / BAND_LO_HZ).powf(i as f32 / BANDS as f32);
        assert!(
            edge(loudest) <= 1_000.0 && 1_000.0 < edge(loudest + 1),
            "band {loudest}: {bands:?}"
        );
    }
}
