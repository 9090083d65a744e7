//! ISF shaders play as preset layers: one in-house fixture per feature (tests/fixtures/isf),
//! each rendered offscreen through the same path as `somnia render` (lavapipe here) and its
//! pixels measured: the orientation ISF hosts use, every kind of value input and the preset
//! steering it, multipass persistent feedback, a FLOAT buffer, an imported image, a custom
//! vertex stage, a transition, a filter, audio. Tolerance: 3/255 per channel, for the 8-bit
//! round trip and lavapipe's filtering. Each fixture preset also matches its reference image
//! in tests/golden/isf/ (after six frames, so feedback has built up), with the shipped
//! presets' tolerance (tests/golden.rs): mean difference at most 2/255 and at most 1 % of
//! pixels off by more than 24/255. `SOMNIA_BLESS=1` writes them anew.

mod common;

use common::*;
use somnia::bridge::AnalysisTrack;
use somnia::commands::check::check_file;
use somnia::render::capture::FrameRenderer;
use somnia::show::compile::preset_timeline;
use somnia::show::project::Project;
use somnia::show::timeline::Timeline;

const SIZE: (u32, u32) = (64, 36);

fn project() -> Project {
    Project::new(fixture("isf"))
}

fn renderer(name: &str) -> (Timeline, FrameRenderer) {
    let timeline =
        preset_timeline(&project(), name, 10.0).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let mut fr =
        FrameRenderer::new(&timeline, SIZE.0, SIZE.1).unwrap_or_else(|e| panic!("{name}: {e}"));
    // The measurements are of the shaders, not of the flash guard easing their changes.
    fr.set_flash_guard(false);
    (timeline, fr)
}

/// The picture of preset `name` at `time_s`.
fn frame(name: &str, time_s: f64) -> Vec<u8> {
    let (timeline, mut fr) = renderer(name);
    fr.frame_at(&timeline, &AnalysisTrack::default(), time_s)
        .unwrap()
}

/// The pixel at the fraction (`fx`, `fy`) of the picture, measured from the top left.
fn at(rgba: &[u8], fx: f64, fy: f64) -> [u8; 3] {
    let x = ((fx * f64::from(SIZE.0)) as u32).min(SIZE.0 - 1);
    let y = ((fy * f64::from(SIZE.1)) as u32).min(SIZE.1 - 1);
    let i = ((y * SIZE.0 + x) * 4) as usize;
    [rgba[i], rgba[i + 1], rgba[i + 2]]
}

fn near(got: [u8; 3], want: [u8; 3], what: &str) {
    let ok = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 3);
    assert!(ok, "{what}: {got:?}, expected {want:?} (±3)");
}

#[test]
fn a_vertical_gradient_is_white_at_the_top_and_black_at_the_bottom_as_in_isf_hosts() {
    let rgba = frame("gradient", 1.0);
    for (fx, how) in [(0.25, "isf_FragNormCoord"), (0.75, "gl_FragCoord")] {
        let top = at(&rgba, fx, 0.0)[0];
        let bottom = at(&rgba, fx, 0.999)[0];
        assert!(top >= 248, "{how}: the top row is {top}, not white");
        assert!(bottom <= 7, "{how}: the bottom row is {bottom}, not black");
        let mid = at(&rgba, fx, 0.5)[0];
        assert!((120..=136).contains(&mid), "{how}: halfway is {mid}");
    }
}

#[test]
fn every_value_input_reaches_the_shader_with_its_default_and_as_the_preset_steers_it() {
    let rgba = frame("inputs", 1.0);
    near(at(&rgba, 0.25, 0.25), [128, 128, 128], "float 0.5");
    near(at(&rgba, 0.75, 0.25), [255, 0, 0], "colour red");
    near(at(&rgba, 0.25, 0.75), [128, 128, 128], "long 2 of 4");
    // The point (0.25, 0.75) in ISF's upward coordinates is in the top-left quarter: the
    // bottom-right quarter shows nothing.
    near(
        at(&rgba, 0.75, 0.75),
        [0, 0, 0],
        "point elsewhere, no event",
    );
    let steered = frame("inputs-steered", 1.0);
    near(
        at(&steered, 0.25, 0.25),
        [191, 191, 191],
        "float 0.25 inverted by the bool",
    );
    near(at(&steered, 0.75, 0.25), [0, 0, 255], "colour blue");
    near(at(&steered, 0.25, 0.75), [255, 255, 255], "long 4 of 4");
    // The point (0.75, 0.25): three quarters across, three quarters down.
    near(
        at(&steered, 0.75, 0.75),
        [255, 255, 255],
        "the point's spot",
    );
    near(at(&steered, 0.9, 0.55), [0, 0, 0], "away from the point");
}

