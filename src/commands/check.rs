//! `somnia check`: validates presets, performances, shaders, MIDI maps, kiosk files and
//! output maps, and reports every problem as `file:line:col: message` with a hint.

use std::path::{Path, PathBuf};

use super::{EXIT_BAD_INPUT, print_diagnostics};
use crate::render::shader;
use crate::show::compile::load_timeline;
use crate::show::diag::Diagnostic;
use crate::show::preset::{ParamDef, load_preset};
use crate::show::project::Project;

/// `somnia check [FILE...]`: with no files, checks the presets, performances, shaders and
/// kiosks and outputs folders of the current directory, and its MIDI map.
pub fn run(files: &[PathBuf]) -> i32 {
    let paths: Vec<PathBuf> = if files.is_empty() {
        [
            "presets",
            "performances",
            "shaders",
            "kiosks",
            "outputs",
            "midi-map.toml",
        ]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect()
    } else {
        files.to_vec()
    };
    if paths.is_empty() {
        eprintln!(
            "somnia check: nothing to check here; name files, or run it in a folder with presets/, performances/ or shaders/"
        );
        return EXIT_BAD_INPUT;
    }
    let (count, diags) = check_paths(&paths);
    print_diagnostics(&diags);
    if diags.is_empty() {
        println!("somnia check: {count} file(s) ok");
        0
    } else {
        eprintln!("somnia check: {} error(s) in {count} file(s)", diags.len());
        EXIT_BAD_INPUT
    }
}

/// What kind of file a path holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Preset,
    Performance,
    Shader,
    /// An ISF shader (`.fs`): translated through naga's GLSL front end and validated.
    Isf,
    /// A MIDI map (controllers, transport, programs).
    MidiMap,
    /// A kiosk (a playlist, an attract item, opening hours).
    Kiosk,
    /// An output map (outputs, slices, warps, blends, masks).
    Outputs,
}

/// The top-level tables only a MIDI map has.
const MIDI_MAP_KEYS: [&str; 9] = [
    "cc", "go", "play", "pause", "stop", "next", "prev", "seek", "program",
];

/// Decides a file's kind from its extension, its folder, and finally its top-level keys.
pub fn classify(path: &Path) -> Result<FileKind, Diagnostic> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("wgsl") => return Ok(FileKind::Shader),
        Some("fs" | "glsl" | "json") => return Ok(FileKind::Isf),
        Some("toml") => {}
        _ => {
            return Err(Diagnostic::file(path, "not a file somnia checks")
                .with_hint(
                    "somnia checks .toml presets and performances, .wgsl shaders and .fs ISF shaders",
                ));
        }
    }
    match path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
    {
        Some("presets") => return Ok(FileKind::Preset),
        Some("performances") => return Ok(FileKind::Performance),
        Some("kiosks") => return Ok(FileKind::Kiosk),
        Some("outputs") => return Ok(FileKind::Outputs),
        _ => {}
    }
    if path.file_name().is_some_and(|n| n == "midi-map.toml") {
        return Ok(FileKind::MidiMap);
    }
    let src = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::file(path, format!("cannot read: {e}")))?;
    let table: toml::Table = match src.parse() {
        Ok(t) => t,
        Err(e) => return Err(crate::show::diag::toml_error(path, &src, &e)),
    };
    if table.contains_key("layer") {
        Ok(FileKind::Preset)
    } else if table.contains_key("cue") || table.contains_key("duration") {
        Ok(FileKind::Performance)
    } else if table.contains_key("item") || table.contains_key("attract") {
        Ok(FileKind::Kiosk)
    } else if table.contains_key("canvas") || table.contains_key("output") {
        Ok(FileKind::Outputs)
    } else if !table.is_empty() && table.keys().all(|k| MIDI_MAP_KEYS.contains(&k.as_str())) {
        Ok(FileKind::MidiMap)
    } else {
        Err(Diagnostic::file(path, "neither a preset nor a performance")
            .with_hint("a preset has a [layer] table; a performance has `duration`, `preset` and [[cue]] entries; a MIDI map has [[cc]], [go] or [[program]] entries; a kiosk has [[item]] entries; an output map has `canvas` and [[output]] entries"))
    }
}

/// Checks one file. A preset's shader is validated with the preset's parameters; a
/// performance's presets are checked with it.
pub fn check_file(path: &Path) -> Vec<Diagnostic> {
    let kind = match classify(path) {
        Ok(k) => k,
        Err(d) => return vec![d],
    };
    let project = Project::of_file(path);
    match kind {
        FileKind::Preset => match load_preset(&project, path) {
            Ok(p) => shader::check_layer(&p.layer).err().into_iter().collect(),
            Err(d) => d,
        },
        FileKind::Performance => match load_timeline(path) {
            Ok(tl) => tl
                .presets
                .iter()
                .chain(&tl.fade_styles)
                .filter_map(|p| shader::check_layer(&p.layer).err())
                .collect(),
            Err(d) => d,
        },
        FileKind::Kiosk => crate::show::kiosk::file::load_kiosk(path)
            .err()
            .unwrap_or_default(),
        FileKind::Outputs => crate::show::outputs::load_outputs(path)
            .err()
            .unwrap_or_default(),
        FileKind::MidiMap => {
            crate::control::midi::map_file::load_map(path, &project.preset_names())
                .err()
                .unwrap_or_default()
        }
        FileKind::Shader if path.file_name().is_some_and(|n| n == "common.wgsl") => {
            shader::validate_common(path).err().into_iter().collect()
        }
        // With its `.vs` beside it; a Shadertoy shader by its own rules.
        FileKind::Isf => crate::render::isf::load(path).err().into_iter().collect(),
        FileKind::Shader => {
            let params = params_for_shader(&project, path);
            shader::load_and_validate(path, &params)
                .err()
                .into_iter()
                .collect()
        }
    }
}

/// The parameters a lone shader is checked with: those of the first preset of its project
/// that uses it, or none.
fn params_for_shader(project: &Project, shader_path: &Path) -> Vec<ParamDef> {
    let file_name = shader_path.file_name();
    project
        .preset_names()
        .iter()
        .filter_map(|n| project.preset_path(n).ok())
        .filter_map(|p| load_preset(project, &p).ok())
        .find(|p| p.layer.shader_path.file_name() == file_name)
        .map(|p| p.layer.params)
        .unwrap_or_default()
}

/// Expands folders into the files somnia checks, sorted; plain files pass through.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .collect();
            entries.sort();
            for e in entries {
                // Output maps' timestamped backups are old versions, not the project's files.
                if e.is_dir() && e.file_name().is_some_and(|n| n == "backups") {
                    continue;
                }
                if e.is_dir() {
                    out.extend(expand(&[e]));
                } else if matches!(
                    e.extension().and_then(|x| x.to_str()),
                    Some("toml" | "wgsl" | "fs" | "glsl" | "json")
                ) {
                    out.push(e);
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Checks every file, returning each one's problems with duplicates removed (a preset used
/// by two performances is reported once).
pub fn check_paths(paths: &[PathBuf]) -> (usize, Vec<Diagnostic>) {
    let files = expand(paths);
    let mut all: Vec<Diagnostic> = Vec::new();
    for f in &files {
        for d in check_file(f) {
            if !all.contains(&d) {
                all.push(d);
            }
        }
    }
    (files.len(), all)
}
