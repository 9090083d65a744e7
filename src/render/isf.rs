//! ISF (the Interactive Shader Format of VDMX, Resolume Wire and the ISF editor's library)
//! translated for Somnia: the JSON header read by the `isf` crate, the GLSL rewritten to
//! version 450 (the built-ins, the inputs as uniforms, `IMG_*` over split textures and a
//! sampler, `gl_FragColor`, `varying`) and parsed by naga's GLSL front end, then validated like
//! any WGSL layer before it could reach the GPU. Every error names the ISF file's own line and
//! column: the rewrite keeps the body's lines where they were (the header becomes blank lines)
//! and only prepends.
//!
//! This is the translation and its check (`somnia check shader.fs`); `isf_layer` plays it.

use std::path::Path;

use wgpu::naga;

use crate::show::diag::{Diagnostic, line_col};

/// An ISF shader translated and validated: what an ISF layer is built from.
#[derive(Debug)]
pub struct IsfShader {
    pub header: isf::Isf,
    pub fragment: naga::Module,
    /// For a shader of several passes, the fragment stage once per pass with `PASSINDEX` a
    /// constant: each pass's pipeline then holds only its own branch. (GPU compilers do not
    /// always see that a branch on a uniform goes one way for the whole draw; lavapipe ran
    /// every pass's branches in every pass, nearly twice the cost of a two-pass shader.)
    /// Empty for a single pass.
    pub pass_fragments: Vec<naga::Module>,
    /// The vertex stage: the custom one (`NAME.vs` beside `NAME.fs`), or ISF's default.
    pub vertex: naga::Module,
    /// The translated GLSL of both stages: equal text, equal pipelines.
    pub glsl: String,
    /// The textures of set 1, by binding: the image inputs (image, audio, audioFFT), the
    /// passes' targets, then the imported images.
    pub images: Vec<String>,
    /// Where each pass binds its own textures instead (a Shadertoy pass's four channels);
    /// empty when every pass binds `images`.
    pub pass_images: Vec<Vec<String>>,
}

impl IsfShader {
    /// The `IsfInputs` block's members as (name, byte offset, size), and the block's size:
    /// where each input's value is written. Read off the translated module, so the layout is
    /// the one the GPU reads, not a second reckoning of std140.
    pub fn input_layout(&self) -> (Vec<(String, u32)>, u32) {
        let m = &self.fragment;
        let mut layouter = naga::proc::Layouter::default();
        if layouter.update(m.to_ctx()).is_err() {
            return (Vec::new(), 0);
        }
        let block = m.global_variables.iter().find(|(_, g)| {
            g.binding
                .as_ref()
                .is_some_and(|b| b.group == 0 && b.binding == 1)
        });
        let Some((_, g)) = block else {
            return (Vec::new(), 0);
        };
        let naga::TypeInner::Struct { members, span } = &m.types[g.ty].inner else {
            return (Vec::new(), 0);
        };
        let fields = members
            .iter()
            .map(|mm| (mm.name.clone().unwrap_or_default(), mm.offset))
            .collect();
        (fields, *span)
    }
}

/// The texture names of set 1, in binding order, each once.
fn image_names(header: &isf::Isf) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    let inputs = header.inputs.iter().filter(|i| {
        matches!(
            i.ty,
            isf::InputType::Image | isf::InputType::Audio(_) | isf::InputType::AudioFft(_)
        )
    });
    let names = inputs
        .map(|i| i.name.clone())
        .chain(header.passes.iter().filter_map(|p| p.target.clone()))
        .chain(header.imported.keys().cloned());
    for n in names {
        if !images.contains(&n) {
            images.push(n);
        }
    }
    images
}

/// Which stage a source is for: the prelude and the varyings' direction differ.
#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Vertex,
    Fragment,
}

