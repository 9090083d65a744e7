//! `somnia render` through the real binary: WAV via hound, frames via wgpu (lavapipe on a
//! machine without a GPU), MP4 via ffmpeg. Measured, not just run.

mod common;

use common::*;
use somnia::show::compile::load_timeline;
use somnia::show::timeline::AudioAction;

fn render(perf: &std::path::Path, out: &std::path::Path, extra: &[&str]) {
    let o = somnia()
        .arg("render")
        .arg(perf)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "render failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn render_writes_a_wav_of_the_requested_length_with_the_cue_files_notes() {
    let dir = tempfile::tempdir().unwrap();
    let perf = fixture("performances/switch.toml");
    render(
        &perf,
        dir.path(),
        &["--seconds", "3", "--size", "160x90", "--fps", "20"],
    );

    let wav = read_wav(&dir.path().join("switch.wav"));
    assert_eq!((wav.sample_rate_hz, wav.channels), (48_000, 2));
    assert_eq!(wav.frames(), 3 * 48_000, "duration");
    let mono = wav.mono();
    assert!(rms(&mono) > 0.01, "silent: rms {}", rms(&mono));

    // Every note of the cue file shows as a spectral peak at its fundamental while it sounds,
    // standing well above a frequency nobody played (a tritone away).
    let timeline = load_timeline(&perf).unwrap();
    let notes: Vec<(f64, u8)> = timeline
        .audio
        .iter()
        .filter_map(|c| match c.action {
            AudioAction::NoteOn { note, .. } => Some((c.time_s, note)),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 2);
    for (t, note) in notes {
        let start = ((t + 0.1) * 48_000.0) as usize;
        let window = &mono[start..start + 24_000];
        let spec = spectrum(window);
        let f = note_hz(note);
        let played = level_near(&spec, window.len(), 48_000, f);
        let absent = level_near(&spec, window.len(), 48_000, f * 2f32.powf(6.0 / 12.0));
        assert!(
            played > 20.0 * absent,
            "note {note} ({f:.1} Hz) at {t}s: level {played} vs {absent} a tritone away"
        );
    }

    let frames = std::fs::read_dir(dir.path().join("frames"))
        .unwrap()
        .count();
    assert_eq!(frames, 60, "3 s at 20 fps");
    // The MP4 (scripts/install-system-deps.sh installs ffmpeg): H.264 and AAC, 3 s, 60 frames.
    assert!(
        on_path("ffmpeg"),
        "ffmpeg is missing: scripts/install-system-deps.sh"
    );
    let streams = probe(&dir.path().join("switch.mp4"));
    let video = streams
        .iter()
        .find(|s| s.0 == "h264")
        .expect("an H.264 stream");
    assert_eq!(
        (video.1.as_str(), video.2.as_str(), video.3.as_str()),
        ("160", "90", "60")
    );
    assert!((video.4 - 3.0).abs() < 0.05, "video {} s", video.4);
    let audio = streams
        .iter()
        .find(|s| s.0 == "aac")
        .expect("an AAC stream");
    assert!((audio.4 - 3.0).abs() < 0.05, "audio {} s", audio.4);
}

#[test]
fn two_renders_of_the_same_performance_give_identical_wav_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let perf = repo().join("performances/first-light.toml");
    for d in [&a, &b] {
        render(
            &perf,
            d.path(),
            &[
                "--seconds",
                "6",
                "--size",
                "64x36",
                "--fps",
                "2",
                "--no-mp4",
            ],
        );
    }
    let wa = std::fs::read(a.path().join("first-light.wav")).unwrap();
    let wb = std::fs::read(b.path().join("first-light.wav")).unwrap();
    assert_eq!(wa.len(), wb.len());
    assert!(wa == wb, "WAV bytes differ between two renders");
    // Two silent renders would be identical too.
    let level = rms(&read_wav(&a.path().join("first-light.wav")).samples);
    assert!(level > 0.01, "the render is silent: rms {level}");
}

#[test]
fn a_story_renders_to_the_same_wav_bytes_on_every_voice_path_the_machine_has() {
    // SOMNIA_SIMD forces a path; a path the machine lacks falls back to the best it has,
    // and the render says which one ran.
    let avx2 = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains(" avx2"));
    let mut paths = vec!["scalar", "portable"];
    if avx2 {
        paths.push("avx2");
    } else {
        eprintln!("this machine has no AVX2: that path is not compared");
    }
    let perf = repo().join("performances/dream-temple.toml");
    let mut wavs = Vec::new();
    for path in &paths {
        let dir = tempfile::tempdir().unwrap();
        let o = somnia()
            .arg("render")
            .arg(&perf)
            .arg("--out")
            .arg(dir.path())
            .args(["--seconds", "12", "--no-frames", "--no-mp4"])
            .env("SOMNIA_SIMD", path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "render on {path} failed: {stderr}");
        assert!(
            stderr.contains(&format!("voices on the {path} path")),
            "{path} was not taken: {stderr}"
        );
        wavs.push(std::fs::read(dir.path().join("dream-temple.wav")).unwrap());
        let level = rms(&read_wav(&dir.path().join("dream-temple.wav")).samples);
        assert!(level > 0.01, "the {path} render is silent: rms {level}");
    }
    for (path, wav) in paths.iter().zip(&wavs).skip(1) {
        assert_eq!(wav.len(), wavs[0].len());
        assert!(
            *wav == wavs[0],
            "the {path} path's WAV differs from the scalar path's"
        );
    }
}

