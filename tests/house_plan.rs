//! The house plan, checked: the module graph is the thread graph. `bridge/` is the floor and
//! imports nothing above it; `audio/` (the audio thread) stands on `bridge/` and `clock` only;
//! the other folders import only the folders the plan puts below them. A new `use` that
//! crosses the plan fails here with the file, the line and the rule it breaks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may import. The crate root's own items
/// (`crate::SAMPLE_RATE_HZ`) are open to all.
const PLAN: &[(&str, &[&str])] = &[
    ("clock", &[]),
    ("bridge", &["clock"]),
    ("audio", &["bridge", "clock"]),
    ("show", &["bridge", "clock"]),
    ("control", &["bridge", "clock", "show"]),
    ("render", &["bridge", "clock", "show", "control"]),
    ("offline", &["bridge", "clock", "audio", "show"]),
    ("web", &["bridge", "clock", "show", "control"]),
    (
        "commands",
        &[
            "bridge", "clock", "audio", "show", "control", "render", "offline", "web",
        ],
    ),
];

/// Narrower rules inside an allowed import: (folder, path it may not name, why).
const NARROWER: &[(&str, &str, &str)] = &[
    (
        "render",
        "control::midi",
        "the window speaks to controllers only through control::keys and control::intent",
    ),
    (
        "render",
        "control::osc",
        "the window speaks to controllers only through control::keys and control::intent",
    ),
];

const MODULES: [&str; 9] = [
    "clock", "bridge", "audio", "show", "control", "render", "offline", "web", "commands",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `src/audio/fx/mod.rs` is `[audio, fx]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The code of a line without its comment (a `//` outside a string is taken as a comment,
/// good enough for `use` lines and paths).
fn code_of(line: &str) -> &str {
    let mut in_str = false;
    let bytes = line.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => in_str = !in_str,
            b'/' if !in_str && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Every top-level module a line of `module` names, through `crate::x`, `crate::{x, y}`,
/// `super::` chains that climb out of its folder, or `somnia::x`.
fn modules_named(module: &[String], code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        let after = &rest[i + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `somnia_crate::` or similar.
        }
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a, b::c}`: the first name of each item at the group's top level.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        out.insert(ident(&group[j..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(after));
        }
    }
    // `super::` climbing out of the top-level module lands at the crate root.
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        let before = rest[..i].chars().last();
        rest = &rest[i..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            rest = &rest["super::".len()..];
            continue;
        }
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        // A file's own `mod tests` is one level below the file.
        if ups >= module.len() && !module.is_empty() {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| MODULES.contains(&m.as_str()));
    out
}

#[test]
fn no_file_imports_a_module_the_house_plan_puts_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut breaks = Vec::new();
    let mut checked = 0;
    for file in &files {
        let module = module_path(&src, file);
        let Some(top) = module.first() else { continue };
        let Some((_, allowed)) = PLAN.iter().find(|(m, _)| m == top) else {
            panic!(
                "{} is in a top-level module the house plan does not name ({top}): add it to PLAN",
                file.display()
            );
        };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        let mut in_tests = false;
        for (n, line) in text.lines().enumerate() {
            // A file's unit tests may reach anywhere (they run on no thread of the show).
            if line.starts_with("#[cfg(test)]") {
                in_tests = true;
            }
            if in_tests {
                break;
            }
            let code = code_of(line);
            for (folder, path, why) in NARROWER {
                if top == folder && code.contains(path) {
                    breaks.push(format!(
                        "{}:{}: names `{path}`: {why}",
                        file.display(),
                        n + 1
                    ));
                }
            }
            for named in modules_named(&module, code) {
                if named != *top && !allowed.contains(&named.as_str()) {
                    breaks.push(format!(
                        "{}:{}: `{top}` imports `{named}`, which the house plan puts above it \
                         (it may import: {})",
                        file.display(),
                        n + 1,
                        if allowed.is_empty() {
                            "nothing".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} files found under {}",
        src.display()
    );
    assert!(breaks.is_empty(), "{}", breaks.join("\n"));
}

#[test]
fn the_checker_sees_every_way_a_line_can_name_a_module() {
    let audio = vec!["audio".to_string(), "engine".to_string()];
    let named = |code: &str| modules_named(&audio, code).into_iter().collect::<Vec<_>>();
    assert_eq!(named("use crate::show::Timeline;"), ["show"]);
    assert_eq!(
        named("use crate::{bridge::Event, render::Gpu};"),
        ["bridge", "render"]
    );
    assert_eq!(
        named("use crate::{bridge::{Event, EventKind}, control};"),
        ["bridge", "control"]
    );
    assert_eq!(named("use super::super::show::x;"), ["show"]);
    assert_eq!(named("use super::synth::Voice;"), Vec::<String>::new());
    assert_eq!(named("let t: crate::show::Timeline = x;"), ["show"]);
    assert_eq!(
        named(code_of("let x = 1; // crate::show is named in a comment")),
        Vec::<String>::new()
    );
    assert_eq!(named("let s = \"a // b\"; crate::render::x();"), ["render"]);
}
