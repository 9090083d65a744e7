//! Output maps rendered offscreen on lavapipe: every output's picture as its projector would
//! show it, measured. Goldens for a three-projector blend and a rotated slice (tolerance as
//! tests/golden.rs: mean difference at most 2/255 per channel and at most 1 % of pixels off by
//! more than 24/255; `SOMNIA_BLESS=1 cargo test --test outputs` to accept a change), a white
//! wall through a blend measured in light, and a warped output un-warped against its
//! neighbour.

mod common;

use std::path::Path;

use common::*;
use somnia::bridge::{Analysis, AnalysisTrack, OutputAdjust, OutputChange};
use somnia::render::capture::MappedFrames;
use somnia::render::mapping::geometry::Homography;
use somnia::show::compile::preset_timeline;
use somnia::show::outputs::{OutputMap, parse_outputs};
use somnia::show::project::Project;

fn track() -> AnalysisTrack {
    AnalysisTrack {
        sample_rate_hz: 48_000,
        block_frames: 48_000 * 60,
        blocks: vec![Analysis {
            rms: 0.2,
            bands: [0.5; 8],
            bpm: 120.0,
            ..Default::default()
        }],
        shapes: Vec::new(),
    }
}

fn map(src: &str) -> OutputMap {
    parse_outputs(Path::new("test-outputs.toml"), src).unwrap_or_else(|d| panic!("{d:#?}"))
}

/// Every output's frame of preset `name` (of `project`) at 2.5 s.
fn frames(project: &Project, name: &str, map: &OutputMap) -> Vec<Vec<u8>> {
    let timeline = preset_timeline(project, name, 10.0).unwrap();
    let mut f = MappedFrames::new(&timeline, map, true).unwrap();
    f.frames_at(&timeline, &track(), 2.5).unwrap()
}

fn matches_golden(name: &str, size: (u32, u32), rgba: &[u8]) -> Result<(), String> {
    let path = repo().join(format!("tests/golden/outputs/{name}.png"));
    if std::env::var("SOMNIA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        somnia::render::offscreen::write_png(&path, size.0, size.1, rgba).unwrap();
        return Ok(());
    }
    let want = read_png(&path);
    assert_eq!((want.width, want.height), size, "{name}");
    let n = (size.0 * size.1) as usize;
    let (mut sum, mut far) = (0.0f64, 0usize);
    for i in 0..n {
        let mut worst = 0u8;
        for c in 0..3 {
            let d = rgba[4 * i + c].abs_diff(want.rgb[3 * i + c]);
            sum += f64::from(d);
            worst = worst.max(d);
        }
        far += usize::from(worst > 24);
    }
    let mean = sum / (3 * n) as f64;
    if mean <= 2.0 && far * 100 <= n {
        Ok(())
    } else {
        Err(format!(
            "{name}: mean difference {mean:.2}/255, {far} of {n} pixels off by more than 24/255"
        ))
    }
}

const THREE: &str = r#"canvas = [416, 90]
[[output]]
name = "left"
virtual = {}
size = [160, 90]
[[output.slice]]
crop = [0, 0, 160, 90]
[output.blend]
right = { width_px = 32 }
black_lift = 0.03
[[output]]
name = "middle"
virtual = {}
size = [160, 90]
[[output.slice]]
crop = [128, 0, 160, 90]
[output.warp]
corners = [[6, 3], [158, 0], [160, 90], [0, 86]]
[output.blend]
left = { width_px = 32 }
right = { width_px = 32 }
black_lift = 0.03
[[output]]
name = "right"
virtual = {}
size = [160, 90]
[[output.slice]]
crop = [256, 0, 160, 90]
[output.blend]
left = { width_px = 32 }
black_lift = 0.03
[[output.mask]]
mode = "subtract"
points = [[120, 90], [160, 50], [160, 90]]
feather_px = 3
"#;