#[test]
fn a_persistent_buffer_feeds_back_and_the_picture_brightens_by_a_step_every_frame() {
    let (timeline, mut fr) = renderer("feedback");
    let track = AnalysisTrack::default();
    let mut levels = Vec::new();
    for i in 0..6 {
        let rgba = fr
            .frame_at(&timeline, &track, 1.0 + f64::from(i) / 30.0)
            .unwrap();
        levels.push(at(&rgba, 0.5, 0.5)[0]);
    }
    // A sixteenth a frame: 16, 32, 48 ... out of 255.
    for (i, level) in levels.iter().enumerate() {
        let want = (((i + 1) as f64 / 16.0) * 255.0).round() as u8;
        assert!(
            level.abs_diff(want) <= 3,
            "frame {i}: {level}, expected {want}; all {levels:?}"
        );
    }
}

#[test]
fn a_float_buffer_holds_values_above_one_at_the_size_its_expression_gives() {
    let rgba = frame("float-buffer", 1.0);
    let px = at(&rgba, 0.5, 0.5);
    // 4.0 kept, divided by eight: a half (an 8-bit buffer would have kept 1.0: an eighth).
    assert!(px[0].abs_diff(128) <= 3, "{px:?}");
    // The pass drew at a quarter of 64 pixels wide: 16, reported as 16/1000.
    assert!(px[1].abs_diff(4) <= 1, "{px:?}");
}

#[test]
fn an_imported_image_from_beside_the_shader_shows_the_right_way_up() {
    let rgba = frame("imported", 1.0);
    // Near the corners, where the 2×2 image's texels are not blended with their neighbours.
    near(at(&rgba, 0.05, 0.05), [255, 0, 0], "top left");
    near(at(&rgba, 0.95, 0.05), [0, 255, 0], "top right");
    near(at(&rgba, 0.05, 0.95), [0, 0, 255], "bottom left");
    near(at(&rgba, 0.95, 0.95), [255, 255, 255], "bottom right");
}

#[test]
fn an_imported_jpeg_shows_its_colours_the_right_way_up() {
    let rgba = frame("imported-jpeg", 1.0);
    let close = |got: [u8; 3], want: [u8; 3], what: &str| {
        let ok = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 12);
        assert!(
            ok,
            "{what}: {got:?}, expected {want:?} (±12: JPEG is lossy)"
        );
    };
    close(at(&rgba, 0.1, 0.1), [255, 0, 0], "top left");
    close(at(&rgba, 0.9, 0.1), [0, 255, 0], "top right");
    close(at(&rgba, 0.1, 0.9), [0, 0, 255], "bottom left");
    close(at(&rgba, 0.9, 0.9), [255, 255, 255], "bottom right");
}

#[test]
fn an_import_that_leaves_the_shaders_folder_is_refused_with_the_shader_named() {
    let timeline = preset_timeline(&project(), "escape", 10.0).unwrap();
    let err = FrameRenderer::new(&timeline, SIZE.0, SIZE.1)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("escape.fs"), "{err}");
    assert!(err.contains("leaves the shader's folder"), "{err}");
}

#[test]
fn a_custom_vertex_stage_hands_the_fragment_stage_what_it_computed() {
    let rgba = frame("vertex", 1.0);
    // shifted = (x * 0.5, 0.5): red grows to a half across, green is a half everywhere.
    let left = at(&rgba, 0.0, 0.5);
    let right = at(&rgba, 0.999, 0.5);
    assert!(
        left[0] <= 4 && right[0].abs_diff(128) <= 4,
        "{left:?} {right:?}"
    );
    assert!(
        left[1].abs_diff(128) <= 3 && right[1].abs_diff(128) <= 3,
        "{left:?} {right:?}"
    );
}

