//! The photosensitive flash guard against a deliberate 10 Hz full-screen strobe, rendered
//! offscreen at 60 fps for 3 s.
//!
//! Flash definition (after WCAG 2.3.1's general flash threshold): per frame, the mean relative
//! luminance L (sRGB linearised, Rec. 709 weights). A transition is a change of L by at least
//! 0.1 from the last turning point, in the opposite direction to the previous transition. A
//! flash is a pair of opposing transitions whose darker state is below 0.8. WCAG allows at most
//! three flashes in any one second.

mod common;

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::preset_timeline;
use somnia::show::project::Project;

const FPS: f64 = 60.0;

fn relative_luminance(rgba: &[u8]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let n = rgba.len() / 4;
    rgba.chunks(4)
        .map(|p| 0.2126 * lin(p[0]) + 0.7152 * lin(p[1]) + 0.0722 * lin(p[2]))
        .sum::<f64>()
        / n as f64
}

/// Frame indices at which each flash completes.
fn flashes(lum: &[f64]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut turning = lum[0];
    let mut last_dir = 0i8;
    let mut pending: Option<f64> = None; // the darker level of a first transition
    for (i, &l) in lum.iter().enumerate() {
        let d = l - turning;
        let dir = if d >= 0.1 {
            1
        } else if d <= -0.1 {
            -1
        } else {
            0
        };
        if dir != 0 && dir != last_dir {
            let darker = turning.min(l);
            match pending {
                Some(dark) if dark.min(darker) < 0.8 => {
                    out.push(i);
                    pending = None;
                }
                _ => pending = Some(darker),
            }
            last_dir = dir;
            turning = l;
        } else if (dir == last_dir && dir != 0)
            || (last_dir == 1 && l > turning)
            || (last_dir == -1 && l < turning)
        {
            turning = l; // keep following the extreme in the current direction
        }
    }
    out
}

fn most_in_any_second(flash_frames: &[usize]) -> usize {
    let window = FPS as usize;
    flash_frames
        .iter()
        .map(|&start| {
            flash_frames
                .iter()
                .filter(|&&f| f >= start && f < start + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn strobe_luminance(guard: bool) -> Vec<f64> {
    strobe_luminance_with(guard, true)
}

/// `in_place`: the guard works on the finished frame (offscreen, most windows); otherwise it
/// draws its own full pass (windows whose surface cannot be sampled).
fn strobe_luminance_with(guard: bool, in_place: bool) -> Vec<f64> {
    let timeline = preset_timeline(&Project::new(fixture("")), "strobe", 10.0).unwrap();
    let mut fr = FrameRenderer::new(&timeline, 64, 36).unwrap();
    fr.set_frame_interval((1.0 / FPS) as f32);
    fr.set_flash_guard(guard);
    fr.set_guard_in_place(in_place);
    let track = AnalysisTrack::default();
    (0..(3.0 * FPS) as usize)
        .map(|i| relative_luminance(&fr.frame_at(&timeline, &track, i as f64 / FPS).unwrap()))
        .collect()
}

#[test]
fn without_the_guard_the_strobe_flashes_ten_times_a_second() {
    // Proves the measurement: the raw strobe must count as the hazard it is.
    let raw = most_in_any_second(&flashes(&strobe_luminance(false)));
    assert!(
        raw >= 9,
        "the raw 10 Hz strobe counted only {raw} flashes in a second"
    );
}

/// The guarded strobe: at most 3 flashes in any second, and still a picture: it still changes
/// (a frozen or black picture would pass the count) and keeps most of its light.
fn assert_guarded(lum: &[f64]) {
    let guarded = most_in_any_second(&flashes(lum));
    assert!(
        guarded <= 3,
        "{guarded} flashes in one second with the guard on; luminance: {:?}",
        &lum[..30]
    );
    let raw = strobe_luminance(false);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let span =
        lum.iter().copied().fold(f64::MIN, f64::max) - lum.iter().copied().fold(f64::MAX, f64::min);
    assert!(
        guarded >= 1,
        "the guard let nothing through: {:?}",
        &lum[..30]
    );
    assert!(span >= 0.1, "the guarded picture froze: it moved by {span}");
    assert!(
        mean(lum) > 0.5 * mean(&raw),
        "the guard darkened the picture: mean {} against {} unguarded",
        mean(lum),
        mean(&raw)
    );
}

#[test]
fn the_flash_guard_keeps_a_10_hz_strobe_to_at_most_3_flashes_a_second() {
    assert_guarded(&strobe_luminance(true));
}

#[test]
fn the_guards_own_pass_for_unsampleable_surfaces_also_keeps_the_strobe_to_3_flashes() {
    assert_guarded(&strobe_luminance_with(true, false));
}

#[test]
fn a_steady_picture_passes_the_guard_untouched() {
    // The guard must not dim or tint what is not flashing: the in-place hold draws nothing.
    let timeline = preset_timeline(&Project::new(fixture("")), "warm", 10.0).unwrap();
    let frames = |guard: bool| {
        let mut fr = FrameRenderer::new(&timeline, 64, 36).unwrap();
        fr.set_flash_guard(guard);
        let track = AnalysisTrack::default();
        (0..20)
            .map(|i| fr.frame_at(&timeline, &track, i as f64 / 30.0).unwrap())
            .collect::<Vec<_>>()
    };
    let guarded = frames(true);
    // Warm is drawn (a red picture, not two black ones), and the guard leaves it as it is.
    assert!(
        guarded[0].chunks(4).all(|p| p[0] > 100 && p[0] > p[2] + 50),
        "the warm look is drawn"
    );
    assert!(guarded == frames(false));
}
