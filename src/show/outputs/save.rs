//! Writing live calibration back to the output map: the values OSC or the console moved
//! (corners, mesh points, blends, slices) go into the file the map came from, with the
//! performer's comments and layout kept (`toml_edit`). The file as it was is first copied
//! to `backups/` beside it, stamped with the time (the newest [`BACKUPS_KEPT`] are kept), and
//! the new text is written to a temporary file, synced and renamed over the old: a save is
//! never half-written, whatever happens during it.

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use super::{EDGES, OutputDef, OutputMap};

/// How many backups of a map are kept.
pub const BACKUPS_KEPT: usize = 50;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The map file cannot be read or written (permissions, a full disk): fix that and save
    /// again; the mapping on screen is unchanged.
    #[error("cannot save {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file on disk is no longer a map this one can be written into (edited meanwhile):
    /// fix it, or let the watcher load it, and save again.
    #[error("cannot save {path}: {why}")]
    Changed { path: PathBuf, why: String },
}

/// Writes `map`'s calibration into its file, after a timestamped backup. Returns the backup's
/// path.
pub fn save_outputs(map: &OutputMap) -> Result<PathBuf, SaveError> {
    let path = &map.path;
    let io = |source| SaveError::Io {
        path: path.clone(),
        source,
    };
    let src = std::fs::read_to_string(path).map_err(io)?;
    let text = updated(&src, map).map_err(|why| SaveError::Changed {
        path: path.clone(),
        why,
    })?;
    let backup = backup(path, &src).map_err(io)?;
    write_whole(path, &text).map_err(io)?;
    Ok(backup)
}

/// `src` with `map`'s calibration written in.
pub(crate) fn updated(src: &str, map: &OutputMap) -> Result<String, String> {
    let mut doc: DocumentMut = src.parse().map_err(|e| format!("{e}"))?;
    let outputs = doc
        .get_mut("output")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or("it has no [[output]] tables")?;
    for def in &map.outputs {
        let table = outputs
            .iter_mut()
            .find(|t| t.get("name").and_then(Item::as_str) == Some(def.name.as_str()))
            .ok_or_else(|| format!("it has no output named `{}`", def.name))?;
        write_output(table, def);
    }
    Ok(doc.to_string())
}

fn number(v: f64) -> Value {
    // Whole pixels stay whole numbers; the rest keep four decimals (a tenth of a pixel at
    // 8K in layout units is 1e-5: more is noise).
    if v.fract() == 0.0 && v.abs() < 1e9 {
        Value::from(v as i64)
    } else {
        Value::from((v * 1e5).round() / 1e5)
    }
}

fn numbers(vs: &[f64]) -> Value {
    Value::Array(vs.iter().map(|v| number(*v)).collect::<Array>())
}

fn points(ps: &[[f64; 2]]) -> Value {
    let mut a: Array = ps.iter().map(|p| numbers(p)).collect();
    if ps.len() > 4 {
        for v in a.iter_mut() {
            v.decor_mut().set_prefix("\n  ");
        }
        a.set_trailing("\n");
        a.set_trailing_comma(true);
    }
    Value::Array(a)
}

/// A sub-table of `table`, made if missing.
fn sub<'t>(table: &'t mut Table, key: &str) -> &'t mut Table {
    if !table.contains_key(key) {
        table.insert(key, Item::Table(Table::new()));
    }
    let item = table.get_mut(key).expect("just made");
    if let Some(inline) = item.as_inline_table().cloned() {
        *item = Item::Table(inline.into_table());
    }
    item.as_table_mut().expect("a table")
}

fn set(table: &mut Table, key: &str, value: Value) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        // The old value's comments stay with the new one.
        Some(old) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

