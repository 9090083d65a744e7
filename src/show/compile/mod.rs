//! Compilation of a performance file into a [`Timeline`]: positions resolved on the tempo
//! map, presets loaded by name, cue actions turned into audio actions (sample-stamped later by
//! the scheduler) and visual changes (evaluated by the render thread). Every problem found is
//! reported, each at its file:line:col.
//!
//! One [`Compiler`](compiler::Compiler) carries a performance through the phases below, and
//! every phase reports through it, so each problem reads the same way:
//! - [`compiler`]: the compiler itself, the presets it loads by name, and the opening (tempo
//!   map, length, master bus, first preset, the dream mosaic);
//! - [`tempo_map`] and [`loop_regions`]: the performance's tempo map and `[[loop]]` regions;
//! - [`cue`]: one cue's actions (preset, notes, glitch, caption, presence, sets and ramps),
//!   with [`params`] resolving the parameter names they use and [`captions`] a caption;
//! - [`macros`]: the composer's macros and the music it composes;
//! - [`live`]: the changes a controller made live (presets, macros);
//! - [`preview`]: timelines of a single preset (a VJ's preview).

mod captions;
mod compiler;
mod cue;
mod live;
mod loop_regions;
mod macros;
mod params;
mod preview;
mod tempo_map;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use self::preview::{preset_preview, preset_timeline, still_timeline};

use self::compiler::Compiler;
use super::cues::{self, GoPlan, LiveInput};
use super::diag::{Diagnostic, drop_repeated_places};
use super::loops;
use super::performance::{PerformanceFile, parse_performance};
use super::project::Project;
use super::timeline::Timeline;

/// How long a withdrawn or returning dreamer takes to fade when the cue gives no `fade_s`.
pub const DEFAULT_PRESENCE_FADE_S: f64 = 2.0;

/// Loads a performance file and every preset it uses, and compiles it. Returns every problem
/// found in the performance and in its presets.
pub fn load_timeline(path: &Path) -> Result<Timeline, Vec<Diagnostic>> {
    load_timeline_with(path, &GoPlan::Planned)
}

/// [`load_timeline`] with manual cues GOne as `plan` says (live: the GOs so far).
pub fn load_timeline_with(path: &Path, plan: &GoPlan) -> Result<Timeline, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::file(
            path,
            format!("cannot read performance: {e}"),
        )]
    })?;
    let (file, mut diags) = parse_performance(path, &src)?;
    match compile(&Project::of_file(path), path, &src, &file, plan) {
        Ok(timeline) if diags.is_empty() => Ok(timeline),
        Ok(_) => Err(diags),
        Err(more) => {
            let screened = diags.len();
            diags.extend(more);
            drop_repeated_places(&mut diags, screened);
            sort_diagnostics(path, &mut diags);
            Err(diags)
        }
    }
}

/// Compiles a parsed performance file. `src` is its text, for error positions.
pub fn compile(
    project: &Project,
    path: &Path,
    src: &str,
    file: &PerformanceFile,
    plan: &GoPlan,
) -> Result<Timeline, Vec<Diagnostic>> {
    let mut c = Compiler::new(project, path, src, file, matches!(plan, GoPlan::Live(_)));
    c.opening();
    let loop_regions = c.loop_regions();

    // GOs happen on the show clock; cues are placed in score time.
    let score = |t: f64| loops::score_time(&loop_regions, t);
    let live = match plan {
        GoPlan::Live(live) => live.clone(),
        GoPlan::Planned => LiveInput::default(),
    };
    let plan = match plan {
        GoPlan::Live(live) => GoPlan::Live(LiveInput {
            gos: live
                .gos
                .iter()
                .map(|(k, t)| (k.clone(), score(*t)))
                .collect(),
            ..LiveInput::default()
        }),
        GoPlan::Planned => GoPlan::Planned,
    };
    let resolved = cues::resolve(
        &file.cues,
        &c.tempo,
        &plan,
        file.symphony.is_some(),
        c.duration_s,
        path,
        src,
        &mut c.diags,
    );
    for (spanned, timing) in file.cues.iter().zip(&resolved.cues) {
        c.cue(spanned, timing);
    }
    c.live_changes(&live, score);
    c.compose();
    c.finish(resolved, loop_regions)
}

/// In file order: the performance's own problems first, then its presets'.
fn sort_diagnostics(path: &Path, diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.path != path, &a.path, a.line, a.col).cmp(&(b.path != path, &b.path, b.line, b.col))
    });
}
