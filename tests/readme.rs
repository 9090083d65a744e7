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
