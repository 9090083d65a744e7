//! Shadertoy shaders as Somnia layers: a `.glsl` file with `mainImage` (one Image pass), or a
//! Shadertoy JSON export (`.json`: Buffers A to D, Common and the Image pass, each pass's
//! channels as the site set them). Each pass becomes a fragment stage of its own, written in
//! GLSL 450 around the pass's code (the uniforms Shadertoy declares, `iChannel0`..`3` over
//! split textures and a sampler, a `main` calling `mainImage`) and parsed and validated by
//! naga like an ISF shader; the passes then draw through the ISF layer's machinery (a buffer
//! is a persistent half-float target).
//!
//! Orientation: Shadertoy's coordinates grow upwards. Buffers are stored as their passes
//! draw them (row 0 at the bottom), so a buffer read back at `fragCoord / iResolution` is
//! where it was written; only the Image pass turns the picture the right way up for the
//! screen, and a channel showing the picture beneath is read flipped.
//!
//! Channels: in a `.glsl` file iChannel0 is Somnia's sound (Shadertoy's audio texture: the
//! spectrum in the row at y 0.25, the waveform at 0.75), iChannel1 the picture beneath the
//! layer, 2 and 3 black. A JSON export's `buffer` inputs read that buffer, `music`, `mic`,
//! `musicstream` and `webcam`/`video` inputs read the sound and the picture beneath; anything
//! else (textures, cubemaps, the keyboard) is black.

use std::path::Path;

use wgpu::naga;

use super::isf::IsfShader;
use crate::show::Diagnostic;

/// What a channel of a pass reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Channel {
    Black,
    /// Somnia's sound, in Shadertoy's audio texture layout.
    Audio,
    /// The picture beneath the layer.
    Beneath,
    /// Buffer 0..3 (A..D).
    Buffer(usize),
    /// A texture from the site's media, by its file name: read from beside the export when
    /// it is there (PNG or JPEG), else black.
    Image(String),
}

impl Channel {
    /// The texture name the ISF layer binds for it.
    fn image_name(&self) -> String {
        match self {
            Channel::Black => "isf:black".into(),
            Channel::Audio => "isf:audio".into(),
            Channel::Beneath => "isf:beneath".into(),
            Channel::Buffer(b) => buffer_name(*b),
            Channel::Image(file) => image_import_name(file),
        }
    }

    /// Whether it is a picture stored top row first, read flipped (Shadertoy's vflip).
    fn flipped(&self) -> bool {
        matches!(self, Channel::Beneath | Channel::Image(_))
    }
}

/// The import a media file is bound as.
fn image_import_name(file: &str) -> String {
    let plain: String = file
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("isf_media_{plain}")
}

fn buffer_name(b: usize) -> String {
    format!("isf_buffer_{}", (b'a' + b as u8) as char)
}

/// One pass: Buffer A..D or the Image.
#[derive(Clone, Debug)]
pub struct Pass {
    pub name: String,
    pub code: String,
    /// `Some(b)` for Buffer b (0..3), `None` for the Image pass.
    pub buffer: Option<usize>,
    pub channels: [Channel; 4],
}

/// A Shadertoy shader as read from its file.
#[derive(Clone, Debug, Default)]
pub struct Source {
    pub name: String,
    pub author: String,
    pub description: String,
    pub common: String,
    /// Buffers in order A..D, the Image pass last.
    pub passes: Vec<Pass>,
}

pub use crate::show::isf_inputs::is_shadertoy;

/// Reads a Shadertoy shader: `src` is a `.glsl` file's text or a JSON export's.
pub fn read(path: &Path, src: &str) -> Result<Source, Diagnostic> {
    if path.extension().is_some_and(|x| x == "json") {
        return read_json(path, src);
    }
    Ok(Source {
        name: path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("shadertoy")
            .to_string(),
        passes: vec![Pass {
            name: "Image".into(),
            code: src.to_string(),
            buffer: None,
            channels: [
                Channel::Audio,
                Channel::Beneath,
                Channel::Black,
                Channel::Black,
            ],
        }],
        ..Source::default()
    })
}