#[test]
fn three_blended_projectors_match_their_goldens() {
    let m = map(THREE);
    let got = frames(&Project::new(repo()), "aurora", &m);
    let failures: Vec<String> = m
        .outputs
        .iter()
        .zip(&got)
        .filter_map(|(o, rgba)| matches_golden(&format!("three-{}", o.name), o.size, rgba).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_rotated_slice_matches_its_golden_and_turns_the_canvas_clockwise() {
    let m = map(
        "canvas = [160, 90]\n[[output]]\nname = \"strip\"\nvirtual = {}\nsize = [90, 160]\n[[output.slice]]\ncrop = [0, 0, 160, 90]\nrotate = 90\n",
    );
    let dir = temp_project(&[("bars", "bars")]);
    std::fs::copy(
        fixture("shaders/bars.wgsl"),
        dir.path().join("shaders/bars.wgsl"),
    )
    .unwrap();
    let got = frames(&Project::new(dir.path()), "bars", &m);
    matches_golden("rotated-strip", (90, 160), &got[0]).unwrap();
    // The canvas's eight bars run left to right, white first; turned clockwise they run top to
    // bottom down the strip, white first.
    let px = |x: usize, y: usize| got[0][4 * (y * 90 + x)];
    assert!(px(45, 10) > 200, "the first bar is white at the top");
    assert!(px(45, 30) < 50, "the second is black below it");
    assert!(px(45, 150) < 50, "the eighth is black at the bottom");
}

/// A project with a preset of one flat colour.
fn flat_project(rgb: f32) -> tempfile::TempDir {
    let dir = temp_project(&[]);
    std::fs::copy(
        fixture("shaders/flat.wgsl"),
        dir.path().join("shaders/flat.wgsl"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("presets/flat.toml"),
        format!(
            "[layer]\nshader = \"flat.wgsl\"\n[layer.params]\nr = {{ default = {rgb} }}\ng = {{ default = {rgb} }}\nb = {{ default = {rgb} }}\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn a_white_wall_through_two_blended_projectors_sums_to_one_in_light_across_the_overlap() {
    let m = map(
        "canvas = [288, 40]\n[[output]]\nname = \"a\"\nvirtual = {}\nsize = [160, 40]\n[[output.slice]]\ncrop = [0, 0, 160, 40]\n[output.blend]\nright = { width_px = 32, power = 2 }\ngamma = 2.2\n[[output]]\nname = \"b\"\nvirtual = {}\nsize = [160, 40]\n[[output.slice]]\ncrop = [128, 0, 160, 40]\n[output.blend]\nleft = { width_px = 32, power = 2 }\ngamma = 2.2\n",
    );
    let dir = flat_project(1.0);
    let got = frames(&Project::new(dir.path()), "flat", &m);
    let value = |o: usize, x: usize| f64::from(got[o][4 * (20 * 160 + x)]) / 255.0;
    let mut worst: f64 = 0.0;
    for x in 0..32 {
        // Canvas column 128 + x is a's column 128 + x and b's column x.
        let light = value(0, 128 + x).powf(2.2) + value(1, x).powf(2.2);
        let seen = light.powf(1.0 / 2.2);
        worst = worst.max((seen - 1.0).abs());
    }
    report(
        "outputs",
        &format!(
            "two blended projectors, white: the overlap is off by {:.2}/255 at most",
            worst * 255.0
        ),
    );
    assert!(worst <= 2.0 / 255.0, "off by {:.2}/255", worst * 255.0);
    // Outside the overlap each projector is full white; at the far edge of its ramp, dark.
    assert_eq!(value(0, 10), 1.0);
    assert!(value(0, 159) < 0.1 && value(1, 0) < 0.1);
}

#[test]
fn the_overlap_of_a_warped_output_unwarped_matches_its_neighbours() {
    let corners = [[9.0, 4.0], [160.0, 0.0], [152.0, 90.0], [0.0, 84.0]];
    let m = map(&format!(
        "canvas = [256, 90]\n[[output]]\nname = \"a\"\nvirtual = {{}}\nsize = [160, 90]\n[[output.slice]]\ncrop = [0, 0, 160, 90]\n[output.warp]\ncorners = {corners:?}\n[[output]]\nname = \"b\"\nvirtual = {{}}\nsize = [160, 90]\n[[output.slice]]\ncrop = [96, 0, 160, 90]\n"
    ));
    let got = frames(&Project::new(repo()), "aurora", &m);
    let h = Homography::unit_square_to(&corners.map(|p| [p[0] / 160.0, p[1] / 90.0])).unwrap();
    let sample = |img: &[u8], x: f64, y: f64, c: usize| -> f64 {
        // Bilinear, in output pixels (centres at .5).
        let (x, y) = (x - 0.5, y - 0.5);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let p = |x: usize, y: usize| f64::from(img[4 * (y.min(89) * 160 + x.min(159)) + c]);
        p(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + p(x0 + 1, y0) * fx * (1.0 - fy)
            + p(x0, y0 + 1) * (1.0 - fx) * fy
            + p(x0 + 1, y0 + 1) * fx * fy
    };
    let (mut sum, mut n) = (0.0, 0);
    // Canvas columns 100..156 lie in both; stay a few pixels in from the edges.
    for cy in 4..86 {
        for cx in 100..156 {
            let (u, v) = ((cx as f64 + 0.5) / 160.0, (cy as f64 + 0.5) / 90.0);
            let q = h.apply([u, v]);
            for c in 0..3 {
                let a = sample(&got[0], q[0] * 160.0, q[1] * 90.0, c);
                let b = f64::from(got[1][4 * (cy * 160 + (cx - 96)) + c]);
                sum += (a - b).abs();
                n += 1;
            }
        }
    }
    let mean = sum / f64::from(n);
    report(
        "outputs",
        &format!("a warped output un-warped against its neighbour: mean difference {mean:.2}/255"),
    );
    assert!(mean <= 3.0, "mean difference {mean:.2}/255");
}

#[test]
fn the_test_card_shows_each_outputs_name_through_its_mapping_and_a_live_corner_moves_it() {
    let m = map(
        "canvas = [320, 180]\n[[output]]\nname = \"a\"\nvirtual = {}\nsize = [320, 180]\n[[output.slice]]\ncrop = [0, 0, 320, 180]\n",
    );
    let dir = flat_project(0.0);
    let timeline = preset_timeline(&Project::new(dir.path()), "flat", 10.0).unwrap();
    let mut f = MappedFrames::new(&timeline, &m, true).unwrap();
    let black = f.frames_at(&timeline, &track(), 1.0).unwrap().remove(0);
    assert!(black.chunks(4).all(|p| p[0] == 0), "the show is black");
    let (gpu, stage) = f.stage_mut();
    let on = |change| OutputAdjust {
        output: None,
        change,
    };
    stage
        .adjust(gpu, &on(OutputChange::TestCard(true)))
        .unwrap();
    let card = f.frames_at(&timeline, &track(), 1.1).unwrap().remove(0);
    let lit = card.chunks(4).filter(|p| p[0] > 200).count();
    assert!(
        lit > 1000,
        "the card's grid, circles and name are drawn: {lit} bright pixels"
    );
    // The card's top-left grid corner is bright; moved in, the corner shows black beyond it.
    assert!(
        card[0] > 200 || card[4 * 321] > 200,
        "the card's border at the corner"
    );
    let (gpu, stage) = f.stage_mut();
    stage
        .adjust(
            gpu,
            &on(OutputChange::Corner {
                corner: 0,
                x_px: 40.0,
                y_px: 30.0,
            }),
        )
        .unwrap();
    let moved = f.frames_at(&timeline, &track(), 1.2).unwrap().remove(0);
    assert_eq!(
        &moved[4 * (10 * 320 + 10)..][..3],
        &[0, 0, 0],
        "outside the warped card: black"
    );
    assert!(
        stage_refuses_a_crossed_quad(&mut f),
        "a corner that would cross the quad is refused"
    );
}

fn stage_refuses_a_crossed_quad(f: &mut MappedFrames) -> bool {
    let (gpu, stage) = f.stage_mut();
    stage
        .adjust(
            gpu,
            &OutputAdjust {
                output: Some("a".into()),
                change: OutputChange::Corner {
                    corner: 0,
                    x_px: 320.0,
                    y_px: 180.0,
                },
            },
        )
        .is_err()
}
