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
        What::Presets => Ok(project.preset_names()),
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
