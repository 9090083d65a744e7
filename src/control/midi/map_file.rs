//! The MIDI map file: read, checked (every problem at its file:line:col), and turned into
//! [`MidiMap`] bindings.
//!
//! ```toml
//! [[cc]]
//! cc = 74                  # controller number
//! channel = 1              # 1..16; absent: any channel
//! param = "cutoff_hz"      # an audio parameter, `unity`, `glitch`, `layer.NAME`,
//!                          # `dreamer.N.NAME` or `dreamer.N.opacity`
//! min = 200                # the value at CC 0 (default: the parameter's own range, or 0)
//! max = 8000               # the value at CC 127 (default: the parameter's own range, or 1)
//! curve = "exponential"    # linear (default), exponential, s-curve
//! invert = false
//! relative = false         # an endless encoder: 1..63 up, 65..127 down, in steps
//!
//! [go]                     # also [play], [pause], [stop], [next], [prev]
//! note = 60                # this note, or `cc = 20` (fires as it rises past 63)
//!
//! [[seek]]
//! note = 36
//! to = "1:30"              # or `cue = 3`
//!
//! [[program]]
//! program = 1              # 1..128, as controllers show them
//! preset = "aurora"
//! fade_s = 2
//! ```

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::binding::*;
use crate::bridge::{AudioParam, Curve};
use crate::show::Diagnostic;
use crate::show::diag::{Reporter, did_you_mean};
use crate::show::time::TimeSpec;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    cc: Vec<Spanned<CcFile>>,
    #[serde(default)]
    go: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    play: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    pause: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    stop: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    next: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    prev: Option<Spanned<TriggerFile>>,
    #[serde(default)]
    seek: Vec<Spanned<SeekFile>>,
    #[serde(default)]
    program: Vec<Spanned<ProgramFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CcFile {
    cc: Spanned<i64>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    param: Spanned<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    curve: Option<Spanned<String>>,
    #[serde(default)]
    invert: bool,
    #[serde(default)]
    relative: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerFile {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeekFile {
    #[serde(default)]
    note: Option<Spanned<i64>>,
    #[serde(default)]
    cc: Option<Spanned<i64>>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    #[serde(default)]
    to: Option<Spanned<TimeSpec>>,
    #[serde(default)]
    cue: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramFile {
    program: Spanned<i64>,
    #[serde(default)]
    channel: Option<Spanned<i64>>,
    preset: Spanned<String>,
    #[serde(default)]
    fade_s: Option<f64>,
}

/// A controller or note number, 0..127.
fn byte(r: &mut Reporter, v: &Spanned<i64>, what: &str) -> Option<u8> {
    r.within_int(v, what, 0, 127).map(|x| x as u8)
}

/// `Some(None)` for no channel (any), `Some(Some(0..15))`, or `None` after an error.
fn channel(r: &mut Reporter, v: Option<&Spanned<i64>>) -> Option<Option<u8>> {
    match v {
        None => Some(None),
        Some(ch) => r
            .within_int(ch, "channel", 1, 16)
            .map(|c| Some(c as u8 - 1)),
    }
}

fn trigger(
    r: &mut Reporter,
    span: std::ops::Range<usize>,
    note: Option<&Spanned<i64>>,
    cc: Option<&Spanned<i64>>,
    on_channel: Option<&Spanned<i64>>,
) -> Option<Trigger> {
    let channel = channel(r, on_channel)?;
    let note = match note {
        Some(n) => Some(byte(r, n, "note")?),
        None => None,
    };
    let cc = match cc {
        Some(c) => Some(byte(r, c, "cc")?),
        None => None,
    };
    if note.is_none() && cc.is_none() {
        r.error(span, "needs a `note` or a `cc` to fire it");
        return None;
    }
    Some(Trigger { note, cc, channel })
}

/// Parses a mapping file; every problem is reported, each at its place. `presets` are the
/// project's preset names, which `[[program]]` entries must be among.
pub fn parse_map(path: &Path, src: &str, presets: &[String]) -> Result<MidiMap, Vec<Diagnostic>> {
    let non_finite = crate::show::schema::non_finite_numbers(path, src);
    if !non_finite.is_empty() {
        return Err(non_finite);
    }
    let file: MapFile =
        toml::from_str(src).map_err(|e| vec![crate::show::diag::toml_error(path, src, &e)])?;
    let mut diags = Vec::new();
    let mut ck = Reporter::new(path, src, &mut diags);
    let mut map = MidiMap::default();
    for spanned in &file.cc {
        let c = spanned.get_ref();
        let cc = byte(&mut ck, &c.cc, "cc");
        let channel = channel(&mut ck, c.channel.as_ref());
        let target = match CcTarget::from_name(c.param.get_ref()) {
            Some(t) => Some(t),
            None => {
                let names = AudioParam::ALL
                    .iter()
                    .map(|p| p.name())
                    .chain(["unity", "glitch"]);
                let hint = did_you_mean(c.param.get_ref(), names)
                    .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                ck.error(
                    c.param.span(),
                    format!(
                        "`{}` is not a parameter{hint}; use an audio parameter, `unity`, `glitch`, `layer.NAME`, `dreamer.N.NAME` or `dreamer.N.opacity`",
                        c.param.get_ref()
                    ),
                );
                None
            }
        };
        let curve = match &c.curve {
            None => Some(Curve::Linear),
            Some(cv) => ck.choice(cv, "curve", &Curve::NAMES, Curve::from_name),
        };
        let (Some(cc), Some(channel), Some(target), Some(curve)) = (cc, channel, target, curve)
        else {
            continue;
        };
        let (lo, hi) = target.default_range();
        let (mut min, mut max) = (
            c.min.map_or(lo, |v| v as f32),
            c.max.map_or(hi, |v| v as f32),
        );
        if !(min.is_finite() && max.is_finite()) {
            ck.error(spanned.span(), "min and max must be numbers");
            continue;
        }
        if let Some((lo, hi)) = target.limits() {
            (min, max) = (min.clamp(lo, hi), max.clamp(lo, hi));
        }
        map.cc.push(CcBinding {
            cc,
            channel,
            target,
            min,
            max,
            curve,
            invert: c.invert,
            relative: c.relative,
        });
    }
    let tables = [
        (&file.go, TriggerKind::Go),
        (&file.play, TriggerKind::Play),
        (&file.pause, TriggerKind::Pause),
        (&file.stop, TriggerKind::Stop),
        (&file.next, TriggerKind::Next),
        (&file.prev, TriggerKind::Prev),
    ];
    for (table, kind) in tables {
        let Some(t) = table else { continue };
        let f = t.get_ref();
        if let Some(trigger) = trigger(
            &mut ck,
            t.span(),
            f.note.as_ref(),
            f.cc.as_ref(),
            f.channel.as_ref(),
        ) {
            map.triggers.push((trigger, kind));
        }
    }
    for spanned in &file.seek {
        let s = spanned.get_ref();
        let trigger = trigger(
            &mut ck,
            spanned.span(),
            s.note.as_ref(),
            s.cc.as_ref(),
            s.channel.as_ref(),
        );
        let target = match (&s.to, &s.cue) {
            (Some(to), None) => match to.get_ref().position() {
                Ok(p) => Some(SeekTarget::Time(p)),
                Err(e) => {
                    ck.error(to.span(), e);
                    None
                }
            },
            (None, Some(cue)) => ck
                .within_int(cue, "cue", 1, 100_000)
                .map(|n| SeekTarget::Cue(n as usize - 1)),
            _ => {
                ck.error(
                    spanned.span(),
                    "a seek needs `to` (a time) or `cue` (a number from 1), not both",
                );
                None
            }
        };
        if let (Some(trigger), Some(target)) = (trigger, target) {
            map.seeks.push((trigger, target));
        }
    }
    for spanned in &file.program {
        let p = spanned.get_ref();
        let program = ck.within_int(&p.program, "program", 1, 128);
        let channel = channel(&mut ck, p.channel.as_ref());
        let preset = p.preset.get_ref();
        let known = presets.iter().any(|n| n == preset);
        if !known {
            let hint = did_you_mean(preset, presets.iter().map(String::as_str))
                .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
            ck.error(
                p.preset.span(),
                format!("no preset `{preset}` in this project{hint}"),
            );
        }
        let fade_s = p.fade_s.unwrap_or(0.0);
        if !(0.0..=60.0).contains(&fade_s) {
            ck.error(
                spanned.span(),
                format!("fade_s must be within 0..=60, not {fade_s}"),
            );
            continue;
        }
        if let (Some(program), Some(channel), true) = (program, channel, known) {
            map.programs.push(ProgramBinding {
                program: program as u8 - 1,
                channel,
                preset: preset.clone(),
                fade_s,
            });
        }
    }
    if diags.is_empty() {
        Ok(map)
    } else {
        Err(diags)
    }
}

/// Reads and checks the mapping file at `path`.
pub fn load_map(path: &Path, presets: &[String]) -> Result<MidiMap, Vec<Diagnostic>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![Diagnostic::file(path, format!("cannot read MIDI map: {e}"))])?;
    parse_map(path, &src, presets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::ShowCommand;
    use crate::control::midi::wire::MidiMsg;
    use crate::show::time::Position;
    #[test]
    fn a_mapping_file_binds_controllers_and_go() {
        let src = "[[cc]]\ncc = 74\nchannel = 2\nparam = \"cutoff_hz\"\nmin = 100\nmax = 1600\ncurve = \"exponential\"\n[[cc]]\ncc = 10\nparam = \"reverb_mix\"\ninvert = true\n[[cc]]\ncc = 16\nparam = \"delay_mix\"\nrelative = true\n[go]\nnote = 60\n";
        let map = parse_map(Path::new("m.toml"), src, &[]).unwrap();
        let cutoff = map.binding(1, 74).unwrap();
        assert!(map.binding(0, 74).is_none(), "channel 2 only");
        assert!((cutoff.value(127, 0.0) - 1600.0).abs() < 0.01);
        assert!((cutoff.value(64, 0.0) - 100.0 * 16f32.powf(64.0 / 127.0)).abs() < 0.5);
        assert_eq!(map.binding(5, 10).unwrap().value(127, 0.0), 0.0, "inverted");
        let enc = map.binding(0, 16).unwrap();
        assert!((enc.value(2, 0.5) - (0.5 + 2.0 / 128.0)).abs() < 1e-6);
        assert!((enc.value(126, 0.5) - (0.5 - 2.0 / 128.0)).abs() < 1e-6);
        assert!(map.is_go(&MidiMsg::NoteOn {
            channel: 3,
            note: 60,
            velocity: 1
        }));
    }

    #[test]
    fn controllers_can_steer_the_picture_too() {
        let src = "[[cc]]\ncc = 1\nparam = \"layer.speed\"\nmin = 0\nmax = 4\n[[cc]]\ncc = 2\nparam = \"dreamer.3.opacity\"\n[[cc]]\ncc = 3\nparam = \"unity\"\nmax = 7\n";
        let map = parse_map(Path::new("m.toml"), src, &[]).unwrap();
        assert_eq!(
            map.binding(0, 1).unwrap().target,
            CcTarget::Layer("speed".into())
        );
        assert_eq!(map.binding(0, 1).unwrap().value(127, 0.0), 4.0);
        assert_eq!(
            map.binding(0, 2).unwrap().target,
            CcTarget::DreamerOpacity(2)
        );
        assert_eq!(
            map.binding(0, 3).unwrap().max,
            1.0,
            "unity is clamped to 0..1"
        );
        for name in [
            "layer.speed",
            "dreamer.12.hue",
            "dreamer.1.opacity",
            "glitch",
            "gain_db",
        ] {
            assert_eq!(CcTarget::from_name(name).unwrap().name(), name);
        }
        for bad in [
            "layer.",
            "layer.a/b",
            "dreamer.13.hue",
            "dreamer.0.hue",
            "layer.x.y",
            "../x",
        ] {
            assert_eq!(CcTarget::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn transport_seeks_and_programs_are_bound_by_tables() {
        let presets = ["aurora".to_string(), "warm".to_string()];
        let src = "[go]\nnote = 60\n[stop]\ncc = 21\nchannel = 16\n[pause]\nnote = 61\n[[seek]]\nnote = 36\nto = \"1:30\"\n[[seek]]\ncc = 22\ncue = 3\n[[program]]\nprogram = 1\npreset = \"warm\"\nfade_s = 2\n";
        let map = parse_map(Path::new("m.toml"), src, &presets).unwrap();
        let stop = map
            .triggers
            .iter()
            .find(|(_, k)| *k == TriggerKind::Stop)
            .unwrap()
            .0;
        let press = |channel, value| MidiMsg::Control {
            channel,
            cc: 21,
            value,
        };
        assert!(stop.fires(&press(15, 127), true));
        assert!(!stop.fires(&press(15, 127), false), "held: fires once");
        assert!(!stop.fires(&press(0, 127), true), "channel 16 only");
        assert_eq!(map.seeks[0].1, SeekTarget::Time(Position::Seconds(90.0)));
        assert_eq!(map.seeks[1].1, SeekTarget::Cue(2));
        assert_eq!(map.programs[0].program, 0);
        assert_eq!(map.programs[0].preset, "warm");
        assert_eq!(TriggerKind::Pause.command(), ShowCommand::TogglePause);
    }

    #[test]
    fn bad_transport_tables_are_each_reported() {
        let presets = ["warm".to_string()];
        let src = "[go]\nchannel = 1\n[[seek]]\nnote = 1\n[[seek]]\nnote = 2\nto = \"soon\"\n[[program]]\nprogram = 0\npreset = \"wram\"\n";
        let errs = parse_map(Path::new("m.toml"), src, &presets).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3, 7, 9, 10], "{errs:#?}");
        assert!(errs[0].message.contains("needs a `note` or a `cc`"));
        assert!(errs[4].message.contains("did you mean `warm`?"));
    }

    #[test]
    fn every_problem_in_a_mapping_file_is_reported() {
        let src = "[[cc]]\ncc = 300\nparam = \"cutof_hz\"\n[[cc]]\ncc = 1\nchannel = 17\nparam = \"gain_db\"\ncurve = \"log\"\n";
        let errs = parse_map(Path::new("m.toml"), src, &[]).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 6, 8], "{errs:#?}");
        assert!(errs[1].message.contains("did you mean `cutoff_hz`?"));
    }
}