/// How the ISF built-ins and each input become GLSL 450: the declarations prepended to the
/// body. Images (the inputs, the passes' targets and the imports) are textures beside one
/// sampler, read through the `IMG_*` macros, which flip Y: ISF's coordinates grow upwards,
/// wgpu's textures are stored top row first.
fn prelude(header: &isf::Isf, images: &[String], stage: Stage, pass: Option<usize>) -> String {
    let mut p = String::from("#version 450\n");
    // One pass's own fragment stage reads its index as a constant (the block keeps its
    // layout, the member renamed).
    let pass_index = match pass {
        Some(_) => "isf_pass_index",
        None => "PASSINDEX",
    };
    p.push_str(&format!(
        "layout(set = 0, binding = 0) uniform IsfBuiltins {{ float TIME; float TIMEDELTA; \
         int FRAMEINDEX; int {pass_index}; vec2 RENDERSIZE; vec4 DATE; }};\n"
    ));
    if let Some(k) = pass {
        p.push_str(&format!("const int PASSINDEX = {k};\n"));
    }
    let mut fields = String::new();
    let mut defines = String::new();
    for input in &header.inputs {
        let n = &input.name;
        match &input.ty {
            isf::InputType::Float(_) => fields.push_str(&format!(" float {n};")),
            isf::InputType::Long(_) => fields.push_str(&format!(" int {n};")),
            // A uniform block holds no bool: a float, read into a global of the input's name
            // as `main` starts (a macro would also rewrite swizzles: `.r` for an input `r`).
            isf::InputType::Bool(_) | isf::InputType::Event => {
                fields.push_str(&format!(" float isf_bool_{n};"));
                defines.push_str(&format!("bool {n};\n"));
            }
            isf::InputType::Color(_) => fields.push_str(&format!(" vec4 {n};")),
            isf::InputType::Point2d(_) => fields.push_str(&format!(" vec2 {n};")),
            isf::InputType::Image | isf::InputType::Audio(_) | isf::InputType::AudioFft(_) => {}
        }
    }
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
            "layout(set = 1, binding = {k}) uniform texture2D {image};\n\
             #define _{image}_imgRect vec4(0.0, 0.0, 1.0, 1.0)\n\
             #define _{image}_imgSize IMG_SIZE({image})\n\
             #define _{image}_flip false\n"
        ));
    }
    p.push_str("vec2 isf_flip(vec2 c) { return vec2(c.x, 1.0 - c.y); }\n");
    match stage {
        Stage::Fragment => p.push_str(
            "layout(location = 0) in vec2 isf_FragNormCoord;\n\
             layout(location = 0) out vec4 isf_FragColor;\n\
             #define gl_FragColor isf_FragColor\n\
             #define gl_FragCoord vec4(gl_FragCoord.x, RENDERSIZE.y - gl_FragCoord.y, gl_FragCoord.zw)\n\
             #define isf_sample(img, c) texture(sampler2D(img, isf_sampler), c)\n",
        ),
        // The vertex stage has no derivatives to pick a mip level by: level 0.
        Stage::Vertex => p.push_str(
            "layout(location = 0) out vec2 isf_FragNormCoord;\n\
             #define isf_sample(img, c) textureLod(sampler2D(img, isf_sampler), c, 0.0)\n\
             void isf_vertShaderInit() {\n\
                 vec2 p = vec2(float((gl_VertexIndex << 1) & 2), float(gl_VertexIndex & 2));\n\
                 gl_Position = vec4(p.x * 2.0 - 1.0, 1.0 - p.y * 2.0, 0.0, 1.0);\n\
                 isf_FragNormCoord = vec2(p.x, 1.0 - p.y);\n\
             }\n",
        ),
    }
    p.push_str(
        "#define vv_FragNormCoord isf_FragNormCoord\n\
         #define IMG_SIZE(img) vec2(textureSize(sampler2D(img, isf_sampler), 0))\n\
         #define IMG_NORM_PIXEL(img, c) isf_sample(img, isf_flip(c))\n\
         #define IMG_PIXEL(img, c) isf_sample(img, isf_flip((c) / IMG_SIZE(img)))\n\
         #define IMG_THIS_PIXEL(img) IMG_NORM_PIXEL(img, isf_FragNormCoord)\n\
         #define IMG_THIS_NORM_PIXEL(img) IMG_NORM_PIXEL(img, isf_FragNormCoord)\n",
    );
    p
}

/// Where the values a custom vertex stage hands the fragment stage go: by name, so both
/// stages agree whatever order (or `#if` branch) each declares them in. Location 0 is
/// `isf_FragNormCoord`.
#[derive(Default)]
struct Varyings {
    /// (name, first location).
    placed: Vec<(String, u32)>,
    next: u32,
}

impl Varyings {
    fn new() -> Self {
        Self {
            placed: Vec::new(),
            next: 1,
        }
    }

