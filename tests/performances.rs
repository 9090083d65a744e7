//! Every shipped performance passes `somnia check` and renders its first 20 seconds offline
//! (sound and frames, small and at a low frame rate to keep the suite quick): the files a user
//! gets must work as they are.

mod common;

use common::*;

#[test]
fn every_shipped_performance_checks_and_renders_its_first_20_seconds() {
    let names = shipped_performances();
    for story in [
        "etherwood",
        "dream-temple",
        "sleep-squares",
        "nova-aria",
        "dream-hub",
    ] {
        assert!(
            names.iter().any(|n| n == story),
            "{story}.toml is missing: {names:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for name in &names {
        let file = repo().join(format!("performances/{name}.toml"));
        let check = somnia().arg("check").arg(&file).output().unwrap();
        assert!(
            check.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let out = dir.path().join(name);
        let render = somnia()
            .args([
                "render",
                "--no-mp4",
                "--seconds",
                "20",
                "--size",
                "96x54",
                "--fps",
                "5",
            ])
            .arg("--out")
            .arg(&out)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            render.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&render.stderr)
        );
        let wav = read_wav(&out.join(format!("{name}.wav")));
        assert_eq!(wav.frames(), 20 * 48_000, "{name}: 20 s of sound");
        assert!(
            rms(&wav.mono()) > 1e-3,
            "{name}: the first 20 s are not silent"
        );
        assert_eq!(std::fs::read_dir(out.join("frames")).unwrap().count(), 100);
    }
}

/// Every stage a live show passes through compiles: before any GO, each GO on time, late and
/// early. A GO on time gives the render's sound exactly: what `check` and `render` accept,
/// `play` plays, and the other way round.
#[test]
fn every_shipped_performance_compiles_live_before_and_after_each_go_on_time_late_or_early() {
    use somnia::show::compile::{load_timeline, load_timeline_with};
    use somnia::show::cues::GoPlan;
    use somnia::show::cues::LiveInput;
    let files: Vec<std::path::PathBuf> = shipped_performances()
        .iter()
        .map(|n| repo().join(format!("performances/{n}.toml")))
        .collect();
    let mut gone = 0;
    for file in &files {
        let planned = load_timeline(file).unwrap();
        let live = |gos: Vec<(String, f64)>| {
            load_timeline_with(
                file,
                &GoPlan::Live(LiveInput {
                    gos: gos.into_iter().collect(),
                    ..LiveInput::default()
                }),
            )
            .unwrap_or_else(|d| panic!("{}: {d:#?}", file.display()))
        };
        let before = live(Vec::new());
        assert!(
            before
                .cues
                .iter()
                .all(|c| c.act.is_none() == c.fire_s.is_some()),
            "{}: before any GO, exactly the cues before the first manual one have times",
            file.display()
        );
        let manual: Vec<_> = planned.cues.iter().filter(|c| c.manual).collect();
        // GOs are given on the show clock; cues keep score time (loops repeat stretches).
        let show_s = |score_s: f64| somnia::show::loops::show_time(&planned.loops, score_s);
        let on_time: Vec<(String, f64)> = manual
            .iter()
            .map(|c| (c.key.clone(), show_s(c.planned_s.unwrap())))
            .collect();
        assert_eq!(
            live(on_time.clone()).audio,
            planned.audio,
            "{}: every GO on time is the render",
            file.display()
        );
        for shift_s in [7.3, -2.1] {
            let moved: Vec<(String, f64)> = on_time
                .iter()
                .map(|(k, t)| (k.clone(), t + shift_s))
                .collect();
            let t = live(moved);
            // Every cue has its time, each GOne cue fires at its GO, and the end moves with
            // the last act.
            assert!(
                t.cues.iter().all(|c| c.fire_s.is_some()),
                "{}",
                file.display()
            );
            for c in t.cues.iter().filter(|c| c.manual) {
                let fired = show_s(c.fire_s.unwrap());
                let planned_s = show_s(c.planned_s.unwrap());
                assert!(
                    (fired - planned_s - shift_s).abs() < 1e-6,
                    "{}: `{}` fired at {fired} s, GOne at {} s",
                    file.display(),
                    c.key,
                    planned_s + shift_s
                );
            }
            assert!(
                manual.is_empty()
                    || (t.duration_s - planned.duration_s).signum() == shift_s.signum(),
                "{}: the end moves with the GO ({} s, planned {} s)",
                file.display(),
                t.duration_s,
                planned.duration_s
            );
        }
        gone += manual.len();
    }
    assert!(gone >= 5, "the story shows' GOs were tried: {gone}");
}
