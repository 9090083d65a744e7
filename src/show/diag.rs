//! Diagnostics a performer can act on: `file:line:col: message`, plus a hint.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at byte offset `span.start` of `src`, the text of `path`.
    pub fn at(path: &Path, src: &str, span: Range<usize>, message: impl fmt::Display) -> Self {
        let (line, col) = line_col(src, span.start);
        Self {
            path: path.to_path_buf(),
            line,
            col,
            message: message.to_string(),
            hint: None,
        }
    }

    /// A diagnostic about a whole file (it could not be read, say): reported at 1:1.
    pub fn file(path: &Path, message: impl fmt::Display) -> Self {
        Self {
            path: path.to_path_buf(),
            line: 1,
            col: 1,
            message: message.to_string(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )?;
        if let Some(h) = &self.hint {
            write!(f, "\n    hint: {h}")?;
        }
        Ok(())
    }
}

/// 1-based (line, column) of byte `offset` in `src`; columns count characters.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let mut cut = offset;
    while !src.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &src[..cut];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring letters each cost one (the common typos).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Drops the problems from `diags[first..]` at a place `diags[..first]` already reports: a
/// number screened out of a file (`nan`, read on as 0) is not also reported as out of range.
pub fn drop_repeated_places(diags: &mut Vec<Diagnostic>, first: usize) {
    let later = diags.split_off(first.min(diags.len()));
    let same =
        |a: &Diagnostic, b: &Diagnostic| a.path == b.path && a.line == b.line && a.col == b.col;
    let kept: Vec<Diagnostic> = later
        .into_iter()
        .filter(|d| !diags.iter().any(|f| same(f, d)))
        .collect();
    diags.extend(kept);
}

/// A hint for a word that is not one of `known`: the near miss if there is one, else the list.
pub fn suggestion<'a>(word: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match did_you_mean(word, known.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "one of: {}",
            known.into_iter().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The diagnostics of one file, each at its place: the one way every reader of a file (a
/// performance, a preset, its patch, a MIDI map) reports what it finds, so each problem reads
/// the same and a file's every problem is collected, not just the first.
pub struct Reporter<'a> {
    pub path: &'a Path,
    pub src: &'a str,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub fn new(path: &'a Path, src: &'a str, diags: &'a mut Vec<Diagnostic>) -> Self {
        Self { path, src, diags }
    }

    /// A problem at `span` of the file.
    pub fn error(&mut self, span: Range<usize>, message: impl fmt::Display) {
        self.diags
            .push(Diagnostic::at(self.path, self.src, span, message));
    }

    /// A problem at `span`, with what to do about it.
    pub fn error_hint(
        &mut self,
        span: Range<usize>,
        message: impl fmt::Display,
        hint: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::at(self.path, self.src, span, message).with_hint(hint));
    }

    /// A problem with no place in the file (it came from elsewhere: a controller, live).
    pub fn file_error(&mut self, message: impl fmt::Display) {
        self.diags.push(Diagnostic::file(self.path, message));
    }

    /// `unknown WHAT `word``, with the near miss among `known` or the list of them.
    pub fn unknown<'k>(
        &mut self,
        span: Range<usize>,
        what: &str,
        word: &str,
        known: impl IntoIterator<Item = &'k str> + Clone,
    ) {
        self.error_hint(
            span,
            format!("unknown {what} `{word}`"),
            suggestion(word, known),
        );
    }

    /// The name `v` read as one of `known` by `parse`, or reported as unknown.
    pub fn choice<T>(
        &mut self,
        v: &toml::Spanned<String>,
        what: &str,
        known: &[&str],
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let found = parse(v.get_ref());
        if found.is_none() {
            self.unknown(v.span(), what, v.get_ref(), known.iter().copied());
        }
        found
    }

    /// `v` if it is finite and within `lo..=hi`, else reported.
    pub fn within(&mut self, v: &toml::Spanned<f64>, what: &str, lo: f64, hi: f64) -> Option<f64> {
        let x = *v.get_ref();
        if x.is_finite() && (lo..=hi).contains(&x) {
            Some(x)
        } else {
            self.error(
                v.span(),
                format!("{what} must be within {lo}..{hi}, not {x}"),
            );
            None
        }
    }

    /// `v` if it is within `lo..=hi`, else reported (whole numbers).
    pub fn within_int(
        &mut self,
        v: &toml::Spanned<i64>,
        what: &str,
        lo: i64,
        hi: i64,
    ) -> Option<i64> {
        let x = *v.get_ref();
        if (lo..=hi).contains(&x) {
            Some(x)
        } else {
            self.error(
                v.span(),
                format!("{what} must be within {lo}..={hi}, not {x}"),
            );
            None
        }
    }
}

/// Turns a serde/toml error into a diagnostic, adding a "did you mean" for unknown fields.
pub fn toml_error(path: &Path, src: &str, err: &toml::de::Error) -> Diagnostic {
    let span = err.span().unwrap_or(0..0);
    let msg = err.message().trim().to_string();
    let mut d = Diagnostic::at(path, src, span.clone(), msg.clone());
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let word = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = msg
            .split("expected ")
            .nth(1)
            .unwrap_or("")
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        // The message already lists the known fields; add a suggestion when one is close.
        if let Some(s) = did_you_mean(word, expected.iter().copied()) {
            d = d.with_hint(format!("did you mean `{s}`?"));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_name_gets_the_near_miss_or_the_whole_list() {
        let mut diags = Vec::new();
        let src = "curve = \"lineer\"\nmode = \"zzz\"\n";
        let mut r = Reporter::new(Path::new("f.toml"), src, &mut diags);
        let names = ["linear", "exponential"];
        r.unknown(9..17, "curve", "lineer", names);
        r.unknown(25..30, "curve", "zzz", names);
        assert_eq!(
            diags[0].to_string(),
            "f.toml:1:10: unknown curve `lineer`\n    hint: did you mean `linear`?"
        );
        assert_eq!((diags[1].line, diags[1].col), (2, 9));
        assert_eq!(
            diags[1].hint.as_deref(),
            Some("one of: linear, exponential")
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 9), (2, 4));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_col("é = 1", 3), (1, 3));
    }

    #[test]
    fn did_you_mean_finds_a_near_miss_only() {
        assert_eq!(
            did_you_mean("prest", ["preset", "notes", "at"]),
            Some("preset")
        );
        assert_eq!(did_you_mean("notse", ["at", "notes"]), Some("notes"));
        assert_eq!(did_you_mean("zzzzzz", ["preset", "notes"]), None);
    }
}