    fn location(&mut self, name: &str, count: u32) -> u32 {
        if let Some((_, at)) = self.placed.iter().find(|(n, _)| n == name) {
            return *at;
        }
        let at = self.next;
        self.next += count.max(1);
        self.placed.push((name.to_string(), at));
        at
    }

    /// Places every varying `src` declares.
    fn scan(&mut self, src: &str) {
        for line in src.lines() {
            if let Some(d) = Declaration::parse(line) {
                for (name, count) in &d.names {
                    self.location(name, *count);
                }
            }
        }
    }
}

/// A line declaring values passed between the stages: `varying vec2 a, b[4];` (GLSL 1.2) or
/// `in` / `out` (3.3 and later), outside any function.
struct Declaration<'a> {
    indent: &'a str,
    /// The type with any interpolation or precision words before it.
    ty: String,
    /// Each name and how many locations it takes (an array, its length).
    names: Vec<(String, u32)>,
    /// What follows the `;` (a comment).
    rest: &'a str,
}

impl<'a> Declaration<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let after = ["varying", "in", "out"].iter().find_map(|q| {
            trimmed
                .strip_prefix(q)
                .filter(|r| r.starts_with([' ', '\t']))
        })?;
        let semi = after.find(';')?;
        let (decl, rest) = (&after[..semi], &after[semi + 1..]);
        let mut words: Vec<&str> = decl.split_whitespace().collect();
        let modifiers = [
            "flat",
            "smooth",
            "noperspective",
            "highp",
            "mediump",
            "lowp",
        ];
        let mut ty = Vec::new();
        while let Some(w) = words.first().filter(|w| modifiers.contains(w)) {
            ty.push(*w);
            words.remove(0);
        }
        if words.is_empty() {
            return None;
        }
        ty.push(words.remove(0));
        let names_text = words.join(" ");
        let mut names = Vec::new();
        for part in names_text.split(',') {
            let part: String = part.chars().filter(|c| !c.is_whitespace()).collect();
            let (name, count) = match part.split_once('[') {
                Some((n, len)) => (n.to_string(), len.trim_end_matches(']').parse().ok()?),
                None => (part, 1),
            };
            let ident = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ident {
                return None;
            }
            names.push((name, count));
        }
        Some(Self {
            indent,
            ty: ty.join(" "),
            names,
            rest,
        })
    }
}