/// A Shadertoy JSON export (as the site's API gives it: `{"Shader": {...}}`, a list of such,
/// or the shader alone).
fn read_json(path: &Path, src: &str) -> Result<Source, Diagnostic> {
    let json: serde_json::Value = serde_json::from_str(src).map_err(|e| {
        let at = super::isf::offset_of_pub(src, e.line(), e.column());
        Diagnostic::at(path, src, at..at, format!("Shadertoy JSON: {e}"))
    })?;
    let mut shader = &json;
    if let Some(first) = shader.as_array().and_then(|a| a.first()) {
        shader = first;
    }
    if let Some(inner) = shader.get("Shader") {
        shader = inner;
    }
    let bad = |what: &str| {
        Diagnostic::file(path, format!("not a Shadertoy export: {what}")).with_hint(
            "export a shader from Shadertoy's API (its JSON has `info` and `renderpass`)",
        )
    };
    let info = shader.get("info");
    let text = |v: Option<&serde_json::Value>, key: &str| {
        v.and_then(|i| i.get(key))
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string()
    };
    let passes_json = shader
        .get("renderpass")
        .and_then(|r| r.as_array())
        .ok_or_else(|| bad("no `renderpass` list"))?;
    // Each output's id, to the buffer it is (A..D by the pass's name).
    let mut buffer_ids: Vec<(String, usize)> = Vec::new();
    let mut common = String::new();
    let mut raw = Vec::new();
    for p in passes_json {
        let kind = text(Some(p), "type");
        let name = text(Some(p), "name");
        let code = text(Some(p), "code");
        match kind.as_str() {
            "common" => common = code,
            "buffer" => {
                let letter = name
                    .trim()
                    .strip_prefix("Buffer")
                    .map(str::trim)
                    .and_then(|l| l.chars().next())
                    .map(|c| c.to_ascii_uppercase());
                let Some(b) = letter.and_then(|c| "ABCD".find(c)) else {
                    return Err(bad(&format!("a buffer pass named `{name}`")));
                };
                for o in p
                    .get("outputs")
                    .and_then(|o| o.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = o.get("id").map(id_text) {
                        buffer_ids.push((id, b));
                    }
                }
                raw.push((name, code, Some(b), p));
            }
            "image" => raw.push((name, code, None, p)),
            // Sound passes and cubemap passes have no part in a picture.
            _ => {}
        }
    }
    if !raw.iter().any(|(_, _, b, _)| b.is_none()) {
        return Err(bad("no Image pass"));
    }
    let mut passes = Vec::new();
    for (name, code, buffer, p) in raw {
        let mut channels = [
            Channel::Black,
            Channel::Black,
            Channel::Black,
            Channel::Black,
        ];
        for input in p
            .get("inputs")
            .and_then(|i| i.as_array())
            .into_iter()
            .flatten()
        {
            let Some(ch) = input
                .get("channel")
                .and_then(serde_json::Value::as_u64)
                .filter(|c| *c < 4)
            else {
                continue;
            };
            let kind = input
                .get("type")
                .or_else(|| input.get("ctype"))
                .and_then(|t| t.as_str())
                .unwrap_or("");
            channels[ch as usize] = match kind {
                "buffer" => input
                    .get("id")
                    .map(id_text)
                    .and_then(|id| buffer_ids.iter().find(|(i, _)| *i == id))
                    .map_or(Channel::Black, |(_, b)| Channel::Buffer(*b)),
                "music" | "musicstream" | "mic" => Channel::Audio,
                "webcam" | "video" => Channel::Beneath,
                "texture" => {
                    // The site's media file, by name, if it sits beside the export.
                    let file = input
                        .get("src")
                        .or_else(|| input.get("filepath"))
                        .and_then(|s| s.as_str())
                        .and_then(|s| s.rsplit('/').next())
                        .filter(|f| !f.is_empty() && !f.contains(".."))
                        .map(str::to_owned);
                    let beside = |f: &String| path.with_file_name(f).is_file();
                    file.filter(beside).map_or(Channel::Black, Channel::Image)
                }
                _ => Channel::Black,
            };
        }
        passes.push(Pass {
            name,
            code,
            buffer,
            channels,
        });
    }
    // Buffers first, A..D, then the Image: the order Shadertoy draws them in.
    passes.sort_by_key(|p| p.buffer.unwrap_or(usize::MAX));
    Ok(Source {
        name: text(info, "name"),
        author: text(info, "username"),
        description: text(info, "description"),
        common,
        passes,
    })
}

