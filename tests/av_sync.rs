//! A/V sync on rendered output: `somnia render` of a cue that cuts the picture and starts a
//! note at the same moment, between two frame times. The note's first sample in the WAV and the
//! first frame showing the new preset must agree within one frame: the frame whose time span
//! contains the cue shows it.

mod common;

use common::*;

const FPS: f64 = 30.0;

#[test]
fn a_cue_lands_in_the_wav_and_on_the_frame_whose_span_contains_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = somnia()
        .args([
            "render", "--no-mp4", "--size", "64x36", "--fps", "30", "--out",
        ])
        .arg(&out)
        .arg(fixture("performances/av.toml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let wav = read_wav(&out.join("av.wav"));
    let mono = wav.mono();
    let first = mono
        .iter()
        .position(|s| s.abs() > 1e-4)
        .expect("the note sounds");
    let audio_s = first as f64 / f64::from(wav.sample_rate_hz);

    // The warm preset is red, the cool one blue: the first frame that is more blue than red.
    let frame = (0..60)
        .find(|i| {
            let img = read_png(&out.join(format!("frames/{i:06}.png")));
            let [r, _, b] = img.mean_rgb();
            b > r
        })
        .expect("the cut shows");
    let (start, end) = (frame as f64 / FPS, (frame + 1) as f64 / FPS);
    assert!(
        (start..end).contains(&audio_s),
        "the note starts at {audio_s:.4} s; the cut shows from frame {frame} ({start:.4}..{end:.4} s)"
    );
    assert!(
        (audio_s - 1.25).abs() < 1.0 / 48_000.0 + 1e-9,
        "the note starts on its sample: {audio_s}"
    );
}
