//! ISF (the Interactive Shader Format of VDMX, Resolume Wire and the ISF editor's library)
//! translated for Somnia: the JSON header read by the `isf` crate, the GLSL rewritten to
//! version 450 (the built-ins, the inputs as uniforms, `IMG_*` over split textures and a
//! sampler, `gl_FragColor`, `varying`) and parsed by naga's GLSL front end, then validated like
//! any WGSL layer before it could reach the GPU. Every error names the ISF file's own line and
//! column: the rewrite keeps the body's lines where they were (the header becomes blank lines)
//! and only prepends.
//!
//! This is the translation and its check (`somnia check shader.fs`); layers do not play ISF
//! shaders yet.

use std::path::Path;

use wgpu::naga;

use crate::show::diag::{Diagnostic, line_col};

/// An ISF shader translated and validated.
#[derive(Debug)]
pub struct IsfShader {
    pub header: isf::Isf,
    pub module: naga::Module,
}

/// How the ISF built-ins and each input become GLSL 450: the declarations prepended to the
/// body. Images (the inputs, the passes' targets and the imports) are textures beside one
/// sampler, read through the `IMG_*` macros.
fn prelude(header: &isf::Isf) -> String {
    let mut p = String::from("#version 450\n");
    p.push_str(
        "layout(set = 0, binding = 0) uniform IsfBuiltins { float TIME; float TIMEDELTA; \
         int FRAMEINDEX; int PASSINDEX; vec2 RENDERSIZE; vec4 DATE; };\n",
    );
    let mut fields = String::new();
    let mut defines = String::new();
    let mut images = Vec::new();
    for input in &header.inputs {
        let n = &input.name;
        match &input.ty {
            isf::InputType::Float(_) => fields.push_str(&format!(" float {n};")),
            isf::InputType::Long(_) => fields.push_str(&format!(" int {n};")),
            // A uniform block holds no bool: a float read as one.
            isf::InputType::Bool(_) | isf::InputType::Event => {
                fields.push_str(&format!(" float isf_bool_{n};"));
                defines.push_str(&format!("#define {n} (isf_bool_{n} > 0.5)\n"));
            }
            isf::InputType::Color(_) => fields.push_str(&format!(" vec4 {n};")),
            isf::InputType::Point2d(_) => fields.push_str(&format!(" vec2 {n};")),
            isf::InputType::Image | isf::InputType::Audio(_) | isf::InputType::AudioFft(_) => {
                images.push(n.clone())
            }
        }
    }
    images.extend(header.passes.iter().filter_map(|p| p.target.clone()));
    images.extend(header.imported.keys().cloned());
    if fields.is_empty() {
        fields.push_str(" float isf_no_inputs;");
    }
    p.push_str(&format!(
        "layout(set = 0, binding = 1) uniform IsfInputs {{{fields} }};\n"
    ));
    p.push_str(&defines);
    p.push_str("layout(set = 0, binding = 2) uniform sampler isf_sampler;\n");
    for (k, image) in images.iter().enumerate() {
        p.push_str(&format!(
            "layout(set = 1, binding = {k}) uniform texture2D {image};\n"
        ));
    }
    p.push_str(
        "layout(location = 0) in vec2 isf_FragNormCoord;\n\
         layout(location = 0) out vec4 isf_FragColor;\n\
         #define gl_FragColor isf_FragColor\n\
         #define vv_FragNormCoord isf_FragNormCoord\n\
         #define IMG_NORM_PIXEL(img, c) texture(sampler2D(img, isf_sampler), c)\n\
         #define IMG_SIZE(img) vec2(textureSize(sampler2D(img, isf_sampler), 0))\n\
         #define IMG_PIXEL(img, c) texture(sampler2D(img, isf_sampler), (c) / IMG_SIZE(img))\n\
         #define IMG_THIS_PIXEL(img) texture(sampler2D(img, isf_sampler), isf_FragNormCoord)\n\
         #define IMG_THIS_NORM_PIXEL(img) texture(sampler2D(img, isf_sampler), isf_FragNormCoord)\n",
    );
    p
}