/// An id as text, whether the export wrote it as a number or a string.
fn id_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The declarations a pass's code is wrapped in: Shadertoy's uniforms over the ISF blocks.
fn prelude(pass: &Pass, image: bool) -> String {
    let mut p = String::from("#version 450\n");
    p.push_str(
        "layout(set = 0, binding = 0) uniform IsfBuiltins { float TIME; float TIMEDELTA; \
         int FRAMEINDEX; int PASSINDEX; vec2 RENDERSIZE; vec4 DATE; };\n\
         layout(set = 0, binding = 1) uniform IsfInputs { vec2 mouse; };\n\
         layout(set = 0, binding = 2) uniform sampler isf_sampler;\n",
    );
    for k in 0..4 {
        p.push_str(&format!(
            "layout(set = 1, binding = {k}) uniform texture2D isf_ch{k};\n\
             #define iChannel{k} sampler2D(isf_ch{k}, isf_sampler)\n"
        ));
    }
    // A channel showing a picture stored top row first is read flipped (Shadertoy's vflip).
    for (k, ch) in pass.channels.iter().enumerate() {
        if ch.flipped() {
            p.push_str(&format!(
                "vec4 isf_tex{k}(vec2 uv) {{ return texture(iChannel{k}, vec2(uv.x, 1.0 - uv.y)); }}\n\
                 vec4 isf_tex{k}(vec2 uv, float bias) {{ return texture(iChannel{k}, vec2(uv.x, 1.0 - uv.y), bias); }}\n\
                 vec4 isf_texlod{k}(vec2 uv, float lod) {{ return textureLod(iChannel{k}, vec2(uv.x, 1.0 - uv.y), lod); }}\n\
                 vec4 isf_fetch{k}(ivec2 p, int lod) {{ return texelFetch(iChannel{k}, ivec2(p.x, textureSize(iChannel{k}, lod).y - 1 - p.y), lod); }}\n"
            ));
        }
    }
    p.push_str(
        "#define iTime TIME\n\
         #define iTimeDelta TIMEDELTA\n\
         #define iFrame FRAMEINDEX\n\
         #define iFrameRate (1.0 / max(TIMEDELTA, 1e-6))\n\
         #define iResolution vec3(RENDERSIZE, 1.0)\n\
         #define iDate DATE\n\
         #define iSampleRate 48000.0\n\
         #define iMouse vec4(mouse, 0.0, 0.0)\n\
         #define iChannelTime float[4](TIME, TIME, TIME, TIME)\n\
         #define iChannelResolution vec3[4](vec3(textureSize(iChannel0, 0), 1.0), \
         vec3(textureSize(iChannel1, 0), 1.0), vec3(textureSize(iChannel2, 0), 1.0), \
         vec3(textureSize(iChannel3, 0), 1.0))\n\
         layout(location = 0) in vec2 isf_FragNormCoord;\n\
         layout(location = 0) out vec4 isf_FragColor;\n",
    );
    if image {
        // The Image pass draws the screen: its coordinates grow upwards.
        p.push_str(
            "#define gl_FragCoord vec4(gl_FragCoord.x, RENDERSIZE.y - gl_FragCoord.y, gl_FragCoord.zw)\n",
        );
    }
    p
}

/// A pass's code with its calls on flipped channels rewritten (see [`prelude`]).
fn flip_calls(pass: &Pass, code: &str) -> String {
    let mut out = code.to_string();
    for (k, ch) in pass.channels.iter().enumerate() {
        if !ch.flipped() {
            continue;
        }
        for (call, to) in [
            ("textureLod", format!("isf_texlod{k}(")),
            ("texelFetch", format!("isf_fetch{k}(")),
            ("texture", format!("isf_tex{k}(")),
        ] {
            let mut rewritten = String::with_capacity(out.len());
            let mut rest = out.as_str();
            while let Some(at) = rest.find(call) {
                let before_ok = rest[..at]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                let after = &rest[at + call.len()..];
                let args = after.trim_start();
                let channel = format!("iChannel{k}");
                let matches = before_ok
                    && args.starts_with('(')
                    && args[1..].trim_start().starts_with(&channel)
                    && args[1..].trim_start()[channel.len()..]
                        .trim_start()
                        .starts_with(',');
                if matches {
                    let comma = args.find(',').unwrap_or(0);
                    rewritten.push_str(&rest[..at]);
                    rewritten.push_str(&to);
                    rest = &args[comma + 1..];
                } else {
                    rewritten.push_str(&rest[..at + call.len()]);
                    rest = after;
                }
            }
            rewritten.push_str(rest);
            out = rewritten;
        }
    }
    out
}

