//! Layer shader assembly and validation. A layer's WGSL is joined to the engine's
//! `common.wgsl` and a `Params` struct generated from the preset's parameter list, then
//! validated with naga before it ever reaches the GPU, so a bad shader is an error message
//! (with the layer file's own line and column), never a crash.

use std::path::{Path, PathBuf};

use wgpu::naga;

use crate::show::diag::Diagnostic;
use crate::show::preset::ParamDef;

/// The standard inputs every layer gets; part of the engine, so it is compiled in.
pub const COMMON_WGSL: &str = include_str!("../../shaders/common.wgsl");

/// Where the combined source's lines came from.
#[derive(Clone, Debug)]
struct Segment {
    path: PathBuf,
    /// 1-based line of the combined source where this segment starts.
    first_line: usize,
    line_count: usize,
    text_start: usize,
}

/// A layer's full WGSL source, with the map back to the files it came from.
#[derive(Clone, Debug)]
pub struct AssembledShader {
    pub source: String,
    segments: Vec<Segment>,
}

/// The generated `Params` declaration for a layer's parameters.
pub fn params_wgsl(params: &[ParamDef]) -> String {
    let mut s = String::from("struct Params {\n");
    if params.is_empty() {
        s.push_str("    _unused: f32,\n");
    }
    for p in params {
        s.push_str(&format!("    {}: f32,\n", p.name));
    }
    s.push_str("};\n@group(0) @binding(1) var<uniform> params: Params;\n");
    s
}

pub fn assemble(layer_path: &Path, layer_src: &str, params: &[ParamDef]) -> AssembledShader {
    let parts = [
        (
            PathBuf::from("shaders/common.wgsl (built in)"),
            COMMON_WGSL.to_string(),
        ),
        (
            PathBuf::from(format!("{} (generated Params)", layer_path.display())),
            params_wgsl(params),
        ),
        (layer_path.to_path_buf(), layer_src.to_string()),
    ];
    let mut source = String::new();
    let mut segments = Vec::new();
    let mut line = 1;
    for (path, mut text) in parts {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let line_count = text.matches('\n').count();
        segments.push(Segment {
            path,
            first_line: line,
            line_count,
            text_start: source.len(),
        });
        source.push_str(&text);
        line += line_count;
    }
    AssembledShader { source, segments }
}

impl AssembledShader {
    /// Maps a byte offset in the combined source to a diagnostic in the original file.
    fn diagnostic_at(&self, offset: Option<usize>, message: String) -> Diagnostic {
        let layer = self.segments.last().expect("three segments");
        let Some(offset) = offset else {
            return Diagnostic::file(&layer.path, message);
        };
        let seg = self
            .segments
            .iter()
            .rev()
            .find(|s| s.text_start <= offset)
            .unwrap_or(layer);
        let local = &self.source[seg.text_start..];
        let local_end = self
            .segments
            .iter()
            .find(|s| s.first_line > seg.first_line)
            .map_or(local.len(), |n| n.text_start - seg.text_start);
        let mut d = Diagnostic::at(
            &seg.path,
            &local[..local_end],
            (offset - seg.text_start)..(offset - seg.text_start),
            message,
        );
        debug_assert!(d.line <= seg.line_count.max(1));
        if !std::ptr::eq(seg, layer) {
            d = d.with_hint("the error is in Somnia's built-in shader code; check the names your layer declares do not clash with it");
        }
        d
    }

    /// Parses and validates the combined source, checking that the layer defines `fs_main`.
    pub fn validate(&self) -> Result<naga::Module, Diagnostic> {
        let module = parse_and_validate(&self.source)
            .map_err(|(offset, msg)| self.diagnostic_at(offset, msg))?;
        let has_fs_main = module
            .entry_points
            .iter()
            .any(|ep| ep.name == "fs_main" && ep.stage == naga::ShaderStage::Fragment);
        if !has_fs_main {
            let layer = self.segments.last().expect("three segments");
            return Err(Diagnostic::file(
                &layer.path,
                "layer shader has no fragment entry point `fs_main`",
            )
            .with_hint("define `@fragment fn fs_main(in: VsOut) -> @location(0) vec4<f32>`"));
        }
        Ok(module)
    }
}

/// Parses and validates WGSL with naga. On failure: the byte offset (if naga knows it) and a
/// message that includes naga's label and the chain of causes.
fn parse_and_validate(src: &str) -> Result<naga::Module, (Option<usize>, String)> {
    let module = naga::front::wgsl::parse_str(src).map_err(|e| {
        let mut msg = e.message().to_string();
        if let Some((_, label)) = e.labels().next() {
            if !label.is_empty() && label != msg {
                msg = format!("{msg}: {label}");
            }
        }
        (e.location(src).map(|l| l.offset as usize), msg)
    })?;
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    );
    validator.validate(&module).map_err(|e| {
        (
            e.location(src).map(|l| l.offset as usize),
            validation_message(&e),
        )
    })?;
    Ok(module)
}

