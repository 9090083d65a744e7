//! A crossfade renders both presets and blends them: the frame at the fade's midpoint lies
//! between the two presets' own frames at that moment (their per-pixel mean, within rounding),
//! and is clearly neither of them.

mod common;

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::{load_timeline, preset_timeline};
use somnia::show::project::Project;

fn frame(timeline: &somnia::show::Timeline, t: f64) -> Vec<u8> {
    let mut fr = FrameRenderer::new(timeline, 64, 36).unwrap();
    // A frame that stands for an instant: the fade is evaluated at `t` itself, not at the
    // end of a 1/30 s span.
    fr.set_frame_interval(1e-6);
    fr.frame_at(timeline, &AnalysisTrack::default(), t).unwrap()
}

fn mean_abs_diff(a: &[u8], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - y).abs())
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn the_crossfade_midpoint_lies_between_the_two_presets() {
    let fade = load_timeline(&fixture("performances/crossfade.toml")).unwrap();
    let project = Project::new(fixture(""));
    let warm = frame(&preset_timeline(&project, "warm", 10.0).unwrap(), 2.0);
    let cool = frame(&preset_timeline(&project, "cool", 10.0).unwrap(), 2.0);
    let mid = frame(&fade, 2.0);
    let halfway: Vec<f64> = warm
        .iter()
        .zip(&cool)
        .map(|(a, b)| (f64::from(*a) + f64::from(*b)) / 2.0)
        .collect();
    let as_f64 = |v: &[u8]| v.iter().map(|x| f64::from(*x)).collect::<Vec<f64>>();
    let to_half = mean_abs_diff(&mid, &halfway);
    assert!(
        to_half <= 1.0,
        "midpoint is {to_half:.2}/255 away from the mean of the two presets"
    );
    assert!(
        mean_abs_diff(&mid, &as_f64(&warm)) > 20.0,
        "the midpoint looks like the old preset alone"
    );
    assert!(
        mean_abs_diff(&mid, &as_f64(&cool)) > 20.0,
        "the midpoint looks like the new preset alone"
    );
    // Before the fade only the old preset shows; after it, only the new one.
    assert!(
        mean_abs_diff(
            &frame(&fade, 0.9),
            &as_f64(&frame(
                &preset_timeline(&project, "warm", 10.0).unwrap(),
                0.9
            ))
        ) < 0.5
    );
    assert!(
        mean_abs_diff(
            &frame(&fade, 3.1),
            &as_f64(&frame(
                &preset_timeline(&project, "cool", 10.0).unwrap(),
                3.1
            ))
        ) < 0.5
    );
}