/// The picture of performance `name` at each of `times_s`, from one renderer.
fn performance_frames(name: &str, times_s: &[f64]) -> Vec<Vec<u8>> {
    let timeline =
        somnia::show::compile::load_timeline(&fixture(&format!("isf/performances/{name}.toml")))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let mut fr = FrameRenderer::new(&timeline, SIZE.0, SIZE.1).unwrap();
    fr.set_flash_guard(false);
    times_s
        .iter()
        .map(|t| {
            fr.frame_at(&timeline, &AnalysisTrack::default(), *t)
                .unwrap()
        })
        .collect()
}

#[test]
fn an_isf_transition_is_a_crossfade_style_showing_start_at_0_half_and_half_at_05_and_end_at_1() {
    // The fade runs from 1 s to 3 s: its progress (an S-curve) is 0 at 1 s, a half at 2 s and
    // 1 at its end. The start is the gradient (top rows near white), the end the inputs
    // preset (its top-left quarter grey, its top-right red).
    let frames = performance_frames("wipe", &[1.0, 2.0, 2.999]);
    let gradient_top = |px: [u8; 3]| px[0] > 180 && px[1] > 180 && px[2] > 180;
    // At 0: the start everywhere.
    assert!(
        gradient_top(at(&frames[0], 0.25, 0.25)),
        "{:?}",
        at(&frames[0], 0.25, 0.25)
    );
    assert!(
        gradient_top(at(&frames[0], 0.75, 0.25)),
        "{:?}",
        at(&frames[0], 0.75, 0.25)
    );
    // At a half: the end left of the middle, the start right of it.
    near(
        at(&frames[1], 0.25, 0.25),
        [128, 128, 128],
        "halfway, left: the end",
    );
    assert!(
        gradient_top(at(&frames[1], 0.75, 0.25)),
        "halfway, right: the start {:?}",
        at(&frames[1], 0.75, 0.25)
    );
    // At 1: the end everywhere.
    near(at(&frames[2], 0.25, 0.25), [128, 128, 128], "the end, left");
    near(at(&frames[2], 0.75, 0.25), [255, 0, 0], "the end, right");
}

#[test]
fn the_audio_fft_input_follows_a_test_tone_from_440_hz_to_1760_hz_and_the_audio_input_shows_its_wave()
 {
    let timeline =
        somnia::show::compile::load_timeline(&fixture("isf/performances/fft-tone.toml")).unwrap();
    let sr = somnia::SAMPLE_RATE_HZ;
    let track = somnia::offline::render_blocks(
        &timeline,
        4.0,
        sr,
        somnia::offline::OFFLINE_BLOCK_FRAMES,
        |_| Ok(()),
        |_| {},
    )
    .unwrap();
    // One pixel a spectrum column: 256 columns of 46.875 Hz (48 kHz / 1024).
    let (w, h) = (256u32, 16u32);
    let mut fr = FrameRenderer::new(&timeline, w, h).unwrap();
    fr.set_flash_guard(false);
    let column_hz = f64::from(sr) / 1024.0;
    for (t, tone_hz) in [(1.0, 440.0), (3.0, 1760.0)] {
        let rgba = fr.frame_at(&timeline, &track, t).unwrap();
        let row =
            |y: u32| -> Vec<u8> { (0..w).map(|x| rgba[((y * w + x) * 4) as usize]).collect() };
        let spectrum = row(h / 4);
        let peak = (0..w as usize).max_by_key(|c| spectrum[*c]).unwrap();
        let want = tone_hz / column_hz;
        assert!(
            (peak as f64 - want).abs() <= 1.0,
            "{tone_hz} Hz: the spectrum peaks at column {peak} ({:.0} Hz), expected {want:.1}",
            peak as f64 * column_hz
        );
        assert!(
            spectrum[peak] > 150,
            "{tone_hz} Hz: the peak is only {}",
            spectrum[peak]
        );
        // Far from the tone, the spectrum is low.
        let far = (peak + 60).min(w as usize - 1);
        assert!(spectrum[far] < spectrum[peak] / 2, "{spectrum:?}");
        let wave = row(3 * h / 4);
        let (lo, hi) = (wave.iter().min().unwrap(), wave.iter().max().unwrap());
        // Silence is 128 throughout; the sine at -12 dB through the master bus swings about
        // a tenth of full scale either way.
        assert!(
            *lo < 122 && *hi > 134,
            "{tone_hz} Hz: the waveform spans only {lo}..{hi}"
        );
    }
}

