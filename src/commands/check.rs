use std::path::PathBuf;

use super::{EXIT_BAD_INPUT, print_diagnostics};
use crate::show::check::check_paths;

/// `somnia check [FILE...]`: with no files, checks the presets, performances and shaders
/// folders of the current directory, and its MIDI map.
pub fn run(files: &[PathBuf]) -> i32 {
    let paths: Vec<PathBuf> = if files.is_empty() {
        ["presets", "performances", "shaders", "midi-map.toml"]
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
