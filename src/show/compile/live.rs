//! Changes a controller made live, placed at their (score) times: presets and the composer's
//! macros. Their names came from the network, not the file, so their problems have no place
//! in it.

use super::compiler::Compiler;
use super::macros::apply_live_macros;
use crate::show::cues::LiveInput;
use crate::show::diag::Diagnostic;
use crate::show::timeline::{AudioAction, AudioCue, Switch};

impl Compiler<'_> {
    /// Adds the live changes in `live`; `score` maps show time to score time.
    pub(super) fn live_changes(&mut self, live: &LiveInput, score: impl Fn(f64) -> f64) {
        for (at, name, fade_s) in &live.presets {
            let t = score(*at);
            let mut found = Vec::new();
            match self.preset_reporting_to(name, 0..0, &mut found) {
                Some(i) => {
                    self.switches.push(Switch {
                        time_s: t,
                        preset: i,
                        fade_s: fade_s.clamp(0.0, 60.0),
                        style: None,
                    });
                    if let Some(p) = self.presets[i].patch {
                        self.audio.push(AudioCue {
                            time_s: t,
                            action: AudioAction::Patch(p),
                        });
                    }
                }
                // A name the project does not have is reported, without a file position.
                None => {
                    let path = self.path;
                    self.diags.extend(found.into_iter().map(|d| Diagnostic {
                        hint: d.hint.clone(),
                        ..Diagnostic::file(path, format!("live preset change: {}", d.message))
                    }))
                }
            }
        }
        for (at, change) in &live.macros {
            let t = score(*at);
            let mut m = self
                .macro_changes
                .iter()
                .rev()
                .find(|(when, _)| *when <= t)
                .map_or(self.opening_macros, |(_, m)| *m);
            match apply_live_macros(&mut m, change) {
                Ok(()) => {
                    let at = self.macro_changes.partition_point(|(when, _)| *when <= t);
                    self.macro_changes.insert(at, (t, m));
                }
                Err(e) => self
                    .report()
                    .file_error(format!("live symphony change: {e}")),
            }
        }
    }
}