#[test]
fn a_preset_switch_shows_in_the_frame_that_starts_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    render(
        &fixture("performances/switch.toml"),
        dir.path(),
        &[
            "--seconds",
            "2",
            "--size",
            "64x36",
            "--fps",
            "20",
            "--no-mp4",
        ],
    );
    // The cut to `cool` is at 1.5 s = frame 30 at 20 fps; frame 29 (1.45 s) is still `warm`.
    let before = read_png(&dir.path().join("frames/000029.png")).mean_rgb();
    let at = read_png(&dir.path().join("frames/000030.png")).mean_rgb();
    assert!(
        before[0] > 2.0 * before[2],
        "frame 29 should be warm (red): {before:?}"
    );
    assert!(
        at[2] > 2.0 * at[0],
        "frame 30 should be cool (blue): {at:?}"
    );
}

#[test]
fn frames_of_a_shipped_performance_are_varied_and_change_over_time() {
    let dir = tempfile::tempdir().unwrap();
    render(
        &repo().join("performances/first-light.toml"),
        dir.path(),
        &[
            "--seconds",
            "3",
            "--size",
            "160x90",
            "--fps",
            "5",
            "--no-mp4",
        ],
    );
    let frames: Vec<Image> = (0..15)
        .map(|i| read_png(&dir.path().join(format!("frames/{i:06}.png"))))
        .collect();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.width, f.height), (160, 90));
        let sd = std_dev(&f.luma());
        assert!(
            sd > 5.0,
            "frame {i} is nearly uniform (luma std dev {sd:.2})"
        );
    }
    for (i, pair) in frames.windows(2).enumerate() {
        let (a, b) = (pair[0].luma(), pair[1].luma());
        let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64;
        assert!(
            diff > 0.3,
            "frames {i} and {} are the same (mean |Δluma| {diff:.3})",
            i + 1
        );
    }
}

#[test]
fn the_limiter_holds_its_ceiling_and_is_off_only_when_asked() {
    let dir = temp_project(&[]);
    std::fs::write(
        dir.path().join("presets/blast.toml"),
        "[layer]\nshader = \"tint.wgsl\"\n[layer.params]\nr = { default = 1 }\ng = { default = 0 }\nb = { default = 0 }\n\
         [audio]\nvoices = 32\ngain_db = 6\nvelocity_amount = 0\n[audio.osc1]\nunison = 5\nlevel = 1\n[audio.osc2]\nlevel = 1\n\
         [audio.filter]\ncutoff_hz = 12000\n",
    )
    .unwrap();
    let perf = dir.path().join("performances/loud.toml");
    std::fs::write(&perf, "duration = 1.5\npreset = \"blast\"\n[[cue]]\nat = 0\nnotes = [36, 40, 43, 48, 52, 55, 60, 64]\nlength_s = 1.4\n").unwrap();
    // The peak, the longest run of samples in one channel at `ceiling` (a clamp's flat top;
    // gain reduction leaves none), and stderr.
    let render_at = |extra: &[&str], ceiling: f32| -> (f32, usize, String) {
        let out = dir.path().join(format!("out{}", extra.len()));
        let o = somnia()
            .arg("render")
            .arg(&perf)
            .arg("--out")
            .arg(&out)
            .args(["--size", "32x18", "--fps", "2", "--no-mp4"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        let wav = read_wav(&out.join("loud.wav"));
        let peak = wav.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let mut pinned = 0;
        for ch in 0..2 {
            let mut run = 0;
            for s in wav.samples.iter().skip(ch).step_by(2) {
                run = if s.abs() >= ceiling * (1.0 - 1e-6) {
                    run + 1
                } else {
                    0
                };
                pinned = usize::max(pinned, run);
            }
        }
        (peak, pinned, stderr)
    };
    let db = |x: f32| 20.0 * x.log10();
    let gain = |db: f32| 10f32.powf(db / 20.0);
    // Held at the ceiling, and by gain: loud (within half a dB of it), with no flat tops.
    for (extra, ceiling_db) in [(&[][..], -1.0), (&["--limiter-ceiling", "-6"][..], -6.0)] {
        let (peak, pinned, _) = render_at(extra, gain(ceiling_db));
        assert!(
            peak <= gain(ceiling_db) + 1e-4,
            "ceiling {ceiling_db} dBFS, got {:.2} dBFS",
            db(peak)
        );
        assert!(
            peak >= gain(ceiling_db - 0.5),
            "ceiling {ceiling_db} dBFS: limited down to {:.2} dBFS, not to the ceiling",
            db(peak)
        );
        assert!(
            pinned < 4,
            "ceiling {ceiling_db} dBFS: {pinned} samples in a row pinned at it (clipped)"
        );
    }
    let (raw_peak, _, stderr) = render_at(
        &[
            "--no-limiter",
            "--limiter-ceiling",
            "-1",
            "--seconds",
            "1.5",
        ],
        gain(-1.0),
    );
    assert!(
        raw_peak > 1.0,
        "without the limiter this chord clips: peak {:.2} dBFS",
        db(raw_peak)
    );
    assert!(stderr.contains("limiter is OFF"), "{stderr}");
}

/// ffprobe's view of a file's streams: (codec, width, height, frames, duration s) each.
fn probe(path: &std::path::Path) -> Vec<(String, String, String, String, f64)> {
    let o = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-show_entries"])
        .arg("stream=codec_name,width,height,nb_read_frames,duration")
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe (ffmpeg) must be installed: scripts/install-system-deps.sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("").to_string();
            // Video: codec,width,height,duration,frames; audio: codec,duration,frames.
            if f.len() >= 5 {
                (
                    get(0),
                    get(1),
                    get(2),
                    get(4),
                    get(3).parse().unwrap_or(0.0),
                )
            } else {
                (
                    get(0),
                    String::new(),
                    String::new(),
                    get(2),
                    get(1).parse().unwrap_or(0.0),
                )
            }
        })
        .collect()
}

