//! Narrative captions, rendered offscreen (lavapipe) over flat black: text appears where it is
//! placed, fades in and out on its times, and is drawn with the bundled font (the same pixels
//! on every machine: no system fonts are loaded).

mod common;

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::load_timeline;

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

#[test]
fn a_newer_caption_at_the_same_place_replaces_the_older_one_there() {
    let project = temp_project(&[("flat", "flat")]);
    std::fs::copy(
        fixture("shaders/flat.wgsl"),
        project.path().join("shaders/flat.wgsl"),
    )
    .unwrap();
    let write = |name: &str, cues: &str| {
        let p = project.path().join(format!("performances/{name}.toml"));
        std::fs::write(&p, format!("duration = 10\npreset = \"flat\"\n{cues}")).unwrap();
        load_timeline(&p).unwrap()
    };
    let older = "[[cue]]\nat = 1\ncaption = { text = \"The forest wakes\", position = \"top\", fade_s = 0.3, hold_s = 6 }\n";
    let newer = "[[cue]]\nat = 2\ncaption = { text = \"III · The Nexus Breaks\", position = \"top\", fade_s = 0.3, hold_s = 4 }\n";
    let both = write("both", &format!("{older}{newer}"));
    let alone = write("alone", newer);
    let mut fr = FrameRenderer::new(&both, W, H).unwrap();
    fr.set_flash_guard(false);
    let track = AnalysisTrack::default();
    // Once the newer one has faded in, the picture is exactly the newer one alone: nothing of
    // the older text is drawn under it.
    let shown = fr.frame_at(&both, &track, 3.0).unwrap();
    let expected = fr.frame_at(&alone, &track, 3.0).unwrap();
    assert!(text_in(&shown, 0..H).0 > 100, "the newer caption shows");
    let differ = shown.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(
        differ, 0,
        "{differ} bytes differ from the newer caption alone"
    );
    // Before the newer one, the older shows.
    let before = text_in(&fr.frame_at(&both, &track, 1.9).unwrap(), 0..H).0;
    assert!(before > 100, "the older caption shows alone first");
}