/// The body as GLSL 450: the header comment blanked to its newlines (so every line stays
/// where it was) and each `varying` (a value from a custom vertex shader) an input at a
/// location of its own.
fn body(src: &str) -> String {
    let header_end = src
        .find("/*")
        .and_then(|start| src[start..].find("*/").map(|end| start + end + 2))
        .unwrap_or(0);
    let mut out: String = src[..header_end].chars().filter(|c| *c == '\n').collect();
    let mut location = 0;
    for line in src[header_end..].split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        match line.trim_start().strip_prefix("varying ") {
            Some(rest) => {
                location += 1;
                out.push_str(&line[..indent]);
                out.push_str(&format!("layout(location = {location}) in {rest}"));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Reads, translates and validates the ISF shader `src` (from `path`).
pub fn translate(path: &Path, src: &str) -> Result<IsfShader, Diagnostic> {
    let header = isf::parse(src).map_err(|e| header_error(path, src, &e))?;
    let prelude = prelude(&header);
    let prelude_lines = prelude.matches('\n').count();
    let source = prelude + &body(src);
    // A place in the translated source, as a place in the ISF file.
    let located = |offset: Option<usize>, message: String| match offset {
        Some(offset) => {
            let (line, col) = line_col(&source, offset.min(source.len()));
            match line.checked_sub(prelude_lines) {
                Some(line) if line >= 1 => {
                    let at = offset_of(src, line, col);
                    Diagnostic::at(path, src, at..at, message)
                }
                // In what Somnia prepends: a name the shader declares clashes with it.
                _ => Diagnostic::file(path, message).with_hint(
                    "the error is in the declarations Somnia adds for ISF's built-ins and \
                     inputs; check the shader's names do not clash with them",
                ),
            }
        }
        None => Diagnostic::file(path, message),
    };
    let mut frontend = naga::front::glsl::Frontend::default();
    let options = naga::front::glsl::Options::from(naga::ShaderStage::Fragment);
    let module = frontend.parse(&options, &source).map_err(|e| {
        let first = e.errors.first();
        let message = first.map_or_else(|| e.to_string(), |err| err.kind.to_string());
        let offset = first
            .and_then(|err| err.meta.to_range())
            .map(|range| range.start);
        located(offset, message)
    })?;
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    );
    validator.validate(&module).map_err(|e| {
        let message = super::shader::validation_message(&e);
        let offset = e
            .spans()
            .next()
            .and_then(|(span, _)| span.to_range())
            .map(|r| r.start);
        located(offset, message)
    })?;
    Ok(IsfShader { header, module })
}

/// The byte offset of 1-based `line`, `col` (in characters) in `src`, clamped to the text.
fn offset_of(src: &str, line: usize, col: usize) -> usize {
    let start: usize = src
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = &src[start.min(src.len())..];
    let within = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    (start + within).min(src.len())
}

/// A header the `isf` crate could not read, located in the file where serde_json says.
fn header_error(path: &Path, src: &str, e: &isf::ParseError) -> Diagnostic {
    match e {
        isf::ParseError::MissingTopComment => Diagnostic::file(
            path,
            "no ISF header: an ISF shader starts with a /* { JSON } */ comment",
        )
        .with_hint("see https://github.com/mrRay/ISF_Spec"),
        isf::ParseError::Json { err } => {
            // The JSON is the first comment's contents, trimmed.
            let start = src.find("/*").map_or(0, |s| s + 2);
            let json_start = start + (src[start..].len() - src[start..].trim_start().len());
            let (line0, col0) = line_col(src, json_start);
            let (line, col) = match err.line() {
                0 | 1 => (line0, col0 + err.column().saturating_sub(1)),
                n => (line0 + n - 1, err.column()),
            };
            let at = offset_of(src, line, col);
            Diagnostic::at(path, src, at..at, format!("ISF header: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERATOR: &str = r#"/*{
    "DESCRIPTION": "Rings",
    "CATEGORIES": ["Generator"],
    "INPUTS": [
        { "NAME": "speed", "TYPE": "float", "DEFAULT": 1.0, "MIN": 0.0, "MAX": 4.0 },
        { "NAME": "invert", "TYPE": "bool", "DEFAULT": false },
        { "NAME": "count", "TYPE": "long", "VALUES": [2, 4, 8], "LABELS": ["2", "4", "8"], "DEFAULT": 4 },
        { "NAME": "tint", "TYPE": "color", "DEFAULT": [1.0, 0.5, 0.0, 1.0] },
        { "NAME": "centre", "TYPE": "point2D", "DEFAULT": [0.5, 0.5] }
    ]
}*/

void main() {
    float d = distance(isf_FragNormCoord, centre / RENDERSIZE);
    float v = fract(d * float(count) - TIME * speed);
    if (invert) v = 1.0 - v;
    gl_FragColor = tint * v;
}
"#;

    fn path() -> &'static Path {
        Path::new("shaders/rings.fs")
    }

    #[test]
    fn a_generator_with_every_value_input_translates_and_validates() {
        let s = translate(path(), GENERATOR).unwrap();
        assert_eq!(s.header.inputs.len(), 5);
        assert!(
            s.module
                .entry_points
                .iter()
                .any(|e| e.stage == naga::ShaderStage::Fragment)
        );
    }

    #[test]
    fn an_unknown_name_in_the_body_is_reported_at_its_line_and_column_in_the_isf_file() {
        let broken = GENERATOR.replace("TIME * speed", "TIME * sped");
        let d = translate(path(), &broken).unwrap_err();
        assert_eq!((d.line, d.col), (15, 47), "{d}");
        assert!(d.to_string().contains("sped"), "{d}");
        assert!(d.to_string().starts_with("shaders/rings.fs:15:47"), "{d}");
    }

    #[test]
    fn a_header_that_is_not_json_is_reported_where_the_json_breaks() {
        let broken = GENERATOR.replace("\"DEFAULT\": 1.0,", "\"DEFAULT\": 1.0");
        let d = translate(path(), &broken).unwrap_err();
        assert_eq!(d.line, 5, "{d}");
        assert!(d.to_string().contains("ISF header"), "{d}");
        let none = translate(path(), "void main() {}").unwrap_err();
        assert!(none.to_string().contains("no ISF header"), "{none}");
    }

    #[test]
    fn varyings_from_a_custom_vertex_shader_become_inputs_and_lines_stay_put() {
        let src = "/*{ \"INPUTS\": [] }*/\nvarying vec2 left;\nvoid main() {\n    gl_FragColor = vec4(left, 0.0, 1.0);\n}\n";
        let b = body(src);
        assert_eq!(b.lines().count(), src.lines().count());
        assert!(
            b.lines()
                .nth(1)
                .unwrap()
                .starts_with("layout(location = 1) in vec2 left;")
        );
        translate(path(), src).unwrap();
    }
}
