//! Every unknown key in a file, not just the first. serde stops at the first unknown field; this
//! walks the parsed TOML against the file format's shape first and reports them all, each at
//! its line and column with a "did you mean". The known keys come from the serde structs
//! themselves (their `deserialize_struct` field lists), so they cannot drift apart.

use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, did_you_mean};

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

/// Screens a file before serde reads it: every unknown key (serde alone would stop at the
/// first) and every number that is not finite (TOML allows `nan` and `inf`; no setting of a
/// show means either), each reported at its place. Returns them, and, when they can be taken
/// out cleanly, the text without them: each unknown `key = value` blanked to spaces and each
/// non-finite number written as `0`, so every other byte keeps its place and later errors keep
/// their line and column. With that text the rest of the file is checked too, and a file's
/// every problem is reported at once. `None` when an unknown key cannot be blanked alone (an
/// unknown `[table]` header): then these are all there is to report.
pub fn screen(path: &Path, src: &str, shape: &Shape) -> (Vec<Diagnostic>, Option<String>) {
    let mut out = unknown_keys(path, src, shape);
    out.extend(non_finite_numbers(path, src));
    let mut spans = Vec::new();
    let mut numbers = Vec::new();
    if let Ok(doc) = DeTable::parse(src) {
        unknown_spans(doc.get_ref(), shape, &mut spans);
        non_finite(doc.get_ref(), &mut numbers);
    }
    out.sort_by_key(|d| (d.line, d.col));
    if spans.is_empty() && numbers.is_empty() {
        return (out, Some(src.to_string()));
    }
    let mut bytes = src.as_bytes().to_vec();
    for span in &numbers {
        bytes[span.start] = b'0';
        for b in &mut bytes[span.start + 1..span.end] {
            *b = b' ';
        }
    }
    for (key, value) in &spans {
        // Only a `key = value` that starts its line, or sits in an inline table, stands alone.
        let before = src[..key.start].trim_end_matches([' ', '\t']);
        if !(before.is_empty() || before.ends_with(['\n', '{', ','])) || value.end < key.start {
            return (out, None);
        }
        let mut end = value.end.min(src.len());
        // An inline table's entry takes its separating comma with it.
        let after = &src[end..];
        let trimmed = after.trim_start_matches([' ', '\t']);
        if trimmed.starts_with(',') {
            end += after.len() - trimmed.len() + 1;
        }
        for b in &mut bytes[key.start..end] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return (out, None);
    };
    // Taken out cleanly: the text still parses and has no unknown key left.
    let clean = DeTable::parse(&text).is_ok() && unknown_keys(path, &text, shape).is_empty();
    (out, clean.then_some(text))
}

/// Every number in `src` that is not finite (`nan`, `inf`), each at its place: for files read
/// without a [`Shape`] (the MIDI map).
pub fn non_finite_numbers(path: &Path, src: &str) -> Vec<Diagnostic> {
    let mut spans = Vec::new();
    if let Ok(doc) = DeTable::parse(src) {
        non_finite(doc.get_ref(), &mut spans);
    }
    spans
        .into_iter()
        .map(|span| {
            Diagnostic::at(
                path,
                src,
                span.clone(),
                format!("`{}` is not a number a show can use", src[span].trim()),
            )
            .with_hint("write a finite number")
        })
        .collect()
}

/// The span of every float in `table` (at any depth) that is NaN or infinite.
fn non_finite(table: &DeTable<'_>, out: &mut Vec<std::ops::Range<usize>>) {
    fn value(v: &toml::Spanned<DeValue<'_>>, out: &mut Vec<std::ops::Range<usize>>) {
        match v.get_ref() {
            DeValue::Float(f) if !f.as_str().parse::<f64>().is_ok_and(f64::is_finite) => {
                out.push(v.span())
            }
            DeValue::Table(t) => non_finite(t, out),
            DeValue::Array(items) => items.iter().for_each(|i| value(i, out)),
            _ => {}
        }
    }
    for (_, v) in table {
        value(v, out);
    }
}

/// Reads a file of `shape` after [`screen`]ing it: the value and the screen's problems (to be
/// reported with whatever else the caller finds), or, when the file cannot be read as `T` at
/// all, every problem found, in file order.
pub fn read_screened<T: serde::de::DeserializeOwned>(
    path: &Path,
    src: &str,
    shape: &Shape,
) -> Result<(T, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (mut diags, text) = screen(path, src, shape);
    let Some(text) = text else {
        return Err(diags);
    };
    match toml::from_str(&text) {
        Ok(value) => Ok((value, diags)),
        Err(e) => {
            diags.push(super::diag::toml_error(path, src, &e));
            diags.sort_by_key(|d| (d.line, d.col));
            Err(diags)
        }
    }
}

/// The span of every unknown key and of its value, as [`walk`] finds them.
fn unknown_spans(
    table: &DeTable<'_>,
    shape: &Shape,
    spans: &mut Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
) {
    for (key, value) in table {
        let name: &str = key.get_ref();
        if !shape.keys.contains(&name) {
            spans.push((key.span(), value.span()));
            continue;
        }
        let Some((_, nested)) = shape.nested.iter().find(|(k, _)| *k == name) else {
            continue;
        };
        match (nested, value.get_ref()) {
            (Nested::Table(s), DeValue::Table(t)) => unknown_spans(t, s, spans),
            (Nested::Tables(s), DeValue::Array(items)) => {
                for item in items.iter() {
                    if let DeValue::Table(t) = item.get_ref() {
                        unknown_spans(t, s, spans);
                    }
                }
            }
            _ => {}
        }
    }
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
    use crate::show::performance::{CueFile, performance_shape as performance};

    #[test]
    fn unknown_keys_are_blanked_in_place_so_the_rest_can_be_checked() {
        let src = "duration = 10\nsetp = 3\n[[cue]]\nat = 1\ncaption = { text = \"hi\", posiiton = \"top\" }\nnotes = [60]\n";
        let (diags, text) = screen(Path::new("p.toml"), src, &performance());
        assert_eq!(diags.len(), 2, "{diags:#?}");
        let text = text.expect("both keys stand alone");
        assert_eq!(text.len(), src.len());
        assert_eq!(text.lines().count(), src.lines().count());
        assert!(
            !text.contains("setp") && !text.contains("posiiton"),
            "{text}"
        );
        assert!(
            text.contains("text = \"hi\"") && text.contains("notes = [60]"),
            "{text}"
        );
    }

    #[test]
    fn nan_and_infinity_are_refused_at_their_place_and_read_as_zero_after() {
        let src = "duration = 10\n[[cue]]\nat = 1\nramp = { param = \"hue\", to = nan }\nset = { gain_db = -inf, cutoff_hz = inf }\n";
        let (diags, text) = screen(Path::new("p.toml"), src, &performance());
        let places: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.col)).collect();
        assert_eq!(places, [(4, 30), (5, 19), (5, 37)], "{diags:#?}");
        assert!(diags[0].message.contains("`nan`"), "{}", diags[0]);
        let text = text.unwrap();
        assert_eq!(text.len(), src.len());
        assert!(
            text.contains("to = 0   }") && text.contains("gain_db = 0   ,"),
            "{text}"
        );
    }

    #[test]
    fn an_unknown_table_header_cannot_be_blanked_alone() {
        let src = "duration = 10\n[symphonie]\nseed = 3\n";
        let (diags, text) = screen(Path::new("p.toml"), src, &performance());
        assert_eq!(diags.len(), 1);
        assert_eq!(text, None);
    }

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
