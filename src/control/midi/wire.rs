//! MIDI on the wire: the bytes a device sends, parsed into the messages the show acts on.
//! Never trusted: anything malformed or of no interest is dropped. Runs in the device
//! callback, so parsing never allocates.

use crate::clock::timecode::{FrameRate, Timecode};

/// A MIDI Machine Control command (a universal real-time System Exclusive message), the
/// transport messages DAWs and control surfaces send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MmcCommand {
    Stop,
    Play,
    Pause,
    /// Back to the start.
    Rewind,
    /// Go to a time, seconds.
    Locate(f64),
}

/// A MIDI message the show acts on. Channels are 0..15.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MidiMsg {
    NoteOn {
        channel: u8,
        note: u8,
        velocity: u8,
    },
    NoteOff {
        channel: u8,
        note: u8,
    },
    Control {
        channel: u8,
        cc: u8,
        value: u8,
    },
    /// -8192..8191.
    PitchBend {
        channel: u8,
        bend: i16,
    },
    Program {
        channel: u8,
        program: u8,
    },
    /// MIDI clock: 24 a quarter note.
    Clock,
    Start,
    Continue,
    Stop,
    /// Song position pointer, in sixteenth notes from the start.
    SongPosition(u16),
    Mmc(MmcCommand),
    /// An MTC quarter frame: piece (0..7) in the high nibble, its four bits in the low.
    QuarterFrame(u8),
    /// An MTC full-frame message: the time, sent on a locate (the sender is not running).
    FullFrame(Timecode, FrameRate),
}

/// Parses one message; anything malformed or of no interest is `None`. Runs in the device
/// callback, so it never allocates.
pub fn parse(bytes: &[u8]) -> Option<MidiMsg> {
    let (&status, data) = bytes.split_first()?;
    let channel = status & 0x0F;
    let d = |i: usize| data.get(i).copied().filter(|b| *b < 0x80);
    Some(match status {
        0xF8 => MidiMsg::Clock,
        0xFA => MidiMsg::Start,
        0xFB => MidiMsg::Continue,
        0xFC => MidiMsg::Stop,
        0xF2 => MidiMsg::SongPosition((u16::from(d(1)?) << 7) | u16::from(d(0)?)),
        0xF1 => MidiMsg::QuarterFrame(d(0)?),
        0xF0 => match data {
            [0x7F, _device, 0x01, 0x01, ..] => parse_full_frame(data)?,
            _ => MidiMsg::Mmc(parse_mmc(data)?),
        },
        0x80..=0x8F => MidiMsg::NoteOff {
            channel,
            note: d(0)?,
        },
        // A note-on with velocity 0 is a note-off, by MIDI's running-status convention.
        0x90..=0x9F => match (d(0)?, d(1)?) {
            (note, 0) => MidiMsg::NoteOff { channel, note },
            (note, velocity) => MidiMsg::NoteOn {
                channel,
                note,
                velocity,
            },
        },
        0xB0..=0xBF => MidiMsg::Control {
            channel,
            cc: d(0)?,
            value: d(1)?,
        },
        0xC0..=0xCF => MidiMsg::Program {
            channel,
            program: d(0)?,
        },
        0xE0..=0xEF => MidiMsg::PitchBend {
            channel,
            bend: ((i16::from(d(1)?) << 7) | i16::from(d(0)?)) - 8192,
        },
        _ => return None,
    })
}

/// MTC's full frame: `7F <device> 01 01 hr mn sc fr F7` (the bytes after `F0`); the hour
/// byte's bits 5-6 are the rate.
fn parse_full_frame(data: &[u8]) -> Option<MidiMsg> {
    let [0x7F, _, 0x01, 0x01, hr, mn, sc, fr, ..] = data else {
        return None;
    };
    if [*hr, *mn, *sc, *fr].iter().any(|b| *b >= 0x80) {
        return None;
    }
    let rate = FrameRate::from_mtc_code(hr >> 5);
    let tc = Timecode {
        hours: hr & 0x1F,
        minutes: *mn,
        seconds: *sc,
        frames: *fr,
    };
    tc.valid(rate).then_some(MidiMsg::FullFrame(tc, rate))
}

/// `7F <device> 06 <command> ... F7` (the bytes after `F0`), to any device id.
fn parse_mmc(data: &[u8]) -> Option<MmcCommand> {
    let [0x7F, _device, 0x06, command, rest @ ..] = data else {
        return None;
    };
    Some(match command {
        0x01 => MmcCommand::Stop,
        0x02 | 0x03 => MmcCommand::Play,
        0x05 => MmcCommand::Rewind,
        0x09 => MmcCommand::Pause,
        // Locate to a time: 06 01 hr mn sc fr ff; the hour byte's bits 5-6 are the frame rate.
        0x44 => {
            let [0x06, 0x01, hr, mn, sc, fr, _subframes, ..] = rest else {
                return None;
            };
            if [*hr, *mn, *sc, *fr].iter().any(|b| *b >= 0x80) {
                return None;
            }
            let fps = [24.0, 25.0, 29.97, 30.0][usize::from((hr >> 5) & 0x03)];
            let seconds = f64::from(hr & 0x1F) * 3600.0
                + f64::from(*mn) * 60.0
                + f64::from(*sc)
                + f64::from(*fr) / fps;
            MmcCommand::Locate(seconds)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midi_bytes_parse_to_messages_and_garbage_to_nothing() {
        assert_eq!(
            parse(&[0x91, 60, 100]),
            Some(MidiMsg::NoteOn {
                channel: 1,
                note: 60,
                velocity: 100
            })
        );
        assert_eq!(
            parse(&[0x90, 60, 0]),
            Some(MidiMsg::NoteOff {
                channel: 0,
                note: 60
            })
        );
        assert_eq!(
            parse(&[0xE0, 0, 0x40]),
            Some(MidiMsg::PitchBend {
                channel: 0,
                bend: 0
            })
        );
        assert_eq!(
            parse(&[0xE0, 0x7F, 0x7F]),
            Some(MidiMsg::PitchBend {
                channel: 0,
                bend: 8191
            })
        );
        assert_eq!(parse(&[0xF8]), Some(MidiMsg::Clock));
        for junk in [&[][..], &[0x90], &[0x90, 200, 1], &[0x42, 1, 2], &[0xB0, 7]] {
            assert_eq!(parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn mmc_and_song_position_parse() {
        assert_eq!(
            parse(&[0xF0, 0x7F, 0x7F, 0x06, 0x02, 0xF7]),
            Some(MidiMsg::Mmc(MmcCommand::Play))
        );
        assert_eq!(
            parse(&[0xF0, 0x7F, 0x00, 0x06, 0x01, 0xF7]),
            Some(MidiMsg::Mmc(MmcCommand::Stop))
        );
        // Locate to 0:01:30 and 12 frames at 25 fps (rate bits 01).
        let locate = [
            0xF0, 0x7F, 0x7F, 0x06, 0x44, 0x06, 0x01, 0x20, 1, 30, 12, 0, 0xF7,
        ];
        assert_eq!(
            parse(&locate),
            Some(MidiMsg::Mmc(MmcCommand::Locate(90.48)))
        );
        assert_eq!(parse(&[0xF2, 0x10, 0x01]), Some(MidiMsg::SongPosition(144)));
        for junk in [
            &[0xF0, 0x7E, 0x7F, 0x06, 0x02, 0xF7][..],
            &[0xF0, 0x7F, 0x7F, 0x06, 0x44, 0x06],
            &[0xF0],
            &[0xF2, 0x80, 0],
        ] {
            assert_eq!(parse(junk), None, "{junk:?}");
        }
    }
}