fn write_output(table: &mut Table, def: &OutputDef) {
    if def.corners != OutputDef::identity_corners(def.size) || table.contains_key("warp") {
        set(sub(table, "warp"), "corners", points(&def.corners));
    }
    match &def.mesh {
        Some(m) => {
            let mesh = sub(table, "mesh");
            set(mesh, "columns", Value::from(m.columns as i64));
            set(mesh, "rows", Value::from(m.rows as i64));
            set(mesh, "points", points(&m.points));
        }
        None => {
            if let Some(mesh) = table.get_mut("mesh").and_then(Item::as_table_mut) {
                mesh.remove("points");
            }
        }
    }
    let b = &def.blend;
    if b != &Default::default() || table.contains_key("blend") {
        let blend = sub(table, "blend");
        for (i, name) in EDGES.iter().enumerate() {
            match b.edges[i] {
                Some(e) => {
                    let mut t = InlineTable::new();
                    t.insert("width_px", number(e.width_px));
                    t.insert("power", number(e.power));
                    set(blend, name, Value::InlineTable(t));
                }
                None => {
                    blend.remove(name);
                }
            }
        }
        if b.gamma[0] == b.gamma[1] && b.gamma[1] == b.gamma[2] {
            set(blend, "gamma", number(b.gamma[0]));
        } else {
            set(blend, "gamma", numbers(&b.gamma));
        }
        set(blend, "black_lift", number(b.black_lift));
    }
    if let Some(slices) = table
        .get_mut("slice")
        .and_then(Item::as_array_of_tables_mut)
    {
        for (t, s) in slices.iter_mut().zip(&def.slices) {
            set(t, "crop", numbers(&s.crop));
            if t.contains_key("place") {
                set(t, "place", numbers(&s.place));
            }
            if s.rotate_deg != 0 || t.contains_key("rotate") {
                set(t, "rotate", Value::from(i64::from(s.rotate_deg)));
            }
            for (key, on) in [("flip_x", s.flip_x), ("flip_y", s.flip_y)] {
                if on || t.contains_key(key) {
                    set(t, key, Value::from(on));
                }
            }
        }
    }
}

/// Copies `src` (the file as it was) to `backups/STEM-TIME.toml` beside `path`, and keeps only
/// the newest [`BACKUPS_KEPT`].
fn backup(path: &Path, src: &str) -> std::io::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new(".")).join("backups");
    std::fs::create_dir_all(&dir)?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("outputs");
    let now = jiff::Timestamp::now();
    let stamp = now.strftime("%Y%m%dT%H%M%S%.3fZ").to_string();
    let out = dir.join(format!("{stem}-{stamp}.toml"));
    write_whole(&out, src)?;
    let prefix = format!("{stem}-");
    let mut old: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".toml"))
        })
        .collect();
    // The stamps sort as the times they stand for.
    old.sort();
    let excess = old.len().saturating_sub(BACKUPS_KEPT);
    for p in &old[..excess] {
        let _ = std::fs::remove_file(p);
    }
    Ok(out)
}

/// Writes `text` to `path` whole or not at all: a temporary file beside it, synced, renamed.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("outputs.toml");
    let tmp = path.with_file_name(format!(".{name}.saving"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::super::parse_outputs;
    use super::*;

    const MAP: &str = r#"# the wall
canvas = [2304, 720]

[[output]]
name = "left"   # the stage-left projector
window = { monitor = 0 }
size = [1280, 720]
[[output.slice]]
crop = [0, 0, 1280, 720]
[output.blend]
right = { width_px = 256 }   # 20 % overlap
"#;

    #[test]
    fn saved_calibration_reads_back_the_same_and_keeps_the_comments() {
        let path = Path::new("o.toml");
        let mut map = parse_outputs(path, MAP).unwrap();
        map.outputs[0].corners[1] = [1270.5, 4.0];
        map.outputs[0].blend.edges[1].as_mut().unwrap().width_px = 300.0;
        map.outputs[0].blend.black_lift = 0.03;
        map.outputs[0].slices[0].rotate_deg = 90;
        let text = updated(MAP, &map).unwrap();
        assert!(text.contains("# the stage-left projector"), "{text}");
        assert!(text.contains("# 20 % overlap"), "{text}");
        let back = parse_outputs(path, &text).unwrap();
        assert_eq!(back, map, "{text}");
    }

    #[test]
    fn a_save_leaves_a_backup_of_the_file_as_it_was() {
        let dir = std::env::temp_dir().join(format!("somnia-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wall.toml");
        std::fs::write(&path, MAP).unwrap();
        let mut map = parse_outputs(&path, MAP).unwrap();
        map.outputs[0].blend.gamma = [2.0, 2.2, 2.4];
        let backup = save_outputs(&map).unwrap();
        assert_eq!(std::fs::read_to_string(&backup).unwrap(), MAP);
        let saved = super::super::load_outputs(&path).unwrap();
        assert_eq!(saved.outputs[0].blend.gamma, [2.0, 2.2, 2.4]);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".saving"))
            .collect();
        assert!(leftovers.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
