//! Where a show's files live. A project is a folder with `presets/`, `performances/` and
//! `shaders/`; a performance finds its presets, and a preset its shader, inside the same
//! project. Names are resolved only inside these folders, never as free paths, so nothing
//! that names a preset (a cue file today, an OSC message later) can reach other files.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub root: PathBuf,
}

const KNOWN_DIRS: [&str; 4] = ["presets", "performances", "shaders", "kiosks"];

impl Project {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The project a file belongs to: the parent of its `presets/`, `performances/` or
    /// `shaders/` folder, or the file's own folder when it sits elsewhere.
    pub fn of_file(path: &Path) -> Self {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let in_known = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| KNOWN_DIRS.contains(&n));
        if in_known {
            let root = dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Self::new(root)
        } else {
            Self::new(dir)
        }
    }

    pub fn presets_dir(&self) -> PathBuf {
        self.root.join("presets")
    }

    pub fn shaders_dir(&self) -> PathBuf {
        self.root.join("shaders")
    }

    pub fn performances_dir(&self) -> PathBuf {
        self.root.join("performances")
    }

    /// The file of the preset called `name`, after checking the name is a plain name.
    pub fn preset_path(&self, name: &str) -> Result<PathBuf, NameError> {
        validate_name(name, "preset")?;
        Ok(self.presets_dir().join(format!("{name}.toml")))
    }

    /// The file of the performance called `name`, after the same check.
    pub fn performance_path(&self, name: &str) -> Result<PathBuf, NameError> {
        validate_name(name, "performance")?;
        Ok(self.performances_dir().join(format!("{name}.toml")))
    }

    /// The file of shader `file_name` (e.g. `aurora.wgsl`), after the same check.
    pub fn shader_path(&self, file_name: &str) -> Result<PathBuf, NameError> {
        validate_name(file_name, "shader")?;
        Ok(self.shaders_dir().join(file_name))
    }

    /// Names of the presets in this project, sorted.
    pub fn preset_names(&self) -> Vec<String> {
        list_stems(&self.presets_dir(), "toml")
    }

    /// Names of the performances in this project, sorted.
    pub fn performance_names(&self) -> Vec<String> {
        list_stems(&self.performances_dir(), "toml")
    }
}

/// Why a name cannot be a file of the project. Names come from files and from the network, and
/// a name is never a path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Empty, too long, hidden, or with a separator, `..` or another character a plain name
    /// has not: rename it.
    #[error(
        "`{name}` is not a valid {what} name: use letters, digits, `-`, `_` and `.` only, with no folders"
    )]
    NotPlain { name: String, what: &'static str },
}

/// Accepts plain file names only: no separators, no `..`, nothing hidden, nothing empty.
pub fn validate_name(name: &str, what: &'static str) -> Result<(), NameError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(NameError::NotPlain {
            name: name.to_string(),
            what,
        })
    }
}

fn list_stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_performance_finds_its_project_root_above_its_folder() {
        let p = Project::of_file(Path::new("shows/performances/first-light.toml"));
        assert_eq!(p.root, PathBuf::from("shows"));
        assert_eq!(p.presets_dir(), PathBuf::from("shows/presets"));
    }

    #[test]
    fn a_loose_file_is_its_own_project() {
        assert_eq!(
            Project::of_file(Path::new("x.toml")).root,
            PathBuf::from(".")
        );
        assert_eq!(
            Project::of_file(Path::new("a/b/x.toml")).root,
            PathBuf::from("a/b")
        );
    }

    #[test]
    fn preset_names_cannot_escape_the_presets_folder() {
        let p = Project::new("/show");
        for bad in [
            "../etc/passwd",
            "a/b",
            "..",
            ".hidden",
            "",
            "a\\b",
            "x/../../y",
        ] {
            assert!(p.preset_path(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            p.preset_path("aurora").unwrap(),
            PathBuf::from("/show/presets/aurora.toml")
        );
    }
}
