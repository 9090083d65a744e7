//! The public ISF library against Somnia's ISF translation: the `isf` crate (0.1.0) ships the
//! ISF specification's test and tutorial shaders and Vidvox's ISF-Files (321 in all, MIT) in
//! its package. They are found through cargo (`cargo metadata`), not copied here, and every one
//! is translated (naga's GLSL front end) and validated; the table of how many got how far is
//! printed. Rendering them is not part of Somnia yet, so the table says so.

mod common;

use std::path::PathBuf;

use somnia::render::isf::translate;

/// The `isf` package's own folder, as cargo resolved it for this build.
fn isf_package() -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "isf")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("the isf package is a dependency");
    PathBuf::from(manifest).parent().unwrap().to_path_buf()
}

#[test]
fn at_least_95_percent_of_the_public_isf_library_translates_and_validates_and_every_failure_is_located()
 {
    let dir = isf_package().join("test_files");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "fs"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 300,
        "{} shaders in {}",
        files.len(),
        dir.display()
    );
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        if let Err(d) = translate(f, &src) {
            // Located: in the shader itself, past its header, or the header's own place.
            assert!(d.line >= 1 && d.col >= 1, "{d}");
            failures.push(d.to_string());
        }
    }
    let ok = files.len() - failures.len();
    let percent = 100.0 * ok as f64 / files.len() as f64;
    println!(
        "ISF library ({} shaders, the isf crate's test_files):",
        files.len()
    );
    println!("  translated and validated  {ok:>4}  ({percent:.1} %)");
    println!("  refused, with a located error  {:>4}", failures.len());
    println!("  rendered: not yet (ISF layers do not play in Somnia yet)");
    for f in &failures {
        println!("    {f}");
    }
    common::report(
        "measured",
        &format!(
            "ISF library: {ok} of {} shaders translate and validate ({percent:.1} %)",
            files.len()
        ),
    );
    assert!(percent >= 95.0, "{percent:.1} %: {failures:#?}");
}
