//! The `[[loop]]` regions.

use super::compiler::Compiler;
use crate::show::loops::Loop;

impl Compiler<'_> {
    /// The `[[loop]]` regions, checked: each inside the performance, at least one pass, none
    /// overlapping another.
    pub(super) fn loop_regions(&mut self) -> Vec<Loop> {
        let mut out: Vec<(Loop, std::ops::Range<usize>)> = Vec::new();
        let duration_s = self.duration_s;
        for spanned in &self.file.loops {
            let l = spanned.get_ref();
            let (Some(from_s), Some(to_s)) = (self.time(&l.from), self.time(&l.to)) else {
                continue;
            };
            let times = *l.times.get_ref();
            if !(1..=1000).contains(&times) {
                self.report()
                    .error(l.times.span(), "times must be within 1..=1000");
                continue;
            }
            if from_s >= to_s || to_s > duration_s {
                self.report().error_hint(
                    spanned.span(),
                    format!("a loop from {from_s} s to {to_s} s does not fit"),
                    format!(
                        "`from` must come before `to`, both within the performance ({duration_s} s)"
                    ),
                );
                continue;
            }
            out.push((
                Loop {
                    from_s,
                    to_s,
                    times: times as u32,
                },
                spanned.span(),
            ));
        }
        out.sort_by(|a, b| a.0.from_s.total_cmp(&b.0.from_s));
        for pair in out.windows(2) {
            if pair[1].0.from_s < pair[0].0.to_s {
                self.report().error_hint(
                    pair[1].1.clone(),
                    format!(
                        "this loop ({} s to {} s) overlaps the one from {} s to {} s",
                        pair[1].0.from_s, pair[1].0.to_s, pair[0].0.from_s, pair[0].0.to_s
                    ),
                    "loops may follow each other but not overlap",
                );
            }
        }
        out.into_iter().map(|(l, _)| l).collect()
    }
}
