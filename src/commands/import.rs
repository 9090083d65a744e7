//! `somnia import isf FILE|DIR`: a VJ's ISF library into the project. Each shader is
//! translated and validated first (what fails is reported at its file:line:col and left out);
//! each that passes is copied into `shaders/` with its custom vertex stage and imported
//! images, and gets a preset in `presets/` naming it, with its inputs as parameters (their
//! defaults and ranges written out, to edit), its description, and its author.

use std::path::{Path, PathBuf};

use super::{EXIT_BAD_INPUT, print_diagnostics};
use crate::show::Diagnostic;
use crate::show::project::Project;

/// What one shader's import came to.
enum Imported {
    Done { preset: String },
    Kept { preset: String },
    Refused(Diagnostic),
}

/// Imports the ISF shader `source` (a `.fs` file, or every `.fs` in a folder) into the
/// project at `root`. Existing presets and shaders are kept unless `force`.
pub fn run_isf(root: &Path, source: &Path, force: bool) -> i32 {
    let files = match shader_files(source) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("somnia import: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let project = Project::new(root);
    let (mut done, mut kept, mut refused) = (0, 0, 0);
    for f in &files {
        match import_one(&project, f, force) {
            Imported::Done { preset } => {
                done += 1;
                println!("imported {} as preset `{preset}`", f.display());
            }
            Imported::Kept { preset } => {
                kept += 1;
                println!("kept preset `{preset}` as it was (--force replaces it)");
            }
            Imported::Refused(d) => {
                refused += 1;
                print_diagnostics(&[d]);
            }
        }
    }
    println!(
        "somnia import: {done} imported, {kept} kept as they were, {refused} refused, of {}",
        files.len()
    );
    if refused > 0 || files.is_empty() {
        EXIT_BAD_INPUT
    } else {
        0
    }
}

/// `source` itself, or the `.fs` files in it, sorted.
fn shader_files(source: &Path) -> Result<Vec<PathBuf>, String> {
    if source.is_file() {
        return Ok(vec![source.to_path_buf()]);
    }
    let entries = std::fs::read_dir(source).map_err(|e| format!("{}: {e}", source.display()))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "fs"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no ISF shaders (.fs) in {}", source.display()));
    }
    Ok(files)
}

/// A file name a project accepts, from a shader's: lower case, words joined by `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "isf".into() } else { out }
}

fn import_one(project: &Project, fs: &Path, force: bool) -> Imported {
    let shader = match crate::render::isf::load(fs) {
        Ok(s) => s,
        Err(d) => return Imported::Refused(d),
    };
    let stem = fs.file_stem().and_then(|s| s.to_str()).unwrap_or("isf");
    let name = slug(stem);
    let preset_path = project.presets_dir().join(format!("{name}.toml"));
    if preset_path.exists() && !force {
        return Imported::Kept { preset: name };
    }
    let refuse = |what: String| Imported::Refused(Diagnostic::file(fs, what));
    let shaders = project.shaders_dir();
    let copy = |from: &Path, to: PathBuf| -> Result<(), String> {
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let same = from.canonicalize().ok() == to.canonicalize().ok();
        if !same {
            std::fs::copy(from, &to).map_err(|e| format!("{}: {e}", to.display()))?;
        }
        Ok(())
    };
    let shader_file = format!("{name}.fs");
    if let Err(e) = copy(fs, shaders.join(&shader_file)) {
        return refuse(format!("cannot copy into the project: {e}"));
    }
    let vs = fs.with_extension("vs");
    if vs.is_file() {
        if let Err(e) = copy(&vs, shaders.join(format!("{name}.vs"))) {
            return refuse(format!("cannot copy the vertex stage: {e}"));
        }
    }
    for (_, image) in crate::render::isf::imports(fs, &shader.header).unwrap_or_default() {
        let relative = image
            .strip_prefix(fs.parent().unwrap_or(Path::new(".")))
            .unwrap_or(&image);
        if let Err(e) = copy(&image, shaders.join(relative)) {
            return refuse(format!("cannot copy an imported image: {e}"));
        }
    }
    let text = preset_text(&shader.header, &shader_file, credit(fs).as_deref());
    let written = std::fs::create_dir_all(project.presets_dir())
        .and_then(|()| std::fs::write(&preset_path, text));
    match written {
        Ok(()) => Imported::Done { preset: name },
        Err(e) => refuse(format!("cannot write {}: {e}", preset_path.display())),
    }
}

