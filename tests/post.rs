//! The post chain, rendered offscreen (lavapipe) from fixture performances:
//! - the colour grade does what its settings say to a known flat colour;
//! - trails fade to a tenth over `trails_s`;
//! - the glitch tears, splits and displaces still bars, more as its intensity rises, and does
//!   the same thing every time at the same moment (offline renders stay reproducible);
//! - glow spills light from bright bars into the dark ones beside them.

mod common;

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::load_timeline;

const W: u32 = 128;
const H: u32 = 72;

/// Frames at `times`, rendered in order by one renderer (trails and smear carry over from
/// frame to frame), each standing for `interval_s` (what trails fade by). The flash guard is
/// off: these frames are far apart in time and would read as flashes.
fn frames_every(perf: &str, times: &[f64], interval_s: f32) -> Vec<Vec<u8>> {
    let timeline = load_timeline(&fixture(perf)).unwrap();
    let mut fr = FrameRenderer::new(&timeline, W, H).unwrap();
    fr.set_flash_guard(false);
    fr.set_frame_interval(interval_s);
    let track = AnalysisTrack::default();
    times
        .iter()
        .map(|t| fr.frame_at(&timeline, &track, *t).unwrap())
        .collect()
}

/// Frames that each stand for an instant: the state at exactly each time.
fn frames(perf: &str, times: &[f64]) -> Vec<Vec<u8>> {
    frames_every(perf, times, 1e-6)
}

fn centre(frame: &[u8]) -> [f64; 3] {
    let i = (((H / 2) * W + W / 2) * 4) as usize;
    [0, 1, 2].map(|c| f64::from(frame[i + c]) / 255.0)
}

fn assert_rgb(got: [f64; 3], want: [f64; 3], what: &str) {
    let ok = got
        .iter()
        .zip(want)
        .all(|(g, w)| (g - w).abs() <= 2.5 / 255.0);
    assert!(ok, "{what}: {got:?}, expected {want:?}");
}

#[test]
fn the_grade_sets_exposure_saturation_hue_and_contrast() {
    let f = frames("performances/post.toml", &[0.5, 1.5, 2.5, 3.5, 4.5]);
    assert_rgb(centre(&f[0]), [0.5, 0.25, 0.1], "ungraded");
    assert_rgb(centre(&f[1]), [1.0, 0.5, 0.2], "+1 stop");
    let luma = 0.2126 * 0.5 + 0.7152 * 0.25 + 0.0722 * 0.1;
    assert_rgb(centre(&f[2]), [luma; 3], "saturation 0");
    assert_rgb(centre(&f[3]), [0.1, 0.5, 0.25], "a third of a turn of hue");
    assert_rgb(centre(&f[4]), [0.5, 0.0, 0.0], "contrast 2 about mid grey");
}

#[test]
fn trails_fade_to_a_tenth_over_trails_s() {
    // Frames every 1/30 s from 5 s (white, trails 2 s); black from 6 s.
    let times: Vec<f64> = (0..=120).map(|i| 5.0 + i as f64 / 30.0).collect();
    let f = frames_every("performances/post.toml", &times, 1.0 / 30.0);
    let level = |t: f64| centre(&f[((t - 5.0) * 30.0).round() as usize])[0];
    assert!(level(5.9) > 0.99);
    let after_1s = level(7.0);
    let after_2s = level(8.0);
    assert!(
        (after_1s - 0.1f64.sqrt()).abs() < 0.03,
        "1 s after: {after_1s}, expected about {:.3}",
        0.1f64.sqrt()
    );
    assert!((after_2s - 0.1).abs() < 0.03, "2 s after: {after_2s}");
}

#[test]
fn trails_that_start_again_after_a_stretch_without_them_start_from_black() {
    // White with trails, a second of black without trails (the post pass writes the picture
    // alone then, keeping no history), then trails again over black: nothing of the white
    // may come back.
    let times: Vec<f64> = (0..=75).map(|i| i as f64 / 30.0).collect();
    let f = frames_every("performances/trails-pause.toml", &times, 1.0 / 30.0);
    let level = |t: f64| centre(&f[(t * 30.0).round() as usize])[0];
    assert!(level(0.9) > 0.99, "the white with trails: {}", level(0.9));
    assert!(
        level(1.5) < 0.01,
        "the black without trails: {}",
        level(1.5)
    );
    for t in [2.0, 2.1, 2.5] {
        assert!(level(t) < 0.01, "trails again at {t} s show {}", level(t));
    }
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

/// Pixels whose red and blue differ: the bars are grey, so only an RGB split makes these.
fn split_pixels(frame: &[u8]) -> usize {
    frame.chunks(4).filter(|p| p[0].abs_diff(p[2]) > 40).count()
}

#[test]
fn the_glitch_grows_with_its_intensity_and_repeats_exactly() {
    let f = frames("performances/glitch.toml", &[0.5, 1.5, 2.5]);
    let (clean, light, full) = (&f[0], &f[1], &f[2]);
    assert_eq!(split_pixels(clean), 0);
    let (d_light, d_full) = (mean_abs_diff(clean, light), mean_abs_diff(clean, full));
    assert!(d_light > 1.0, "glitch 0.3 changed too little: {d_light}");
    assert!(
        d_full > 2.0 * d_light,
        "glitch 1.0 ({d_full}) vs 0.3 ({d_light})"
    );
    assert!(split_pixels(light) > 0 && split_pixels(full) > split_pixels(light));
    // Rendered again from the start, the same frames: the glitch is a function of time.
    assert!(frames("performances/glitch.toml", &[0.5, 1.5, 2.5]) == f);
    // And it moves: a tenth of a second later the pattern differs.
    let later = frames("performances/glitch.toml", &[2.5, 2.6]);
    assert!(mean_abs_diff(&later[1], &later[0]) > 1.0);
}

#[test]
fn glow_spills_light_into_the_dark_beside_bright_bars() {
    let f = frames("performances/glitch.toml", &[0.5, 3.5]);
    // Column 17 is in the first black bar (16..32), one pixel from the white one.
    let at = |frame: &[u8], x: u32| f64::from(frame[(((H / 2) * W + x) * 4) as usize]);
    assert_eq!(at(&f[0], 17), 0.0);
    assert!(
        at(&f[1], 17) > 20.0,
        "glow next to the bar: {}",
        at(&f[1], 17)
    );
    assert!(
        at(&f[1], 17) > at(&f[1], 24),
        "glow falls off with distance"
    );
}
