//! Every shipped performance passes `somnia check` and renders its first 20 seconds offline
//! (sound and frames, small and at a low frame rate to keep the suite quick): the files a user
//! gets must work as they are.

mod common;

use common::*;

#[test]
fn every_shipped_performance_checks_and_renders_its_first_20_seconds() {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("performances"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
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