#[test]
fn an_isf_filter_in_the_post_chain_turns_the_gradient_upside_down_in_light() {
    let rgba = frame("gradient-inverted", 1.0);
    let (top, bottom) = (at(&rgba, 0.25, 0.0)[0], at(&rgba, 0.25, 0.999)[0]);
    assert!(top <= 7 && bottom >= 248, "top {top}, bottom {bottom}");
    let errors = check_file(&fixture("isf/presets/filter-clash.toml"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].to_string().contains("has no image input"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[0].line, 7, "{}", errors[0]);
}

#[test]
fn a_shadertoy_shader_plays_the_right_way_up_with_the_sound_on_ichannel0() {
    // The sound of the tone performance, under the Shadertoy layer.
    let tone =
        somnia::show::compile::load_timeline(&fixture("isf/performances/fft-tone.toml")).unwrap();
    let track = somnia::offline::render_blocks(
        &tone,
        2.0,
        somnia::SAMPLE_RATE_HZ,
        somnia::offline::OFFLINE_BLOCK_FRAMES,
        |_| Ok(()),
        |_| {},
    )
    .unwrap();
    let (timeline, mut fr) = renderer("toy");
    let rgba = fr.frame_at(&timeline, &track, 1.0).unwrap();
    let (top, bottom) = (at(&rgba, 0.25, 0.0)[0], at(&rgba, 0.25, 0.999)[0]);
    assert!(
        top >= 248 && bottom <= 7,
        "fragCoord grows upwards: top {top}, bottom {bottom}"
    );
    // The right half is the spectrum: the 440 Hz tone lights a column near its left edge.
    let right: Vec<u8> = (SIZE.0 / 2..SIZE.0)
        .map(|x| rgba[((SIZE.1 / 2 * SIZE.0 + x) * 4) as usize])
        .collect();
    let peak = right.iter().copied().max().unwrap();
    assert!(peak > 150, "the spectrum's peak is {peak}: {right:?}");
    assert!(right[right.len() - 1] < 40, "12 kHz is quiet: {right:?}");
}

#[test]
fn a_shadertoy_buffer_feeds_back_in_half_floats_and_reads_back_where_it_was_written() {
    let (timeline, mut fr) = renderer("toy-buffers");
    let track = AnalysisTrack::default();
    let mut levels = Vec::new();
    let mut last = Vec::new();
    for i in 0..20 {
        last = fr
            .frame_at(&timeline, &track, 1.0 + f64::from(i) / 30.0)
            .unwrap();
        levels.push(at(&last, 0.5, 0.5)[0]);
    }
    // A sixteenth a frame, shown divided by four: 4, 8, 12 ... out of 255, past 1.0 (frame 16)
    // without stopping.
    for (i, level) in levels.iter().enumerate() {
        let want = ((i + 1) as f64 / 64.0 * 255.0).round() as u8;
        assert!(
            level.abs_diff(want) <= 3,
            "frame {i}: {level}, expected {want}: {levels:?}"
        );
    }
    // The buffer's bottom row, marked in green, shows at the picture's bottom.
    assert_eq!(at(&last, 0.5, 0.999)[1], 255, "bottom");
    assert_eq!(at(&last, 0.5, 0.0)[1], 0, "top");
}

#[test]
fn a_shadertoy_texture_channel_reads_the_media_file_beside_the_export_the_right_way_up() {
    let rgba = frame("toy-texture", 1.0);
    near(at(&rgba, 0.05, 0.05), [255, 0, 0], "top left");
    near(at(&rgba, 0.95, 0.05), [0, 255, 0], "top right");
    near(at(&rgba, 0.05, 0.95), [0, 0, 255], "bottom left");
    near(at(&rgba, 0.95, 0.95), [255, 255, 255], "bottom right");
}

#[test]
fn a_broken_shadertoy_shader_is_reported_at_its_own_line_and_column() {
    let errors = check_file(&fixture("isf/shaders/broken-toy.glsl"));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!((errors[0].line, errors[0].col), (4, 26), "{}", errors[0]);
    assert!(errors[0].to_string().contains("iTim"), "{}", errors[0]);
}

#[test]
fn shadertoy_presets_list_their_author_and_licence_with_a_warning_about_commercial_use() {
    let o = somnia()
        .args(["list", "presets"])
        .current_dir(fixture("isf"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "toy-buffers  (by somnia-tests, licence CC BY-NC-SA 3.0 (Shadertoy's default))"
        ),
        "{out}"
    );
    assert!(
        out.contains("warning: toy-buffers's licence forbids commercial use"),
        "{out}"
    );
}

#[test]
fn an_isf_filter_on_a_dreamers_layer_reads_the_performances_picture_beneath_it() {
    let frames = performance_frames("dreamer-filter", &[1.0]);
    let (top, bottom) = (at(&frames[0], 0.25, 0.0)[0], at(&frames[0], 0.25, 0.999)[0]);
    assert!(
        top <= 7 && bottom >= 248,
        "the gradient inverted: top {top}, bottom {bottom}"
    );
}

#[test]
fn a_fade_style_that_is_no_transition_or_no_file_is_an_error_at_its_name() {
    let errors = check_file(&fixture("isf/performances/wipe-missing.toml"));
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{text:#?}");
    assert_eq!((errors[0].line, errors[1].line), (10, 16), "{text:#?}");
    assert!(text[0].contains("not an ISF transition"), "{}", text[0]);
    assert!(text[1].contains("no fade style `wiep`"), "{}", text[1]);
}

#[test]
fn a_preset_naming_an_input_the_isf_shader_lacks_is_an_error_at_its_line_with_a_suggestion() {
    let errors = check_file(&fixture("isf/presets/misnamed.toml"));
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1, "{text:#?}");
    assert_eq!(errors[0].line, 7, "{}", text[0]);
    assert!(
        text[0].contains("levle") && text[0].contains("level"),
        "{}",
        text[0]
    );
}

#[test]
fn every_isf_fixture_preset_but_the_broken_ones_passes_check() {
    for name in project().preset_names() {
        let path = fixture(&format!("isf/presets/{name}.toml"));
        let errors = check_file(&path);
        match name.as_str() {
            "misnamed" | "escape" | "filter-clash" => assert!(!errors.is_empty(), "{name}"),
            _ => assert!(errors.is_empty(), "{name}: {errors:#?}"),
        }
    }
}

#[test]
fn every_isf_fixture_preset_matches_its_reference_image() {
    let bless = std::env::var("SOMNIA_BLESS").is_ok_and(|v| v == "1");
    let golden = repo().join("tests/golden/isf");
    let mut failures = Vec::new();
    for name in project().preset_names() {
        if matches!(name.as_str(), "misnamed" | "escape" | "filter-clash") {
            continue;
        }
        let (timeline, mut fr) = renderer(&name);
        let mut rgba = Vec::new();
        for i in 0..6 {
            rgba = fr
                .frame_at(
                    &timeline,
                    &AnalysisTrack::default(),
                    2.0 + f64::from(i) / 30.0,
                )
                .unwrap();
        }
        let path = golden.join(format!("{name}.png"));
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            somnia::render::offscreen::write_png(&path, SIZE.0, SIZE.1, &rgba).unwrap();
            continue;
        }
        if !path.exists() {
            failures.push(format!(
                "{name}: no reference image; SOMNIA_BLESS=1 makes one"
            ));
            continue;
        }
        let want = read_png(&path);
        let n = (SIZE.0 * SIZE.1) as usize;
        let (mut sum, mut far) = (0.0f64, 0usize);
        for i in 0..n {
            let worst = (0..3)
                .map(|c| rgba[4 * i + c].abs_diff(want.rgb[3 * i + c]))
                .inspect(|d| sum += f64::from(*d))
                .max()
                .unwrap_or(0);
            if worst > 24 {
                far += 1;
            }
        }
        let mean = sum / (3 * n) as f64;
        if !(mean <= 2.0 && far * 100 <= n) {
            failures.push(format!(
                "{name}: mean difference {mean:.2}/255, {far} of {n} pixels differ by more than 24/255"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
