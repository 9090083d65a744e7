use clap::ValueEnum;

use super::EXIT_MISSING;
use crate::show::project::Project;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum What {
    Presets,
    Performances,
    Audio,
    Midi,
    /// MIDI outputs (for `--midi-out`).
    MidiOut,
    Monitors,
}

/// `somnia list presets|performances|audio|midi|midi-out|monitors`.
pub fn run(what: What) -> i32 {
    let project = Project::new(".");
    let items = match what {
        What::Presets => Ok(preset_lines(&project)),
        What::Performances => Ok(project.performance_names()),
        What::Audio => crate::audio::device::output_device_lines().map_err(|e| e.to_string()),
        What::Midi => crate::control::midi::input::input_port_names().map_err(|e| e.to_string()),
        What::MidiOut => {
            crate::control::sync::midi_out::output_port_names().map_err(|e| e.to_string())
        }
        What::Monitors => crate::render::window::monitor_names().map_err(|e| e.to_string()),
    };
    match items {
        Ok(items) => {
            for i in items {
                println!("{i}");
            }
            0
        }
        Err(e) => {
            eprintln!("somnia list: {e}");
            EXIT_MISSING
        }
    }
}

/// Each preset's name; with its author and licence where it says them, and a warning where
/// that licence forbids commercial use.
fn preset_lines(project: &Project) -> Vec<String> {
    let mut lines = Vec::new();
    for name in project.preset_names() {
        let preset = project
            .preset_path(&name)
            .ok()
            .and_then(|p| crate::show::preset::load_preset(project, &p).ok());
        let Some(p) = preset.filter(|p| !p.author.is_empty() || !p.license.is_empty()) else {
            lines.push(name);
            continue;
        };
        let by = match (p.author.as_str(), p.license.as_str()) {
            (a, "") => format!("by {a}"),
            ("", l) => format!("licence {l}"),
            (a, l) => format!("by {a}, licence {l}"),
        };
        lines.push(format!("{name}  ({by})"));
        if p.non_commercial() {
            lines.push(format!(
                "  warning: {name}'s licence forbids commercial use; ask its author before a paid show"
            ));
        }
    }
    lines
}