/// `somnia import shadertoy FILE`: a Shadertoy shader (`.glsl` with `mainImage`, or the
/// site's JSON export) into the project: checked, copied into `shaders/`, and given a preset
/// with its name, description, author and licence (Shadertoy's default, CC BY-NC-SA 3.0,
/// unless `license` says another).
pub fn run_shadertoy(root: &Path, source: &Path, license: Option<&str>, force: bool) -> i32 {
    let project = Project::new(root);
    let text = match std::fs::read_to_string(source) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("somnia import: {}: {e}", source.display());
            return EXIT_BAD_INPUT;
        }
    };
    let toy = match crate::render::shadertoy::read(source, &text)
        .and_then(|s| crate::render::shadertoy::translate(source, &s).map(|_| s))
    {
        Ok(s) => s,
        Err(d) => {
            print_diagnostics(&[d]);
            return EXIT_BAD_INPUT;
        }
    };
    let stem = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("shadertoy");
    let name = slug(if toy.name.is_empty() { stem } else { &toy.name });
    let preset_path = project.presets_dir().join(format!("{name}.toml"));
    if preset_path.exists() && !force {
        println!("kept preset `{name}` as it was (--force replaces it)");
        return 0;
    }
    let ext = source
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("glsl");
    let shader_file = format!("{name}.{ext}");
    let dest = project.shaders_dir().join(&shader_file);
    let copied = std::fs::create_dir_all(project.shaders_dir()).and_then(|()| {
        match source.canonicalize().ok() == dest.canonicalize().ok() {
            true => Ok(0),
            false => std::fs::copy(source, &dest),
        }
    });
    if let Err(e) = copied {
        eprintln!("somnia import: cannot copy into {}: {e}", dest.display());
        return EXIT_BAD_INPUT;
    }
    // The site's media files the export reads, where they sit beside it.
    let media = toy.passes.iter().flat_map(|p| p.channels.iter());
    for file in media.filter_map(|c| match c {
        crate::render::shadertoy::Channel::Image(f) => Some(f),
        _ => None,
    }) {
        let to = project.shaders_dir().join(file);
        if source.with_file_name(file).canonicalize().ok() != to.canonicalize().ok() {
            if let Err(e) = std::fs::copy(source.with_file_name(file), &to) {
                eprintln!("somnia import: cannot copy {file}: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let license = license.unwrap_or("CC BY-NC-SA 3.0 (Shadertoy's default)");
    let description = if toy.description.is_empty() {
        format!(
            "Shadertoy shader {}",
            if toy.name.is_empty() { stem } else { &toy.name }
        )
    } else {
        toy.description.lines().next().unwrap_or("").to_string()
    };
    let mut t = format!(
        "# Imported from Shadertoy by `somnia import shadertoy`.\ndescription = {}\n",
        quoted(&description)
    );
    if !toy.author.is_empty() {
        t.push_str(&format!("author = {}\n", quoted(&toy.author)));
    }
    t.push_str(&format!("license = {}\n", quoted(license)));
    t.push_str(&format!(
        "\n[layer]\nshader = {}\n\n# iMouse, in pixels.\n[layer.params]\nmouse_x = {{ default = 0.0, min = 0.0, max = 1920.0 }}\nmouse_y = {{ default = 0.0, min = 0.0, max = 1080.0 }}\n",
        quoted(&shader_file)
    ));
    let written = std::fs::create_dir_all(project.presets_dir())
        .and_then(|()| std::fs::write(&preset_path, t));
    match written {
        Ok(()) => {
            println!("imported {} as preset `{name}`", source.display());
            if license.to_ascii_uppercase().contains("NC") {
                println!(
                    "  warning: its licence ({license}) forbids commercial use; ask its author before a paid show"
                );
            }
            0
        }
        Err(e) => {
            eprintln!("somnia import: cannot write {}: {e}", preset_path.display());
            EXIT_BAD_INPUT
        }
    }
}

/// The header's `CREDIT` (the `isf` crate does not read it).
fn credit(fs: &Path) -> Option<String> {
    let src = std::fs::read_to_string(fs).ok()?;
    let start = src.find("/*")? + 2;
    let end = start + src[start..].find("*/")?;
    let json: serde_json::Value = serde_json::from_str(&src[start..end]).ok()?;
    json.get("CREDIT")?.as_str().map(str::to_owned)
}

/// A TOML string (JSON's escapes are TOML's).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The preset naming the shader, its inputs written out as parameters.
fn preset_text(header: &isf::Isf, shader_file: &str, credit: Option<&str>) -> String {
    let description = header
        .description
        .clone()
        .unwrap_or_else(|| format!("ISF shader {shader_file}"));
    let mut t = format!(
        "# Imported from an ISF shader by `somnia import isf`.\ndescription = {}\n",
        quoted(description.lines().next().unwrap_or(""))
    );
    if let Some(c) = credit.filter(|c| !c.is_empty()) {
        t.push_str(&format!("author = {}\n", quoted(c)));
    }
    t.push_str(&format!("\n[layer]\nshader = {}\n", quoted(shader_file)));
    let params = crate::show::isf_inputs::params(header);
    if !params.is_empty() {
        t.push_str(
            "\n# The shader's inputs: set a default or narrow a range here.\n[layer.params]\n",
        );
        for p in params {
            t.push_str(&format!(
                "{} = {{ default = {:?}, min = {:?}, max = {:?} }}\n",
                quoted(&p.name),
                p.default,
                p.min,
                p.max
            ));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shader_names_become_plain_lower_case_file_names() {
        assert_eq!(slug("v002 Light Leak"), "v002-light-leak");
        assert_eq!(slug("RGB Strobe"), "rgb-strobe");
        assert_eq!(slug("Noise++ (v2)"), "noise-v2");
        assert_eq!(slug("+++"), "isf");
    }
}