/// A naga validation error in words: its message and the chain of its causes.
pub(crate) fn validation_message(e: &naga::WithSpan<naga::valid::ValidationError>) -> String {
    let mut msg = e.as_inner().to_string();
    let mut cause: &dyn std::error::Error = e.as_inner();
    while let Some(next) = cause.source() {
        msg = format!("{msg}: {next}");
        cause = next;
    }
    msg
}

/// Validates a `common.wgsl` on its own (it is the prelude, not a layer: no `fs_main`).
/// The engine always uses its built-in copy; this catches edits to the file in the repository.
pub fn validate_common(path: &Path) -> Result<(), Diagnostic> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::file(path, format!("cannot read shader: {e}")))?;
    parse_and_validate(&src).map(drop).map_err(|(offset, msg)| {
        let at = offset.unwrap_or(0);
        Diagnostic::at(path, &src, at..at, msg)
    })
}

/// Reads and validates the shader of a layer.
/// The WGSL of a built-in look (`show::preset::builtin_look`), compiled into the binary.
fn builtin_look(path: &Path) -> Option<&'static str> {
    use crate::show::preset::{BLACK_LOOK, REST_LOOK, builtin_look_name};
    match builtin_look_name(path)? {
        BLACK_LOOK => Some(include_str!("looks/black.wgsl")),
        REST_LOOK => Some(include_str!("looks/rest.wgsl")),
        _ => None,
    }
}

/// Checks a preset's layer shader as it would be built: WGSL assembled with its parameters
/// and validated, or an ISF shader (`.fs`, with its `.vs`) translated and validated.
pub fn check_layer(layer: &crate::show::preset::LayerDef) -> Result<(), Diagnostic> {
    if crate::show::preset::is_isf(&layer.shader_path)
        || super::shadertoy::is_shadertoy(&layer.shader_path)
    {
        return super::isf::load(&layer.shader_path).map(|_| ());
    }
    load_and_validate(&layer.shader_path, &layer.params).map(|_| ())
}

pub fn load_and_validate(
    layer_path: &Path,
    params: &[ParamDef],
) -> Result<AssembledShader, Diagnostic> {
    let src = match builtin_look(layer_path) {
        Some(src) => src.to_string(),
        None => std::fs::read_to_string(layer_path)
            .map_err(|e| Diagnostic::file(layer_path, format!("cannot read shader: {e}")))?,
    };
    let shader = assemble(layer_path, &src, params);
    shader.validate()?;
    Ok(shader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str) -> ParamDef {
        ParamDef {
            name: name.into(),
            min: 0.0,
            max: 1.0,
            default: 0.5,
        }
    }

    const GOOD: &str = "@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    return vec4<f32>(params.hue, somnia.rms, fbm(in.uv, 3), 1.0);\n}\n";

    #[test]
    fn a_good_layer_validates_with_its_params() {
        assemble(Path::new("l.wgsl"), GOOD, &[param("hue")])
            .validate()
            .unwrap();
    }

    #[test]
    fn a_syntax_error_is_reported_in_the_layer_file_at_its_line() {
        let bad = "@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    let x = 1.0 +;\n    return vec4<f32>(x);\n}\n";
        let err = assemble(Path::new("l.wgsl"), bad, &[])
            .validate()
            .unwrap_err();
        assert_eq!(err.path, PathBuf::from("l.wgsl"));
        // At the `;` where the operand should be: line 3, column 18.
        assert_eq!((err.line, err.col), (3, 18), "{err}");
    }

    #[test]
    fn an_undeclared_param_is_an_error_on_its_line() {
        let err = assemble(Path::new("l.wgsl"), GOOD, &[])
            .validate()
            .unwrap_err();
        // `params.hue`, with no `hue` declared: line 3, at the member (column 29).
        assert_eq!(
            (err.path.as_path(), err.line, err.col),
            (Path::new("l.wgsl"), 3, 29),
            "{err}"
        );
    }

    #[test]
    fn a_type_error_found_by_validation_is_located() {
        let bad = "@fragment\nfn fs_main(in: VsOut) -> @location(0) vec4<f32> {\n    return vec3<f32>(1.0);\n}\n";
        let err = assemble(Path::new("l.wgsl"), bad, &[])
            .validate()
            .unwrap_err();
        assert_eq!(err.path, PathBuf::from("l.wgsl"), "{err}");
        // At the value returned (a vec3 where a vec4 is declared): line 3, column 12.
        assert_eq!((err.line, err.col), (3, 12), "{err}");
    }

    #[test]
    fn a_layer_without_fs_main_is_rejected() {
        let err = assemble(Path::new("l.wgsl"), "fn f() {}\n", &[])
            .validate()
            .unwrap_err();
        assert!(err.message.contains("fs_main"));
    }
}