/// Translates and validates every pass of `source` (from `path`); errors name the file and,
/// in a JSON export, the pass, with the line and column in the pass's code.
pub fn translate(path: &Path, source: &Source) -> Result<IsfShader, Diagnostic> {
    let mut pass_fragments = Vec::new();
    let mut pass_images = Vec::new();
    let mut glsl_all = String::new();
    let json = path.extension().is_some_and(|x| x == "json");
    for pass in &source.passes {
        let image = pass.buffer.is_none();
        let mut code = flip_calls(pass, &pass.code);
        if !code.ends_with('\n') {
            code.push('\n');
        }
        let common = if source.common.is_empty() {
            String::new()
        } else {
            format!("{}\n", source.common)
        };
        let output = if image {
            "vec4(isf_c.rgb, 1.0)"
        } else {
            "isf_c"
        };
        // On the code's last line, so the code's lines follow the prelude's.
        let wrapper = format!(
            "void main() {{ vec4 isf_c = vec4(0.0, 0.0, 0.0, 1.0); mainImage(isf_c, gl_FragCoord.xy); isf_FragColor = {output}; }}"
        );
        let glsl = prelude(pass, image) + &common + &code + &wrapper;
        let module = super::isf::parse_pass(path, &code, &glsl, naga::ShaderStage::Fragment)
            .map_err(|d| match json {
                true => Diagnostic::file(
                    path,
                    format!(
                        "{} (line {}, column {} of its code): {}",
                        pass.name, d.line, d.col, d.message
                    ),
                ),
                false => d,
            })?;
        glsl_all.push_str(&glsl);
        pass_fragments.push(module);
        pass_images.push(pass.channels.iter().map(Channel::image_name).collect());
    }
    let buffers: Vec<usize> = source.passes.iter().filter_map(|p| p.buffer).collect();
    let header = isf::Isf {
        isfvsn: None,
        vsn: None,
        description: Some(source.description.clone()),
        categories: Vec::new(),
        inputs: vec![isf::Input {
            name: "mouse".into(),
            ty: isf::InputType::Point2d(isf::InputValues {
                default: Some([0.0, 0.0]),
                min: Some([0.0, 0.0]),
                max: Some([1920.0, 1080.0]),
                identity: None,
            }),
        }],
        passes: source
            .passes
            .iter()
            .map(|p| isf::Pass {
                target: p.buffer.map(buffer_name),
                persistent: p.buffer.is_some(),
                float: p.buffer.is_some(),
                width: None,
                height: None,
            })
            .collect(),
        imported: source
            .passes
            .iter()
            .flat_map(|p| p.channels.iter())
            .filter_map(|c| match c {
                Channel::Image(file) => Some((
                    image_import_name(file),
                    isf::ImageImport { path: file.into() },
                )),
                _ => None,
            })
            .collect(),
    };
    let _ = buffers;
    let (vertex, vs_glsl) = super::isf::default_vertex(path, &header)?;
    glsl_all.push_str(&vs_glsl);
    let fragment = pass_fragments
        .last()
        .cloned()
        .ok_or_else(|| Diagnostic::file(path, "no Image pass"))?;
    Ok(IsfShader {
        header,
        fragment,
        pass_fragments: if source.passes.len() > 1 {
            pass_fragments
        } else {
            Vec::new()
        },
        vertex,
        glsl: glsl_all,
        images: pass_images.last().cloned().unwrap_or_default(),
        pass_images,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_on_a_channel_showing_the_picture_beneath_are_read_flipped_and_others_left_alone() {
        let pass = Pass {
            name: "Image".into(),
            code: String::new(),
            buffer: None,
            channels: [
                Channel::Audio,
                Channel::Beneath,
                Channel::Black,
                Channel::Black,
            ],
        };
        let code = "vec4 a = texture(iChannel1, uv);\n\
                    vec4 b = texture( iChannel0 , uv);\n\
                    vec4 c = texelFetch(iChannel1, ivec2(p), 0);\n\
                    vec4 d = textureLod(iChannel1, uv, 2.0);\n\
                    vec4 e = mytexture(iChannel1, uv);\n";
        let out = flip_calls(&pass, code);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "lines stay lines");
        assert_eq!(lines[0], "vec4 a = isf_tex1( uv);");
        assert_eq!(
            lines[1], "vec4 b = texture( iChannel0 , uv);",
            "the sound is not flipped"
        );
        assert_eq!(lines[2], "vec4 c = isf_fetch1( ivec2(p), 0);");
        assert_eq!(lines[3], "vec4 d = isf_texlod1( uv, 2.0);");
        assert_eq!(
            lines[4], "vec4 e = mytexture(iChannel1, uv);",
            "another function's name"
        );
    }

    #[test]
    fn an_export_without_an_image_pass_or_with_broken_json_is_an_error_not_a_panic() {
        let path = Path::new("shaders/toy.json");
        let d = read(path, "{ \"Shader\": { \"renderpass\": [] } }").unwrap_err();
        assert!(d.to_string().contains("no Image pass"), "{d}");
        let d = read(path, "{ \"Shader\": ").unwrap_err();
        assert!(d.to_string().contains("Shadertoy JSON"), "{d}");
        assert_eq!(d.line, 1, "{d}");
        let d = read(path, "[1, 2]").unwrap_err();
        assert!(d.to_string().contains("not a Shadertoy export"), "{d}");
    }
}