#[test]
fn an_odd_size_renders_a_playable_mp4_padded_to_even_and_frames_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    render(
        &fixture("performances/switch.toml"),
        dir.path(),
        &["--seconds", "2", "--size", "321x181", "--fps", "10"],
    );
    let streams = probe(&dir.path().join("switch.mp4"));
    let video = streams
        .iter()
        .find(|s| s.0 == "h264")
        .expect("an H.264 stream");
    assert_eq!((video.1.as_str(), video.2.as_str()), ("322", "182"));
    assert_eq!(video.3, "20", "2 s at 10 fps");
    assert!((video.4 - 2.0).abs() < 0.05, "video {} s", video.4);
    let audio = streams
        .iter()
        .find(|s| s.0 == "aac")
        .expect("an AAC stream");
    assert!((audio.4 - 2.0).abs() < 0.05, "audio {} s", audio.4);
    let frame = read_png(&dir.path().join("frames/000000.png"));
    assert_eq!(
        (frame.width, frame.height),
        (321, 181),
        "the frames keep the size asked for"
    );
}

#[test]
fn rendering_again_leaves_no_mp4_of_the_render_before() {
    let dir = tempfile::tempdir().unwrap();
    let perf = fixture("performances/switch.toml");
    render(&perf, dir.path(), &["--seconds", "1", "--size", "160x90"]);
    assert!(dir.path().join("switch.mp4").exists());
    render(
        &perf,
        dir.path(),
        &["--seconds", "1", "--size", "160x90", "--no-mp4"],
    );
    assert!(
        !dir.path().join("switch.mp4").exists(),
        "an MP4 of the render before stays beside new frames"
    );
}

