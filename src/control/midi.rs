//! Our small wrapper over midir: for now, listing input ports. A machine without MIDI
//! support (no ALSA sequencer, say) gets an error to print, never a panic.

/// Names of the MIDI input ports, or why they cannot be listed.
pub fn input_port_names() -> Result<Vec<String>, String> {
    let input =
        midir::MidiInput::new("somnia").map_err(|e| format!("MIDI is not available here: {e}"))?;
    Ok(input
        .ports()
        .iter()
        .map(|p| {
            input
                .port_name(p)
                .unwrap_or_else(|_| "(unnamed port)".into())
        })
        .collect())
}
