//! Timelines of a single preset: a VJ's preview, and a still one for tests and benchmarks.

use crate::bridge::MasterSettings;
use crate::clock::Tempo;
use crate::show::diag::{Diagnostic, did_you_mean};
use crate::show::preset::{Preset, load_preset};
use crate::show::project::Project;
use crate::show::timeline::{AudioAction, AudioCue, Switch, Timeline};

/// A VJ's preview of preset `name`: its picture for `duration_s`, and its sound playing what
/// the composer makes of a default key and macros (a seeded, repeatable phrase over chords),
/// so the look's bands, onsets and beat can be judged as they will move in a show.
pub fn preset_preview(
    project: &Project,
    name: &str,
    duration_s: f64,
) -> Result<Timeline, Vec<Diagnostic>> {
    let mut t = preset_timeline(project, name, duration_s)?;
    let spec = crate::show::symphony::SymphonySpec {
        seed: 1,
        start_s: 0.0,
        end_s: duration_s,
        base: crate::show::symphony::Macros::default(),
        changes: Vec::new(),
    };
    t.audio
        .extend(crate::show::symphony::compose(&spec, &t.tempo));
    t.audio.sort_by(|a, b| a.time_s.total_cmp(&b.time_s));
    Ok(t)
}

/// A timeline that just shows preset `name` of `project` (and plays nothing) for
/// `duration_s`: for previewing a preset and for testing it.
pub fn preset_timeline(
    project: &Project,
    name: &str,
    duration_s: f64,
) -> Result<Timeline, Vec<Diagnostic>> {
    let path = project
        .preset_path(name)
        .map_err(|e| vec![Diagnostic::file(&project.presets_dir(), e)])?;
    if !path.exists() {
        let available = project.preset_names();
        let mut d = Diagnostic::file(&path, format!("no preset named `{name}`"));
        if let Some(s) = did_you_mean(name, available.iter().map(String::as_str)) {
            d = d.with_hint(format!("did you mean `{s}`?"));
        }
        return Err(vec![d]);
    }
    Ok(still_timeline(load_preset(project, &path)?, duration_s))
}

/// A timeline that shows `preset` for `duration_s` and plays nothing (but its patch).
pub fn still_timeline(preset: Preset, duration_s: f64) -> Timeline {
    Timeline {
        title: preset.name.clone(),
        tempo: Tempo::default(),
        duration_s,
        initial_patch: preset.patch.unwrap_or_default(),
        master: MasterSettings::default(),
        presets: vec![preset],
        audio: vec![AudioCue {
            time_s: duration_s,
            action: AudioAction::AllNotesOff,
        }],
        fade_styles: vec![],
        switches: vec![Switch {
            time_s: 0.0,
            preset: 0,
            fade_s: 0.0,
            style: None,
        }],
        changes: vec![],
        dreamers: vec![],
        unity: 1.0,
        captions: vec![],
        cues: vec![],
        symphony: false,
        loops: vec![],
        origin_s: 0.0,
        before: None,
    }
}