#[test]
fn a_failed_encode_fails_the_render_and_leaves_no_broken_mp4() {
    let dir = tempfile::tempdir().unwrap();
    // An ffmpeg that takes the frames, writes half a file and fails, as a full disk would.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\nfor a; do out=\"$a\"; done\ncat >/dev/null\necho junk >\"$out\"\necho 'No space left on device' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = dir.path().join("out");
    let o = somnia()
        .env("PATH", path)
        .arg("render")
        .arg(fixture("performances/switch.toml"))
        .arg("--out")
        .arg(&out)
        .args(["--seconds", "1", "--size", "160x90"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("ffmpeg could not make"), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mp4"))
        .collect();
    assert!(left.is_empty(), "no MP4 is left: {left:?}");
    assert!(out.join("switch.wav").exists() && out.join("frames/000000.png").exists());
}

#[test]
fn no_frames_puts_every_frame_in_the_mp4_and_leaves_no_png_and_with_no_mp4_only_the_wav() {
    let dir = tempfile::tempdir().unwrap();
    let perf = fixture("performances/switch.toml");
    let frames = dir.path().join("frames");
    let pngs = || {
        std::fs::read_dir(&frames)
            .map(|d| d.flatten().count())
            .unwrap_or(0)
    };
    // An earlier render's frames do not stay beside an MP4 they are not of.
    render(
        &perf,
        dir.path(),
        &["--seconds", "1", "--size", "160x90", "--no-mp4"],
    );
    assert_eq!(pngs(), 30);
    render(
        &perf,
        dir.path(),
        &["--seconds", "1", "--size", "160x90", "--no-frames"],
    );
    assert_eq!(pngs(), 0, "PNG frames left with --no-frames");
    let streams = probe(&dir.path().join("switch.mp4"));
    let video = streams
        .iter()
        .find(|s| s.0 == "h264")
        .unwrap_or_else(|| panic!("no video stream: {streams:?}"));
    assert_eq!((video.1.as_str(), video.2.as_str()), ("160", "90"));
    assert_eq!(video.3, "30", "every frame in the MP4: {streams:?}");
    assert!(streams.iter().any(|s| s.0 == "aac"), "{streams:?}");

    // Neither: the WAV alone, nothing drawn.
    let wav_only = tempfile::tempdir().unwrap();
    render(
        &perf,
        wav_only.path(),
        &["--seconds", "1", "--no-frames", "--no-mp4"],
    );
    let names: Vec<String> = std::fs::read_dir(wav_only.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["switch.wav"]);
    assert_eq!(
        read_wav(&wav_only.path().join("switch.wav")).mono().len(),
        48_000
    );

    // No ffmpeg: --no-frames has nowhere to put the pictures, and says so before drawing.
    let o = somnia()
        .arg("render")
        .arg(&perf)
        .arg("--out")
        .arg(wav_only.path())
        .args(["--seconds", "1", "--no-frames"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no ffmpeg to make it"), "{stderr}");
}

/// ffmpeg's own EBU R128 reading of `wav`: (integrated loudness LUFS, true peak dBTP).
fn ffmpeg_loudness(wav: &std::path::Path) -> (f64, f64) {
    let o = std::process::Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(wav)
        .args(["-filter_complex", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let said = String::from_utf8_lossy(&o.stderr);
    let summary = said.rsplit("Summary:").next().unwrap_or_default();
    let after = |key: &str| -> f64 {
        summary
            .split(key)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{key}` in ffmpeg's summary:\n{said}"))
    };
    (after("I:"), after("Peak:"))
}

#[test]
fn loudness_brings_a_render_to_the_streaming_and_broadcast_targets_as_ffmpeg_measures_them() {
    let perf = repo().join("performances/first-light.toml");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    render(
        &perf,
        &plain,
        &["--seconds", "20", "--no-mp4", "--no-frames"],
    );
    let (as_rendered, _) = ffmpeg_loudness(&plain.join("first-light.wav"));
    let mut figures = vec![format!("as rendered {as_rendered:.1} LUFS")];
    for target in [-23.0, -14.0] {
        let out = dir.path().join(format!("at{target}"));
        let t = format!("{target}");
        render(
            &perf,
            &out,
            &[
                "--seconds",
                "20",
                "--no-mp4",
                "--no-frames",
                "--loudness",
                &t,
            ],
        );
        let wav = out.join("first-light.wav");
        let (lufs, peak) = ffmpeg_loudness(&wav);
        figures.push(format!(
            "{target}: {lufs:.1} LUFS, true peak {peak:.1} dBTP"
        ));
        // Under the limiter's -1 dBTP ceiling always (ffmpeg's true-peak estimate is a
        // little coarser than libebur128's); at the target unless the ceiling held it back.
        assert!(peak <= -0.8, "{target}: true peak {peak} dBTP");
        let held = peak > -1.3 && lufs < target;
        assert!(
            (lufs - target).abs() <= 0.3 || held,
            "{target}: {lufs} LUFS, true peak {peak}"
        );
        // The same render, the same bytes.
        let again = dir.path().join(format!("again{target}"));
        render(
            &perf,
            &again,
            &[
                "--seconds",
                "20",
                "--no-mp4",
                "--no-frames",
                "--loudness",
                &t,
            ],
        );
        assert_eq!(
            std::fs::read(&wav).unwrap(),
            std::fs::read(again.join("first-light.wav")).unwrap(),
            "{target}: two renders differ"
        );
    }
    report(
        "measured",
        &format!("--loudness (ffmpeg's ebur128): {}", figures.join("; ")),
    );
}

#[test]
fn a_loudness_target_out_of_range_is_refused_as_bad_input() {
    let o = somnia()
        .args(["render", "performances/first-light.toml", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .args(["--loudness", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("from -40 to -5"), "{err}");
}
