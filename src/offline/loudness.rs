//! Loudness for the channel (`somnia render --loudness LUFS`): the whole render brought to a
//! loudness target under the true-peak ceiling, in two passes over its WAV. The first measures
//! EBU R128 integrated loudness and true peak (the ebur128 crate, a port of libebur128, the
//! library broadcast and streaming tools measure with); the second multiplies every sample by one
//! gain, the target's distance from what was measured, less whatever would take the true peak
//! over the ceiling. One gain, no compression: the performance's dynamics stay as composed, and
//! the same render always gives the same bytes.

use std::path::{Path, PathBuf};

use ebur128::{EbuR128, Mode};

/// Why a render could not be normalised (its WAV stays as rendered).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoudnessError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot measure {path}: {reason}")]
    Measure { path: PathBuf, reason: String },
    /// Nothing but silence (or too short to gate): there is no loudness to move.
    #[error("{path} is silent: there is no loudness to bring to the target")]
    Silent { path: PathBuf },
}

/// What normalising did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalised {
    /// Integrated loudness as rendered, LUFS.
    pub measured_lufs: f64,
    /// The highest true peak of any channel as rendered, dBTP.
    pub true_peak_dbtp: f64,
    /// The gain applied, dB.
    pub gain_db: f64,
    /// The integrated loudness now, LUFS (below the target when the ceiling held it back).
    pub result_lufs: f64,
    /// The ceiling, not the target, set the gain.
    pub held_by_ceiling: bool,
}

/// The gain that brings `measured_lufs` to `target_lufs` without taking `true_peak_dbtp` over
/// `ceiling_dbtp`.
pub fn gain_db(
    measured_lufs: f64,
    true_peak_dbtp: f64,
    target_lufs: f64,
    ceiling_dbtp: f64,
) -> (f64, bool) {
    let wanted = target_lufs - measured_lufs;
    let room = ceiling_dbtp - true_peak_dbtp;
    if wanted > room {
        (room, true)
    } else {
        (wanted, false)
    }
}

/// Integrated loudness (LUFS) and the highest true peak (dBTP) of interleaved `samples`.
pub fn measure(samples: &[f32], channels: u32, rate_hz: u32) -> Result<(f64, f64), String> {
    let mut meter =
        EbuR128::new(channels, rate_hz, Mode::I | Mode::TRUE_PEAK).map_err(|e| e.to_string())?;
    meter.add_frames_f32(samples).map_err(|e| e.to_string())?;
    let lufs = meter.loudness_global().map_err(|e| e.to_string())?;
    let mut peak = 0.0f64;
    for c in 0..channels {
        peak = peak.max(meter.true_peak(c).map_err(|e| e.to_string())?);
    }
    Ok((lufs, 20.0 * peak.max(1e-12).log10()))
}

/// Brings the WAV at `path` (32-bit float, as `render` writes it) to `target_lufs` under
/// `ceiling_dbtp`, rewriting it whole (a new file renamed over the old).
pub fn normalise_wav(
    path: &Path,
    target_lufs: f64,
    ceiling_dbtp: f64,
) -> Result<Normalised, LoudnessError> {
    let read_err = |reason: String| LoudnessError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = hound::WavReader::open(path).map_err(|e| read_err(e.to_string()))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Float {
        return Err(read_err("not a 32-bit float WAV".into()));
    }
    let samples: Vec<f32> = reader
        .samples::<f32>()
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(e.to_string()))?;
    let (measured_lufs, true_peak_dbtp) =
        measure(&samples, u32::from(spec.channels), spec.sample_rate).map_err(|reason| {
            LoudnessError::Measure {
                path: path.to_path_buf(),
                reason,
            }
        })?;
    if !measured_lufs.is_finite() {
        return Err(LoudnessError::Silent {
            path: path.to_path_buf(),
        });
    }
    let (gain_db, held_by_ceiling) =
        gain_db(measured_lufs, true_peak_dbtp, target_lufs, ceiling_dbtp);
    let gain = 10f64.powf(gain_db / 20.0) as f32;
    let write_err = |reason: String| LoudnessError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let partial = path.with_extension("wav.partial");
    let mut writer =
        hound::WavWriter::create(&partial, spec).map_err(|e| write_err(e.to_string()))?;
    for s in &samples {
        writer
            .write_sample(s * gain)
            .map_err(|e| write_err(e.to_string()))?;
    }
    writer.finalize().map_err(|e| write_err(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(|e| write_err(e.to_string()))?;
    Ok(Normalised {
        measured_lufs,
        true_peak_dbtp,
        gain_db,
        result_lufs: measured_lufs + gain_db,
        held_by_ceiling,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gain_reaches_the_target_unless_the_ceiling_is_nearer() {
        // -20 LUFS with peaks at -6 dBTP: to -14 is +6 dB, and the peak lands at 0, over -1.
        assert_eq!(gain_db(-20.0, -6.0, -14.0, -1.0), (5.0, true));
        // To -23 is -3 dB: the ceiling is no matter.
        assert_eq!(gain_db(-20.0, -6.0, -23.0, -1.0), (-3.0, false));
    }

    #[test]
    fn a_full_scale_sine_reads_as_bs_1770_says_on_one_channel_and_on_two() {
        // ITU-R BS.1770: a 1 kHz sine at 0 dBFS reads -3.01 LUFS on one channel; the same on
        // both channels of a stereo pair adds 3 dB, 0 LUFS. Its true peak is 0 dBTP.
        let rate = 48_000;
        let sine = |i: u32| {
            (2.0 * std::f64::consts::PI * 1000.0 * f64::from(i) / f64::from(rate)).sin() as f32
        };
        let one: Vec<f32> = (0..rate * 5).flat_map(|i| [sine(i), 0.0]).collect();
        let both: Vec<f32> = (0..rate * 5).flat_map(|i| [sine(i), sine(i)]).collect();
        let (lufs_one, peak) = measure(&one, 2, rate).unwrap();
        let (lufs_both, _) = measure(&both, 2, rate).unwrap();
        assert!((lufs_one + 3.01).abs() < 0.05, "{lufs_one}");
        assert!(lufs_both.abs() < 0.05, "{lufs_both}");
        assert!(peak.abs() < 0.2, "{peak}");
    }
}
