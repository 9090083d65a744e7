//! Every unknown key in a file, not just the first. serde stops at the first unknown field; this
//! walks the parsed TOML against the file format's shape first and reports them all, each at
//! its line and column with a "did you mean". The known keys come from the serde structs
//! themselves (their `deserialize_struct` field lists), so they cannot drift apart.

use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, did_you_mean};
use super::performance::{
    CaptionFile, CueFile, DreamerFile, LoopFile, MacrosFile, PerformanceFile, PhraseFile, RampFile,
    SymphonyFile, TempoChangeFile,
};

/// The keys a table may have, and the shape under those that hold tables.
pub struct Shape {
    keys: &'static [&'static str],
    nested: Vec<(&'static str, Nested)>,
}

pub enum Nested {
    /// A table (or inline table) of this shape.
    Table(Shape),
    /// An array of tables (`[[cue]]`, `ramps = [{...}]`) of this shape.
    Tables(Shape),
    /// Any keys (`set = { ... }`): checked later, by meaning.
    Open,
}

impl Shape {
    pub(crate) fn of<'de, T: Deserialize<'de>>(nested: Vec<(&'static str, Nested)>) -> Self {
        Self {
            keys: field_names::<T>(),
            nested,
        }
    }
}

/// The performance file's shape.
pub fn performance() -> Shape {
    let ramp = || Shape::of::<RampFile>(vec![]);
    Shape::of::<PerformanceFile>(vec![
        ("symphony", Nested::Table(Shape::of::<SymphonyFile>(vec![]))),
        ("dreamer", Nested::Tables(Shape::of::<DreamerFile>(vec![]))),
        (
            "tempo",
            Nested::Tables(Shape::of::<TempoChangeFile>(vec![])),
        ),
        ("loop", Nested::Tables(Shape::of::<LoopFile>(vec![]))),
        (
            "cue",
            Nested::Tables(Shape::of::<CueFile>(vec![
                ("set", Nested::Open),
                ("ramp", Nested::Table(ramp())),
                ("ramps", Nested::Tables(ramp())),
                ("phrase", Nested::Table(Shape::of::<PhraseFile>(vec![]))),
                ("caption", Nested::Table(Shape::of::<CaptionFile>(vec![]))),
                ("symphony", Nested::Table(Shape::of::<MacrosFile>(vec![]))),
            ])),
        ),
    ])
}

/// Every key of `src` that `shape` does not know. An unparsable file gives nothing here (serde
/// reports the syntax error).
pub fn unknown_keys(path: &Path, src: &str, shape: &Shape) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Ok(doc) = DeTable::parse(src) {
        walk(path, src, doc.get_ref(), shape, "", &mut out);
    }
    out.sort_by_key(|d| (d.line, d.col));
    out
}

fn walk(
    path: &Path,
    src: &str,
    table: &DeTable<'_>,
    shape: &Shape,
    context: &str,
    out: &mut Vec<Diagnostic>,
) {
    for (key, value) in table {
        let name: &str = key.get_ref();
        if !shape.keys.contains(&name) {
            let mut d = Diagnostic::at(
                path,
                src,
                key.span(),
                format!("unknown field `{name}`{context}"),
            );
            d = d.with_hint(match did_you_mean(name, shape.keys.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known here: {}", shape.keys.join(", ")),
            });
            out.push(d);
            continue;
        }
        let Some((_, nested)) = shape.nested.iter().find(|(k, _)| *k == name) else {
            continue;
        };
        let inner = format!(" in `{name}`");
        match (nested, value.get_ref()) {
            (Nested::Table(s), DeValue::Table(t)) => walk(path, src, t, s, &inner, out),
            (Nested::Tables(s), DeValue::Array(items)) => {
                for item in items.iter() {
                    if let DeValue::Table(t) = item.get_ref() {
                        walk(path, src, t, s, &inner, out);
                    }
                }
            }
            // Wrong types are serde's to report, with the types it expected.
            _ => {}
        }
    }
}

/// The field names serde's derive gives a struct: asked for by a deserializer that only
/// listens to `deserialize_struct`.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut probe = FieldProbe(&[]);
    let _ = T::deserialize(&mut probe);
    probe.0
}

struct FieldProbe(&'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names probed")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for &mut FieldProbe {
    type Error = Stop;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        self.0 = fields;
        Err(Stop)
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_keys_are_the_serde_fields() {
        let keys = field_names::<CueFile>();
        for k in ["at", "go", "continue", "return", "caption", "ramps"] {
            assert!(keys.contains(&k), "{k} in {keys:?}");
        }
    }

    #[test]
    fn every_unknown_key_is_reported_at_its_place_with_a_suggestion() {
        let src = "titel = \"x\"\nduration = 10\npreset = \"a\"\n[[cue]]\nat = 1\nnotse = [60]\ncaption = { text = \"hi\", posiiton = \"top\" }\n[[cue]]\nat = 2\nramps = [{ param = \"x\", to = 1, over_s = 1, curv = \"linear\" }]\n[symphony]\nseeed = 3\n";
        let diags = unknown_keys(Path::new("p.toml"), src, &performance());
        let got: Vec<(usize, Option<&str>)> =
            diags.iter().map(|d| (d.line, d.hint.as_deref())).collect();
        assert_eq!(
            got,
            [
                (1, Some("did you mean `title`?")),
                (6, Some("did you mean `notes`?")),
                (7, Some("did you mean `position`?")),
                (10, Some("did you mean `curve`?")),
                (12, Some("did you mean `seed`?")),
            ],
            "{diags:#?}"
        );
    }
}
