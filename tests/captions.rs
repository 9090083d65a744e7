//! Narrative captions, rendered offscreen (lavapipe) over flat black: text appears where it is
//! placed, fades in and out on its times, and is drawn with the bundled font (the same pixels
//! on every machine: no system fonts are loaded).

mod common;

use common::*;
use somnia::audio::offline::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::timeline::load_timeline;

const W: u32 = 320;
const H: u32 = 180;

/// (lit pixels, brightest value) in rows `rows`.
fn text_in(frame: &[u8], rows: std::ops::Range<u32>) -> (usize, u8) {
    let px: Vec<u8> = frame
        .chunks(4)
        .enumerate()
        .filter(|(i, _)| rows.contains(&(*i as u32 / W)))
        .map(|(_, p)| p[0].max(p[1]).max(p[2]))
        .collect();
    (
        px.iter().filter(|v| **v > 40).count(),
        px.into_iter().max().unwrap_or(0),
    )
}

#[test]
fn captions_appear_in_place_and_fade_on_their_times() {
    let timeline = load_timeline(&fixture("performances/captions.toml")).unwrap();
    let mut fr = FrameRenderer::new(&timeline, W, H).unwrap();
    fr.set_flash_guard(false);
    let track = AnalysisTrack::default();
    let mut at = |t: f64| fr.frame_at(&timeline, &track, t).unwrap();
    let bottom = (H / 2)..H;
    let top = 0..(H / 2);

    assert_eq!(
        text_in(&at(0.9), 0..H).0,
        0,
        "nothing before the first caption"
    );
    let (half_n, half_max) = text_in(&at(1.5), bottom.clone());
    let (full_n, full_max) = text_in(&at(2.5), bottom.clone());
    assert!(
        full_n > 200,
        "the bottom caption is written: {full_n} pixels"
    );
    assert!(full_max > 240, "in white: {full_max}");
    assert!(
        half_max < full_max - 60 && half_n > 0,
        "half way through its fade-in it is dimmer: {half_max} vs {full_max}"
    );
    assert_eq!(
        text_in(&at(1.5), top.clone()).0,
        0,
        "the top one has not started"
    );
    assert!(text_in(&at(2.5), top.clone()).0 > 100, "the top caption");
    assert_eq!(text_in(&at(5.0), 0..H).0, 0, "both have faded out by 5 s");
}
