//! The rehearsal overlay, offscreen: errors are drawn as text (glyphon, the bundled font) in a
//! corner of the picture, and nowhere else; with no errors the picture is untouched.

mod common;

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::preset_timeline;
use somnia::show::project::Project;

const W: u32 = 480;
const H: u32 = 270;

/// Pixels in the overlay's colour (a light red) within the given rows.
fn text_pixels(frame: &[u8], rows: std::ops::Range<u32>) -> usize {
    frame
        .chunks(4)
        .enumerate()
        .filter(|(i, p)| rows.contains(&(*i as u32 / W)) && p[0] > 150 && p[0] > p[1] + 60)
        .count()
}

#[test]
fn errors_show_as_text_in_the_corner_only_while_there_are_errors() {
    let timeline = preset_timeline(&Project::new(fixture("")), "flat", 10.0).unwrap();
    let mut fr = FrameRenderer::new(&timeline, W, H).unwrap();
    let track = AnalysisTrack::default();
    let clean = fr.frame_at(&timeline, &track, 1.0).unwrap();
    assert!(clean.chunks(4).all(|p| p[..3] == [0, 0, 0]), "flat black");
    fr.show_errors(vec![
        "shaders/flat.wgsl:3:5: expected `;`, found `}` (keeping the last good look)".into(),
    ]);
    let with = fr.frame_at(&timeline, &track, 1.0).unwrap();
    let text = text_pixels(&with, 0..40);
    assert!(text > 100, "only {text} text pixels at the top");
    assert_eq!(text_pixels(&with, 40..H), 0, "one line of text, at the top");
    // In the corner: it starts at the left edge.
    let leftmost = with
        .chunks(4)
        .enumerate()
        .filter(|(_, p)| p[0] > 150 && p[0] > p[1] + 60)
        .map(|(i, _)| i as u32 % W)
        .min()
        .unwrap();
    assert!(leftmost < W / 10, "the text starts at column {leftmost}");
    fr.show_errors(Vec::new());
    assert!(fr.frame_at(&timeline, &track, 1.0).unwrap() == clean);
}
