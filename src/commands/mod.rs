//! The user-facing commands behind the CLI. Each returns the process exit code and prints
//! its own messages; none of them panics on bad input.

pub mod check;
pub mod crash_note;
pub mod import;
pub mod journal;
pub mod journal_keep;
pub mod journal_picture;
pub mod kiosk;
pub mod list;
pub mod logs;
pub mod meter;
pub mod play;
pub mod recording;
pub mod render;
pub mod render_journal;

/// Exit code for bad input files or arguments.
pub const EXIT_BAD_INPUT: i32 = 1;
/// Exit code when the machine lacks something needed (display, audio device, GPU).
pub const EXIT_MISSING: i32 = 2;
/// Exit code when an output asked for could not be made (the video encoder failed).
pub const EXIT_OUTPUT_FAILED: i32 = 3;

/// Prints diagnostics to stderr, one per line (plus hints).
pub fn print_diagnostics(diags: &[crate::show::Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// Reads the output map of `--outputs`, if one is given; its problems are printed (each at
/// its file:line:col) and the command exits with [`EXIT_BAD_INPUT`].
pub fn output_map(
    path: Option<&std::path::Path>,
) -> Result<Option<crate::show::outputs::OutputMap>, i32> {
    let Some(path) = path else { return Ok(None) };
    crate::show::outputs::load_outputs(path)
        .map(Some)
        .map_err(|d| {
            print_diagnostics(&d);
            EXIT_BAD_INPUT
        })
}

/// The command line's say over the safety limiter, applied over the performance file's.
#[derive(Clone, Copy, Debug, Default)]
pub struct LimiterArgs {
    pub ceiling_db: Option<f32>,
    /// `--no-limiter`: the only way to turn it off.
    pub off: bool,
}

impl LimiterArgs {
    pub fn apply(&self, master: &mut crate::bridge::MasterSettings) {
        self.apply_quietly(master);
        if self.off {
            eprintln!(
                "somnia: warning: the hearing-safety limiter is OFF (--no-limiter); mind the levels"
            );
        }
    }

    /// [`LimiterArgs::apply`] without the warning (for a reload: it was given at the start).
    pub fn apply_quietly(&self, master: &mut crate::bridge::MasterSettings) {
        if let Some(c) = self.ceiling_db {
            master.limiter_ceiling_db = c;
        }
        if self.off {
            master.limiter_enabled = false;
        }
    }
}

/// What to play or render: a performance file, or a single preset of the current project
/// (a preview, for `seconds`, default [`Source::PRESET_SECONDS`]).
#[derive(Clone, Debug)]
pub enum Source {
    Performance(std::path::PathBuf),
    Preset { name: String, seconds: Option<f64> },
}

impl Source {
    /// How long a lone preset runs when no length is given.
    pub const PRESET_SECONDS: f64 = 30.0;

    /// Loads the timeline, and the name outputs are called by.
    pub fn load(&self) -> Result<(crate::show::Timeline, String), Vec<crate::show::Diagnostic>> {
        self.load_with(&crate::show::cues::GoPlan::Planned)
    }

    /// [`Source::load`] with manual cues GOne as `plan` says.
    pub fn load_with(
        &self,
        plan: &crate::show::cues::GoPlan,
    ) -> Result<(crate::show::Timeline, String), Vec<crate::show::Diagnostic>> {
        match self {
            Source::Performance(path) => {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("performance")
                    .to_string();
                Ok((crate::show::compile::load_timeline_with(path, plan)?, name))
            }
            Source::Preset { name, seconds } => {
                let project = crate::show::project::Project::new(".");
                let seconds = seconds.unwrap_or(Self::PRESET_SECONDS);
                Ok((
                    crate::show::compile::preset_preview(&project, name, seconds)?,
                    name.clone(),
                ))
            }
        }
    }

    /// How to ask for this again, for hints.
    pub fn describe(&self) -> String {
        match self {
            Source::Performance(p) => p.display().to_string(),
            Source::Preset { name, .. } => format!("--preset {name}"),
        }
    }
}
