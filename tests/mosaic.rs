//! The dream mosaic, rendered offscreen (lavapipe) from fixture performances whose dreamers
//! are flat colours, so every expected pixel can be worked out by hand:
//! - at unity 0 each of eight dreamers fills a tile of its own (3 x 3, keeping the shape);
//! - at unity 1 they merge, each by its blend mode and opacity;
//! - a withdrawn dreamer fades out smoothly, leaving the others as they were.

mod common;

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::load_timeline;

const W: u32 = 128;
const H: u32 = 72;

fn frames(perf: &str, times: &[f64]) -> Vec<Vec<u8>> {
    let timeline = load_timeline(&fixture(perf)).unwrap();
    let mut fr = FrameRenderer::new(&timeline, W, H).unwrap();
    let track = AnalysisTrack::default();
    times
        .iter()
        .map(|t| fr.frame_at(&timeline, &track, *t).unwrap())
        .collect()
}

fn pixel(frame: &[u8], x: u32, y: u32) -> [u8; 3] {
    let i = ((y * W + x) * 4) as usize;
    [frame[i], frame[i + 1], frame[i + 2]]
}

fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

#[test]
fn at_unity_0_each_of_eight_dreamers_has_a_tile_of_its_own() {
    let f = &frames("performances/mosaic8.toml", &[1.0])[0];
    let expected = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 0],
        [0, 255, 255],
        [255, 0, 255],
        [128, 128, 128],
        [255, 128, 0],
    ];
    // Tiles keep the picture's shape: 3 x 3 tiles of 42.7 x 24 pixels, the last one empty
    // (it shows the black base). The centre of each tile:
    let centre = |i: u32| {
        (
            (128.0 * (i % 3) as f32 + 64.0) as u32 / 3,
            24 * (i / 3) + 12,
        )
    };
    for (i, want) in expected.iter().enumerate() {
        let (x, y) = centre(i as u32);
        let got = pixel(f, x, y);
        assert!(
            close(got, *want, 2),
            "dreamer {}: {got:?}, expected {want:?}",
            i + 1
        );
    }
    let (x, y) = centre(8);
    assert_eq!(pixel(f, x, y), [0, 0, 0], "the empty tile");
    // A dark seam separates neighbouring tiles.
    let seam = pixel(f, 43, 12);
    assert!(seam.iter().all(|c| *c < 100), "seam {seam:?}");
}

#[test]
fn at_unity_1_the_dreamers_merge_by_blend_mode_and_opacity() {
    // add red, screen green, blue crossfaded at 0.5, multiply by grey 0.5: 0.25 everywhere.
    let f = &frames("performances/mosaic-blend.toml", &[1.0])[0];
    for (x, y) in [(3, 3), (64, 36), (120, 70)] {
        let got = pixel(f, x, y);
        assert!(close(got, [64, 64, 64], 2), "at ({x},{y}): {got:?}");
    }
    // In the eight-dreamer performance, unity 1 adds nothing but crossfades: the last
    // dreamer (orange) covers the rest.
    let f = &frames("performances/mosaic8.toml", &[3.0])[0];
    assert!(
        close(pixel(f, 21, 12), [255, 128, 0], 2),
        "{:?}",
        pixel(f, 21, 12)
    );
}

#[test]
fn a_withdrawn_dreamer_fades_out_smoothly() {
    // Dreamer 4 (multiply by 0.5) withdraws at 3 s over 2 s: 64 -> 128, on an S-curve.
    let times: Vec<f64> = (0..=20).map(|i| 2.9 + i as f64 * 0.12).collect();
    let levels: Vec<u8> = frames("performances/mosaic-blend.toml", &times)
        .iter()
        .map(|f| pixel(f, 64, 36)[0])
        .collect();
    assert!(levels.windows(2).all(|w| w[1] >= w[0]), "{levels:?}");
    assert!(
        levels[0].abs_diff(64) <= 2 && levels[20].abs_diff(128) <= 2,
        "{levels:?}"
    );
    let steps: Vec<u8> = levels.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        steps.iter().all(|s| *s <= 12),
        "no jump larger than 12/255 between frames 0.12 s apart: {levels:?}"
    );
    let mid = frames("performances/mosaic-blend.toml", &[4.0]);
    assert!(pixel(&mid[0], 64, 36)[0].abs_diff(96) <= 2, "half way: 96");
}
