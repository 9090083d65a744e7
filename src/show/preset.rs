//! Presets: one TOML file per preset with a visual layer (a WGSL shader and its named
//! parameters) and an optional audio patch.
//!
//! ```toml
//! description = "Green curtains of light over the sleeping square"
//! [layer]
//! shader = "aurora.wgsl"
//! [layer.params]
//! hue = { default = 0.45, min = 0.0, max = 1.0 }
//! [audio]
//! waveform = "saw"
//! cutoff_hz = 1800
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::diag::{Diagnostic, Reporter, drop_repeated_places};
use super::look::{MAX_LAYER_PARAMS, Post};
use super::patch::{AudioFile, audio_shape, parse_patch};
use super::project::Project;
use super::schema::{Nested, Shape, read_screened};
use crate::bridge::AudioParam;
use crate::bridge::Patch;

#[derive(Clone, Debug, PartialEq)]
pub struct ParamDef {
    pub name: String,
    pub min: f32,
    pub max: f32,
    pub default: f32,
}

impl ParamDef {
    pub fn clamp(&self, v: f32) -> f32 {
        if v.is_finite() {
            v.clamp(self.min, self.max)
        } else {
            self.default
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LayerDef {
    pub shader_path: PathBuf,
    /// An ISF filter (`[post] filter`) the layer's picture goes through wherever it is drawn;
    /// its inputs are parameters of the layer too, after the shader's own.
    pub filter: Option<PathBuf>,
    /// Sorted by name; the order of the generated WGSL `Params` struct.
    pub params: Vec<ParamDef>,
}

impl LayerDef {
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    pub name: String,
    pub path: PathBuf,
    pub description: String,
    pub layer: LayerDef,
    /// `None` keeps whatever patch was playing when this preset is switched to.
    pub patch: Option<Patch>,
    /// The post chain while this preset shows (neutral unless the file has a `[post]` table).
    pub post: Post,
    /// Who made the look (an imported shader's author), empty if not said.
    pub author: String,
    /// The look's licence (an imported shader's), empty if not said.
    pub license: String,
}

impl Preset {
    /// Whether the look's licence forbids commercial use (Creative Commons NC, Shadertoy's
    /// default): a show that charges admission needs the author's leave.
    pub fn non_commercial(&self) -> bool {
        let l = self.license.to_ascii_uppercase();
        l.contains("-NC") || l.contains(" NC") || l.contains("NONCOMMERCIAL")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    license: String,
    layer: LayerFile,
    audio: Option<Spanned<AudioFile>>,
    /// The post chain's settings for this look, by name (`glow = 0.4`).
    #[serde(default)]
    post: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerFile {
    shader: Spanned<String>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<ParamFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamFile {
    default: f64,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
}

/// The built-in looks a kiosk needs when no file can give one: black (closed) and rest (the
/// fallback when every item is broken). Their shaders are compiled into the binary; the
/// path names them and no file is read.
pub const BLACK_LOOK: &str = "black";
pub const REST_LOOK: &str = "rest";
const BUILTIN_DIR: &str = "(built in)";

/// The preset of built-in look `name` ([`BLACK_LOOK`] or [`REST_LOOK`]).
pub fn builtin_look(name: &'static str) -> Preset {
    Preset {
        name: name.to_string(),
        path: PathBuf::from(BUILTIN_DIR).join(format!("{name}.toml")),
        description: format!("Somnia's built-in {name} look"),
        layer: LayerDef {
            shader_path: PathBuf::from(BUILTIN_DIR).join(format!("{name}.wgsl")),
            filter: None,
            params: Vec::new(),
        },
        patch: None,
        post: Post::default(),
        author: String::new(),
        license: String::new(),
    }
}

/// Whether `path` (a preset's or a shader's) is a built-in look's: no file, nothing to watch.
pub fn is_builtin(path: &Path) -> bool {
    path.starts_with(BUILTIN_DIR)
}

/// Which built-in look a shader path names, if it is one.
pub fn builtin_look_name(shader_path: &Path) -> Option<&str> {
    let rest = shader_path.strip_prefix(BUILTIN_DIR).ok()?;
    rest.to_str()?.strip_suffix(".wgsl")
}

/// Loads and validates the preset file at `path`. Every problem found is returned.
pub fn load_preset(project: &Project, path: &Path) -> Result<Preset, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::file(path, format!("cannot read preset: {e}"))])?;
    parse_preset(project, path, &src)
}

pub fn parse_preset(project: &Project, path: &Path, src: &str) -> Result<Preset, Vec<Diagnostic>> {
    // Every misspelt key at once (serde alone would stop at the first), then, with them taken
    // out, every other problem of the file too.
    let (file, mut diags): (PresetFile, _) = read_screened(path, src, &preset_shape())?;
    let screened = diags.len();
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("preset")
        .to_string();

    let shader_path = match project.shader_path(file.layer.shader.get_ref()) {
        Ok(p) => {
            if !p.exists() {
                diags.push(
                    Diagnostic::at(
                        path,
                        src,
                        file.layer.shader.span(),
                        format!("shader `{}` not found", p.display()),
                    )
                    .with_hint(format!(
                        "shaders are looked up in {}",
                        project.shaders_dir().display()
                    )),
                );
            }
            p
        }
        Err(e) => {
            diags.push(Diagnostic::at(path, src, file.layer.shader.span(), e));
            PathBuf::new()
        }
    };

    let shadertoy = super::isf_inputs::is_shadertoy(&shader_path);
    let isf = match shadertoy {
        true => Some(super::isf_inputs::shadertoy_params()),
        false => is_isf(&shader_path)
            .then(|| isf_params(path, src, &file.layer.shader, &shader_path, &mut diags))
            .flatten(),
    };
    // A Shadertoy shader keeps its author and Shadertoy's licence unless the preset says.
    let (mut author, mut license) = (file.author.clone(), file.license.clone());
    if shadertoy {
        if author.is_empty() {
            author = std::fs::read_to_string(&shader_path)
                .ok()
                .and_then(|t| super::isf_inputs::shadertoy_author(&t))
                .unwrap_or_default();
        }
        if license.is_empty() {
            license = super::isf_inputs::SHADERTOY_LICENSE.into();
        }
    }
    let mut params = match isf {
        Some(isf) => layer_params_over_isf(path, src, &file.layer.params, isf, &mut diags),
        None => layer_params(path, src, &file.layer.params, &mut diags),
    };
    let patch = file
        .audio
        .as_ref()
        .map(|a| parse_patch(path, src, a.get_ref(), &mut diags));

    let post = parse_post(path, src, &file.post, &mut diags);
    let filter = file
        .post
        .get("filter")
        .and_then(|f| post_filter(project, path, src, f, &mut params, &mut diags));

    if params.len() > MAX_LAYER_PARAMS {
        diags.push(Diagnostic::file(
            path,
            format!(
                "a layer may have at most {MAX_LAYER_PARAMS} parameters (its filter's included), this one has {}",
                params.len()
            ),
        ));
        params.truncate(MAX_LAYER_PARAMS);
    }

    drop_repeated_places(&mut diags, screened);
    diags.sort_by_key(|d| (d.line, d.col));
    if diags.is_empty() {
        Ok(Preset {
            name,
            path: path.to_path_buf(),
            description: file.description,
            layer: LayerDef {
                shader_path,
                filter,
                params,
            },
            patch,
            post,
            author,
            license,
        })
    } else {
        Err(diags)
    }
}

/// A WGSL layer's parameters, each from the preset (sorted by name: the order of the
/// generated `Params` struct).
fn layer_params(
    path: &Path,
    src: &str,
    table: &BTreeMap<String, Spanned<ParamFile>>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ParamDef> {
    let mut params = Vec::new();
    for (pname, spec) in table {
        let span = spec.span();
        let spec = spec.get_ref();
        let (min, max) = (spec.min.unwrap_or(0.0), spec.max.unwrap_or(1.0));
        if !is_wgsl_ident(pname) {
            diags.push(
                Diagnostic::at(
                    path,
                    src,
                    span.clone(),
                    format!("parameter name `{pname}` is not usable in WGSL"),
                )
                .with_hint("use lower_snake_case letters, digits and `_`, starting with a letter"),
            );
        }
        if AudioParam::from_name(pname).is_some() {
            diags.push(Diagnostic::at(
                path,
                src,
                span.clone(),
                format!(
                    "`{pname}` is an audio parameter name; give the layer parameter another name"
                ),
            ));
        }
        if min >= max || !min.is_finite() || !max.is_finite() {
            diags.push(Diagnostic::at(
                path,
                src,
                span.clone(),
                format!("parameter `{pname}`: min ({min}) must be below max ({max})"),
            ));
        } else if !(min..=max).contains(&spec.default) {
            diags.push(Diagnostic::at(
                path,
                src,
                span.clone(),
                format!(
                    "parameter `{pname}`: default {} is outside {min}..{max}",
                    spec.default
                ),
            ));
        }
        params.push(ParamDef {
            name: pname.clone(),
            min: min as f32,
            max: max as f32,
            default: spec.default as f32,
        });
    }

    params
}

/// The ISF transition `name` (`shaders/NAME.fs`) as a crossfade style: a preset whose layer is
/// the transition and whose parameters are its inputs. Errors say what is missing.
pub fn fade_style(project: &Project, name: &str) -> Result<Preset, String> {
    let shader_path = project
        .shader_path(&format!("{name}.fs"))
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&shader_path).map_err(|e| {
        format!(
            "no fade style `{name}`: cannot read {}: {e}",
            shader_path.display()
        )
    })?;
    let header = isf::parse(&text).map_err(|e| {
        format!(
            "{}: the ISF header cannot be read: {e}",
            shader_path.display()
        )
    })?;
    let has = |n: &str, image: bool| {
        header.inputs.iter().any(|i| {
            i.name == n
                && match image {
                    true => matches!(i.ty, isf::InputType::Image),
                    false => matches!(i.ty, isf::InputType::Float(_)),
                }
        })
    };
    if !(has("startImage", true) && has("endImage", true) && has("progress", false)) {
        return Err(format!(
            "{} is not an ISF transition: it needs image inputs `startImage` and `endImage` and a float `progress`",
            shader_path.display()
        ));
    }
    let params = super::isf_inputs::params(&header);
    if params.len() > MAX_LAYER_PARAMS {
        return Err(format!(
            "{}: a transition may have at most {MAX_LAYER_PARAMS} parameters",
            shader_path.display()
        ));
    }
    Ok(Preset {
        name: name.to_string(),
        path: shader_path.clone(),
        description: header.description.clone().unwrap_or_default(),
        layer: LayerDef {
            shader_path,
            filter: None,
            params,
        },
        patch: None,
        post: Post::default(),
        author: String::new(),
        license: String::new(),
    })
}

/// Whether a layer's shader is an ISF file (by its extension, `.fs`).
pub fn is_isf(shader_path: &Path) -> bool {
    shader_path.extension().is_some_and(|x| x == "fs")
}

/// The parameters an ISF shader's inputs become; `None` (with the problem said) when its
/// header cannot be read. Its GLSL is checked where it is translated, by the renderer and
/// by `somnia check`.
fn isf_params(
    path: &Path,
    src: &str,
    shader: &Spanned<String>,
    shader_path: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<ParamDef>> {
    let text = std::fs::read_to_string(shader_path).ok()?;
    match isf::parse(&text) {
        Ok(header) => Some(super::isf_inputs::params(&header)),
        Err(e) => {
            diags.push(
                Diagnostic::at(
                    path,
                    src,
                    shader.span(),
                    format!("the ISF shader's header cannot be read: {e}"),
                )
                .with_hint(format!(
                    "`somnia check {}` shows where",
                    shader_path.display()
                )),
            );
            None
        }
    }
}

/// An ISF layer's parameters: its inputs', in the header's order, with any default or range
/// the preset sets for one of them by name.
fn layer_params_over_isf(
    path: &Path,
    src: &str,
    table: &BTreeMap<String, Spanned<ParamFile>>,
    mut params: Vec<ParamDef>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ParamDef> {
    for (pname, spec) in table {
        let span = spec.span();
        let spec = spec.get_ref();
        let Some(p) = params.iter_mut().find(|p| p.name == *pname) else {
            Reporter::new(path, src, diags).unknown(
                span,
                "parameter of this ISF shader",
                pname,
                params.iter().map(|p| p.name.as_str()),
            );
            continue;
        };
        let min = spec.min.map_or(p.min, |m| m as f32);
        let max = spec.max.map_or(p.max, |m| m as f32);
        let default = spec.default as f32;
        if !(min < max && min.is_finite() && max.is_finite()) {
            diags.push(Diagnostic::at(
                path,
                src,
                span,
                format!("parameter `{pname}`: min ({min}) must be below max ({max})"),
            ));
        } else if !(min..=max).contains(&default) {
            diags.push(Diagnostic::at(
                path,
                src,
                span,
                format!("parameter `{pname}`: default {default} is outside {min}..{max}"),
            ));
        } else {
            *p = ParamDef {
                name: p.name.clone(),
                min,
                max,
                default,
            };
        }
    }
    params
}

/// The `[post]` table's `filter`: an ISF shader in `shaders/` with an image input (what it
/// filters); its value inputs join the layer's parameters. `None`, reported, when it is not.
fn post_filter(
    project: &Project,
    path: &Path,
    src: &str,
    value: &Spanned<toml::Value>,
    params: &mut Vec<ParamDef>,
    diags: &mut Vec<Diagnostic>,
) -> Option<PathBuf> {
    let mut error = |message: String| {
        diags.push(
            Diagnostic::at(path, src, value.span(), message)
                .with_hint("e.g. filter = \"kaleido.fs\": an ISF filter in shaders/"),
        )
    };
    let Some(name) = value.get_ref().as_str() else {
        error("the post filter is an ISF shader's file name".into());
        return None;
    };
    let shader_path = match project.shader_path(name) {
        Ok(p) if is_isf(&p) => p,
        Ok(_) => {
            error(format!("`{name}` is not an ISF shader (.fs)"));
            return None;
        }
        Err(e) => {
            error(e.to_string());
            return None;
        }
    };
    let header = match std::fs::read_to_string(&shader_path) {
        Ok(text) => match isf::parse(&text) {
            Ok(h) => h,
            Err(e) => {
                error(format!("the filter's ISF header cannot be read: {e}"));
                return None;
            }
        },
        Err(e) => {
            error(format!("filter `{}`: {e}", shader_path.display()));
            return None;
        }
    };
    if !header
        .inputs
        .iter()
        .any(|i| matches!(i.ty, isf::InputType::Image))
    {
        error(format!(
            "`{name}` has no image input, so it filters nothing: an ISF filter reads `inputImage`"
        ));
        return None;
    }
    for p in super::isf_inputs::params(&header) {
        if params.iter().any(|q| q.name == p.name) {
            error(format!(
                "the filter's input `{}` has the name of one of the layer's parameters; rename one",
                p.name
            ));
            return None;
        }
        params.push(p);
    }
    Some(shader_path)
}

/// The `[post]` table: known names within their ranges (and the `filter`, read apart);
/// everything else is reported.
fn parse_post(
    path: &Path,
    src: &str,
    table: &BTreeMap<String, Spanned<toml::Value>>,
    diags: &mut Vec<Diagnostic>,
) -> Post {
    let mut values = Post::default().to_array();
    for (name, v) in table {
        if name == "filter" {
            continue;
        }
        let Some(i) = Post::index(name) else {
            Reporter::new(path, src, diags).unknown(
                v.span(),
                "post setting",
                name,
                Post::FIELDS.iter().map(|f| f.name).chain(["filter"]),
            );
            continue;
        };
        let f = Post::FIELDS[i];
        let x = match v.get_ref() {
            toml::Value::Float(x) => *x,
            toml::Value::Integer(n) => *n as f64,
            _ => {
                diags.push(Diagnostic::at(
                    path,
                    src,
                    v.span(),
                    format!("post `{name}` is a number within {}..{}", f.min, f.max),
                ));
                continue;
            }
        };
        if !(f64::from(f.min)..=f64::from(f.max)).contains(&x) {
            diags.push(Diagnostic::at(
                path,
                src,
                v.span(),
                format!("post `{name}` must be within {}..{}, not {x}", f.min, f.max),
            ));
            continue;
        }
        values[i] = x as f32;
    }
    Post::from_array(values)
}

/// The preset file's shape (parameter and post tables are checked by meaning, later).
fn preset_shape() -> Shape {
    Shape::of::<PresetFile>(vec![
        (
            "layer",
            Nested::Table(Shape::of::<LayerFile>(vec![("params", Nested::Open)])),
        ),
        ("audio", Nested::Table(audio_shape())),
        ("post", Nested::Open),
    ])
}

fn is_wgsl_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::patch::{FilterMode, Waveform};

    fn project_with_shader() -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("shaders")).unwrap();
        std::fs::write(dir.path().join("shaders/a.wgsl"), "").unwrap();
        let p = Project::new(dir.path());
        (dir, p)
    }

    #[test]
    fn a_good_preset_parses_with_sorted_params_and_a_patch() {
        let (_d, project) = project_with_shader();
        let src = "[layer]\nshader = \"a.wgsl\"\n[layer.params]\nzeta = { default = 0.5 }\nalpha = { default = 2, min = 0, max = 4 }\n[audio]\nvoices = 64\n[audio.osc1]\nwaveform = \"square\"\nunison = 3\n[audio.filter]\ncutoff_hz = 900\nmode = \"highpass\"\n";
        let p = parse_preset(&project, Path::new("presets/x.toml"), src).unwrap();
        assert_eq!(p.name, "x");
        assert_eq!(
            p.layer
                .params
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["alpha", "zeta"]
        );
        let patch = p.patch.unwrap();
        assert_eq!(patch.voices, 64);
        assert_eq!(patch.osc[0].waveform, Waveform::Square);
        assert_eq!(patch.osc[0].unison, 3);
        assert_eq!(patch.filter.cutoff_hz, 900.0);
        assert_eq!(patch.filter.mode, FilterMode::Highpass);
    }

    #[test]
    fn every_misspelt_key_of_a_preset_is_reported_at_once() {
        let (_d, project) = project_with_shader();
        let src = "descripton = \"x\"\n[layer]\nshader = \"a.wgsl\"\n[audio.osc1]\nwavefrom = \"saw\"\n[audio.amp_env]\nrelease = 1\n";
        let errs = parse_preset(&project, Path::new("x.toml"), src).unwrap_err();
        let hints: Vec<(usize, Option<&str>)> =
            errs.iter().map(|e| (e.line, e.hint.as_deref())).collect();
        assert_eq!(
            hints,
            [
                (1, Some("did you mean `description`?")),
                (5, Some("did you mean `waveform`?")),
                (7, Some("did you mean `release_s`?")),
            ]
        );
    }

    #[test]
    fn a_misspelt_field_is_reported_on_its_line_with_a_suggestion() {
        let (_d, project) = project_with_shader();
        let src = "[layer]\nshader = \"a.wgsl\"\n[audio.filter]\ncutof_hz = 900\n";
        let errs = parse_preset(&project, Path::new("x.toml"), src).unwrap_err();
        assert_eq!(errs[0].line, 4, "{}", errs[0]);
        assert_eq!(errs[0].hint.as_deref(), Some("did you mean `cutoff_hz`?"));
    }

    #[test]
    fn every_semantic_error_is_reported_not_just_the_first() {
        let (_d, project) = project_with_shader();
        let src = "[layer]\nshader = \"missing.wgsl\"\n[layer.params]\nhue = { default = 5 }\n[audio]\nvoices = 900\n[audio.osc2]\nwaveform = \"sawtooth\"\n";
        let errs = parse_preset(&project, Path::new("x.toml"), src).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 6, 8], "{errs:#?}");
    }

    #[test]
    fn a_post_table_sets_the_look_and_bad_settings_are_reported() {
        let (_d, project) = project_with_shader();
        let src = "[layer]\nshader = \"a.wgsl\"\n[post]\nglow = 0.5\nglitch = 0.2\n";
        let p = parse_preset(&project, Path::new("x.toml"), src).unwrap();
        assert_eq!(
            (p.post.glow, p.post.glitch, p.post.contrast),
            (0.5, 0.2, 1.0)
        );
        let src = "[layer]\nshader = \"a.wgsl\"\n[post]\nglwo = 0.5\nglitch = 3\n";
        let errs = parse_preset(&project, Path::new("x.toml"), src).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:#?}");
        // In file order.
        assert_eq!(errs[0].hint.as_deref(), Some("did you mean `glow`?"));
        assert_eq!(errs[1].line, 5, "glitch = 3 is out of range");
    }
}
