//! The README's shader example is real: it validates against the engine's prelude.

use std::path::Path;

use somnia::render::shader::assemble;
use somnia::show::preset::ParamDef;

#[test]
fn the_readme_layer_shader_example_validates() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("```wgsl\n").expect("README has a wgsl example") + "```wgsl\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let hue = ParamDef {
        name: "hue".into(),
        min: 0.0,
        max: 1.0,
        default: 0.5,
    };
    assemble(Path::new("README.md"), &readme[start..end], &[hue])
        .validate()
        .unwrap_or_else(|d| panic!("{d}"));
}

/// The `n`th ```toml block of the README.
fn toml_block(n: usize) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split("```toml\n")
        .nth(n + 1)
        .expect("README has the toml example");
    block[..block.find("```").unwrap()].to_string()
}

#[test]
fn the_readme_preset_example_is_a_valid_preset_for_the_shipped_shader() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["presets", "shaders"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for shader in ["aurora.wgsl", "kaleido.fs"] {
        std::fs::copy(
            repo.join("shaders").join(shader),
            dir.path().join("shaders").join(shader),
        )
        .unwrap();
    }
    let preset = dir.path().join("presets/example.toml");
    std::fs::write(&preset, toml_block(0)).unwrap();
    let errors = somnia::commands::check::check_file(&preset);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_readme_performance_example_parses() {
    let src = toml_block(1);
    let (_, unknown) = somnia::show::performance::parse_performance(Path::new("README.md"), &src)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(unknown.is_empty(), "{unknown:#?}");
}

#[test]
fn the_readme_midi_map_example_is_a_valid_map() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme
        .find("\n## MIDI\n")
        .expect("README has a MIDI section")..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let src = &section[start..start + section[start..].find("```").unwrap()];
    let map = somnia::control::midi::map_file::parse_map(
        Path::new("README.md"),
        src,
        &["aurora".to_string()],
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        (
            map.cc.len(),
            map.triggers.len(),
            map.seeks.len(),
            map.programs.len()
        ),
        (1, 1, 1, 1)
    );
}
