//! The user-facing commands behind the CLI. Each returns the process exit code and prints
//! its own messages; none of them panics on bad input.

pub mod check;
pub mod list;
pub mod meter;
pub mod play;
pub mod render;

/// Exit code for bad input files or arguments.
pub const EXIT_BAD_INPUT: i32 = 1;
/// Exit code when the machine lacks something needed (display, audio device, GPU).
pub const EXIT_MISSING: i32 = 2;

/// Prints diagnostics to stderr, one per line (plus hints).
pub fn print_diagnostics(diags: &[crate::show::Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// The command line's say over the safety limiter, applied over the performance file's.
#[derive(Clone, Copy, Debug, Default)]
pub struct LimiterArgs {
    pub ceiling_db: Option<f32>,
    /// `--no-limiter`: the only way to turn it off.
    pub off: bool,
}

impl LimiterArgs {
    pub fn apply(&self, master: &mut crate::audio::MasterSettings) {
        if let Some(c) = self.ceiling_db {
            master.limiter_ceiling_db = c;
        }
        if self.off {
            master.limiter_enabled = false;
            eprintln!(
                "somnia: warning: the hearing-safety limiter is OFF (--no-limiter); mind the levels"
            );
        }
    }
}