/// The body as GLSL 450: the header comment blanked to its newlines (so every line stays
/// where it was), any `#version` dropped (the prelude has one), and each value passed between
/// the stages declared `in` (fragment) or `out` (vertex) at its agreed location.
fn body(src: &str, varyings: &mut Varyings, stage: Stage, header_comment: bool) -> String {
    let header_end = match header_comment {
        true => src
            .find("/*")
            .and_then(|start| src[start..].find("*/").map(|end| start + end + 2))
            .unwrap_or(0),
        false => 0,
    };
    let mut out: String = src[..header_end].chars().filter(|c| *c == '\n').collect();
    let direction = match stage {
        Stage::Vertex => "out",
        Stage::Fragment => "in",
    };
    for line in src[header_end..].split_inclusive('\n') {
        let newline = if line.ends_with('\n') { "\n" } else { "" };
        if line.trim_start().starts_with("#version") {
            out.push_str(newline);
            continue;
        }
        match Declaration::parse(line.trim_end_matches(['\n', '\r'])) {
            Some(d) => {
                out.push_str(d.indent);
                for (name, count) in &d.names {
                    let at = varyings.location(name, *count);
                    let array = if *count > 1 {
                        format!("[{count}]")
                    } else {
                        String::new()
                    };
                    out.push_str(&format!(
                        "layout(location = {at}) {direction} {} {name}{array}; ",
                        d.ty
                    ));
                }
                out.push_str(d.rest);
                out.push_str(newline);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The files of the shader's IMPORTED images, by name: each beside the shader (in its own
/// folder or below it) and there. A name that leaves the folder is refused, whatever the
/// file system holds: a shader from a library must not read the rest of the machine.
pub fn imports(
    path: &Path,
    header: &isf::Isf,
) -> Result<Vec<(String, std::path::PathBuf)>, Diagnostic> {
    use std::path::Component;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (name, import) in &header.imported {
        let within = import
            .path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !within {
            return Err(Diagnostic::file(
                path,
                format!(
                    "IMPORTED `{name}`: `{}` leaves the shader's folder",
                    import.path.display()
                ),
            )
            .with_hint("imported images are read from beside the shader only"));
        }
        let file = dir.join(&import.path);
        if !file.is_file() {
            return Err(Diagnostic::file(
                path,
                format!("IMPORTED `{name}`: {} not found", file.display()),
            ));
        }
        out.push((name.clone(), file));
    }
    Ok(out)
}

/// Global variables given their first value where `main` starts, not where they are declared.
/// ISF shaders (the gl-transitions ports above all) initialise globals from the inputs
/// (`float s = pow(progress, 3.0);`), which desktop GL drivers accept and GLSL 4.50 and naga do
/// not; the bool inputs' globals are set there too. Every line stays where it was: a
/// declaration keeps its line (its initialiser blanked, newlines kept) and the assignments go
/// on `main`'s opening line.
fn hoist_globals(body: &str, bools: &[&str]) -> String {
    let b = body.as_bytes();
    let mut out = String::with_capacity(body.len() + 256);
    let mut assignments: String = bools
        .iter()
        .map(|n| format!("{n} = isf_bool_{n} > 0.5; "))
        .collect();
    // Top-level statements: [start, end) spans of text at brace depth 0.
    let (mut i, mut depth, mut start, mut copied) = (0, 0usize, 0, 0);
    let mut main_brace = None;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        // A comment before a statement is not part of it.
        let blank_so_far = depth == 0 && body[start..i].trim().is_empty();
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            if blank_so_far {
                start = i;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i = (i + 2).min(b.len());
            if blank_so_far {
                start = i;
            }
            continue;
        }
        if line_start && c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            if depth == 0 {
                start = i;
            }
            continue;
        }
        if c == b'\n' {
            line_start = true;
        } else if !c.is_ascii_whitespace() {
            line_start = false;
        }
        match c {
            b'{' => {
                if depth == 0 && main_brace.is_none() && is_main_head(&body[start..i]) {
                    main_brace = Some(i);
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    start = i + 1;
                }
            }
            b';' if depth == 0 => {
                if let Some((kept, assigned)) = split_initialised(&body[start..i]) {
                    out.push_str(&body[copied..start]);
                    out.push_str(&kept);
                    copied = i;
                    assignments.push_str(&assigned);
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let i = i.min(body.len());
    match main_brace {
        Some(brace) if !assignments.is_empty() => {
            if brace < copied {
                // Cannot happen (main's brace comes after the globals it follows); keep it as
                // it was rather than misplace code.
                return body.to_string();
            }
            out.push_str(&body[copied..=brace]);
            out.push(' ');
            out.push_str(&assignments);
            out.push_str(&body[brace + 1..i]);
        }
        _ => out.push_str(&body[copied..i]),
    }
    out
}

/// Whether the text before a `{` at the top level is `void main()`.
fn is_main_head(text: &str) -> bool {
    let words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let words = words.replace(" (", "(");
    words.ends_with("main()") || words.ends_with("main(void)")
}

/// A top-level declaration with initialisers (`vec2 a = x, b;`, without its `;`) as the
/// declaration alone (newlines kept) and the assignments for `main`; `None` for anything else
/// (constants, uniforms, prototypes, declarations without a value).
fn split_initialised(statement: &str) -> Option<(String, String)> {
    let trimmed = statement.trim_start();
    let first = trimmed.split_whitespace().next()?;
    let skip = [
        "const",
        "uniform",
        "in",
        "out",
        "varying",
        "layout",
        "precision",
        "struct",
        "attribute",
    ];
    if skip.contains(&first) || !statement.contains('=') {
        return None;
    }
    // Declarators split at commas outside parentheses and brackets.
    let mut parts = Vec::new();
    let (mut level, mut from) = (0i32, 0);
    for (k, ch) in statement.char_indices() {
        match ch {
            '(' | '[' => level += 1,
            ')' | ']' => level -= 1,
            ',' if level == 0 => {
                parts.push(&statement[from..k]);
                from = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&statement[from..]);
    let newlines = |t: &str| t.chars().filter(|c| *c == '\n').collect::<String>();
    let ident = |t: &str| {
        let t = t.trim();
        !t.is_empty()
            && t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let (mut kept, mut assigned) = (String::new(), String::new());
    for (k, part) in parts.iter().enumerate() {
        let (declarator, value) = match part.split_once('=') {
            Some((d, v)) => (d, Some(v)),
            None => (*part, None),
        };
        // The first declarator carries the type: `[precision] TYPE NAME[N]`.
        let words: Vec<&str> = declarator.split_whitespace().collect();
        let name_word = words.last()?;
        let name = name_word.split('[').next()?;
        let type_ok = match k {
            0 => {
                (2..=3).contains(&words.len()) && words[..words.len() - 1].iter().all(|w| ident(w))
            }
            _ => words.len() == 1,
        };
        if !type_ok || !ident(name) {
            return None;
        }
        if k > 0 {
            kept.push(',');
        }
        kept.push_str(declarator);
        if let Some(v) = value {
            kept.push_str(&newlines(v));
            let v: String = v.chars().map(|c| if c == '\n' { ' ' } else { c }).collect();
            assigned.push_str(&format!("{name} = {}; ", v.trim()));
        }
    }
    Some((kept, assigned))
}

/// Reads the ISF shader at `path` and its custom vertex stage (the `.vs` of the same name
/// beside it, if there is one), translates and validates them.
pub fn load(path: &Path) -> Result<IsfShader, Diagnostic> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::file(path, format!("cannot read shader: {e}")))?;
    if super::shadertoy::is_shadertoy(path) {
        return translate_any(path, &src, None);
    }
    let vs_path = path.with_extension("vs");
    let vs = match std::fs::read_to_string(&vs_path) {
        Ok(vs) => Some(vs),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Diagnostic::file(
                &vs_path,
                format!("cannot read the vertex shader: {e}"),
            ));
        }
    };
    translate_with_vertex(path, &src, vs.as_deref().map(|v| (vs_path.as_path(), v)))
}

/// Translates and validates the ISF shader `src` (from `path`), with no custom vertex stage.
pub fn translate(path: &Path, src: &str) -> Result<IsfShader, Diagnostic> {
    translate_with_vertex(path, src, None)
}

/// Translates and validates the ISF shader `src` (from `path`) and its custom vertex stage
/// `vertex` (path, source), if any.
pub fn translate_with_vertex(
    path: &Path,
    src: &str,
    vertex: Option<(&Path, &str)>,
) -> Result<IsfShader, Diagnostic> {
    let header = isf::parse(src).map_err(|e| header_error(path, src, &e))?;
    let images = image_names(&header);
    let mut varyings = Varyings::new();
    varyings.scan(&src[src.find("*/").map_or(0, |e| e + 2)..]);
    let bools: Vec<&str> = header
        .inputs
        .iter()
        .filter(|i| matches!(i.ty, isf::InputType::Bool(_) | isf::InputType::Event))
        .map(|i| i.name.as_str())
        .collect();
    let fs_body = hoist_globals(&body(src, &mut varyings, Stage::Fragment, true), &bools);
    let fs_glsl = prelude(&header, &images, Stage::Fragment, None) + &fs_body;
    let fragment = parse_stage(path, src, &fs_glsl, naga::ShaderStage::Fragment)?;
    let mut pass_fragments = Vec::new();
    if header.passes.len() > 1 {
        for k in 0..header.passes.len() {
            let glsl = prelude(&header, &images, Stage::Fragment, Some(k)) + &fs_body;
            // The general stage validated: one that does not specialise keeps it.
            match parse_stage(path, src, &glsl, naga::ShaderStage::Fragment) {
                Ok(m) => pass_fragments.push(m),
                Err(_) => {
                    pass_fragments.clear();
                    break;
                }
            }
        }
    }
    // The default vertex stage: ISF's own, with nothing more to hand on.
    let (vs_path, vs_src) = vertex.unwrap_or((path, "void main() { isf_vertShaderInit(); }\n"));
    let vs_glsl = prelude(&header, &images, Stage::Vertex, None)
        + &hoist_globals(&body(vs_src, &mut varyings, Stage::Vertex, false), &bools);
    let vertex = parse_stage(vs_path, vs_src, &vs_glsl, naga::ShaderStage::Vertex)?;
    let glsl = fs_glsl + &vs_glsl;
    imports(path, &header)?;
    Ok(IsfShader {
        header,
        fragment,
        pass_fragments,
        vertex,
        glsl,
        images,
        pass_images: Vec::new(),
    })
}

/// ISF's default vertex stage for `header` (a Shadertoy shader's, whose passes have no
/// vertex stage of their own), and its GLSL.
pub(super) fn default_vertex(
    path: &Path,
    header: &isf::Isf,
) -> Result<(naga::Module, String), Diagnostic> {
    let src = "void main() { isf_vertShaderInit(); }\n";
    let glsl = prelude(header, &image_names(header), Stage::Vertex, None) + src;
    Ok((
        parse_stage(path, src, &glsl, naga::ShaderStage::Vertex)?,
        glsl,
    ))
}

/// [`parse_stage`] for a Shadertoy pass.
pub(super) fn parse_pass(
    path: &Path,
    src: &str,
    glsl: &str,
    stage: naga::ShaderStage,
) -> Result<naga::Module, Diagnostic> {
    parse_stage(path, src, glsl, stage)
}

/// The byte offset of 1-based `line`, `col` in `src` (a JSON error's place).
pub(super) fn offset_of_pub(src: &str, line: usize, col: usize) -> usize {
    offset_of(src, line, col)
}

/// Reads and translates a layer's shader of either kind the ISF machinery plays: ISF (`.fs`,
/// with its `.vs`) or Shadertoy (`.glsl`, `.json`). `text` is the file's; `vs` the custom
/// vertex stage's, if any.
pub fn translate_any(path: &Path, text: &str, vs: Option<&str>) -> Result<IsfShader, Diagnostic> {
    if super::shadertoy::is_shadertoy(path) {
        let source = super::shadertoy::read(path, text)?;
        return super::shadertoy::translate(path, &source);
    }
    let vs_path = path.with_extension("vs");
    translate_with_vertex(path, text, vs.map(|v| (vs_path.as_path(), v)))
}

/// Parses and validates one stage's translated `glsl`; errors are placed in `src` (the
/// file's own text at `path`), whose lines follow the prelude's.
fn parse_stage(
    path: &Path,
    src: &str,
    glsl: &str,
    stage: naga::ShaderStage,
) -> Result<naga::Module, Diagnostic> {
    let prelude_lines = glsl.matches('\n').count() - src.matches('\n').count();
    // A place in the translated source, as a place in the ISF file.
    let located = |offset: Option<usize>, message: String| match offset {
        Some(offset) => {
            let (line, col) = line_col(glsl, offset.min(glsl.len()));
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
    let options = naga::front::glsl::Options::from(stage);
    let module = frontend.parse(&options, glsl).map_err(|e| {
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
    Ok(module)
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
            s.fragment
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
    fn globals_set_from_inputs_get_their_values_as_main_starts_and_lines_stay_put() {
        let src = "/*{ \"INPUTS\": [ { \"NAME\": \"progress\", \"TYPE\": \"float\" }, \
                   { \"NAME\": \"r\", \"TYPE\": \"bool\" } ] }*/\n\
                   const float k = 2.0;\n\
                   // the curve\n\
                   float s = pow(2.0 * abs(progress - 0.5),\n    3.0), t;\n\
                   vec2 ratio = vec2(1.0, RENDERSIZE.y / RENDERSIZE.x);\n\
                   void main() {\n\
                   vec4 c = vec4(s, ratio, 1.0);\n\
                   gl_FragColor = r ? c.r * vec4(k) : c;\n}\n";
        let b = hoist_globals(
            &body(src, &mut Varyings::new(), Stage::Fragment, true),
            &["r"],
        );
        assert_eq!(b.lines().count(), src.lines().count(), "{b}");
        let lines: Vec<&str> = b.lines().collect();
        assert_eq!(lines[1], "const float k = 2.0;");
        assert_eq!(lines[3].trim(), "float s");
        assert_eq!(lines[4].trim(), ", t;");
        assert!(
            lines[6].starts_with("void main() { r = isf_bool_r > 0.5; s = pow("),
            "{b}"
        );
        assert!(
            lines[6].contains("ratio = vec2(1.0, RENDERSIZE.y / RENDERSIZE.x);"),
            "{b}"
        );
        let shader = translate(path(), src).unwrap();
        assert!(shader.glsl.contains("bool r;"));
    }

    #[test]
    fn varyings_from_a_custom_vertex_shader_become_inputs_and_lines_stay_put() {
        let src = "/*{ \"INPUTS\": [] }*/\nvarying vec2 left;\nvoid main() {\n    gl_FragColor = vec4(left, 0.0, 1.0);\n}\n";
        let b = body(src, &mut Varyings::new(), Stage::Fragment, true);
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
