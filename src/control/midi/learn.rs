//! MIDI learn: what it can be armed for, and how a binding it makes is written into the map
//! file, keeping the performer's comments (`toml_edit`) and never leaving a half-written file.

use std::path::Path;

use super::binding::{CcBinding, CcTarget, Trigger, TriggerKind};

/// What MIDI learn is armed for: the next control moved is bound to it.
#[derive(Clone, Debug, PartialEq)]
pub enum LearnTarget {
    Control(CcTarget),
    Trigger(TriggerKind),
}

impl LearnTarget {
    /// `go`, `play`, `pause`, `stop`, `next`, `prev`, or any controller target's name.
    pub fn from_name(name: &str) -> Option<Self> {
        TriggerKind::from_name(name)
            .map(Self::Trigger)
            .or_else(|| CcTarget::from_name(name).map(Self::Control))
    }

    pub fn name(&self) -> String {
        match self {
            Self::Control(t) => t.name(),
            Self::Trigger(k) => k.name().to_string(),
        }
    }
}

/// What MIDI learn writes into a mapping file.
#[derive(Clone, Debug, PartialEq)]
pub enum Learned {
    Cc(CcBinding),
    Trigger(Trigger, TriggerKind),
}

impl std::fmt::Display for Learned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let channel = |c: Option<u8>| c.map_or(String::new(), |c| format!(" on channel {}", c + 1));
        match self {
            Learned::Cc(b) => write!(
                f,
                "CC {}{} steers `{}`",
                b.cc,
                channel(b.channel),
                b.target.name()
            ),
            Learned::Trigger(t, k) => match (t.note, t.cc) {
                (Some(n), _) => write!(f, "note {n}{} fires {}", channel(t.channel), k.name()),
                (None, Some(c)) => write!(f, "CC {c}{} fires {}", channel(t.channel), k.name()),
                (None, None) => write!(f, "nothing fires {}", k.name()),
            },
        }
    }
}

/// Why a learned binding was not saved. The binding works until the show ends either way.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnError {
    /// The map file is not TOML, or its `cc` is not a list of tables: fix the file (`somnia
    /// check` says where), then learn again.
    #[error("the MIDI map is not valid TOML: {0}")]
    NotToml(toml_edit::TomlError),
    #[error("`cc` in the MIDI map is not a list of [[cc]] tables")]
    CcNotTables,
    /// The file could not be read or written (permissions, a full disk).
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The text of the mapping file `src` (empty for a new one) with `learned` in it, replacing
/// whatever bound the same control or target. Comments and everything else are kept.
pub fn with_learned(src: &str, learned: &Learned) -> Result<String, LearnError> {
    use toml_edit::{DocumentMut, Item, Table, value};
    let mut doc: DocumentMut = src.parse().map_err(LearnError::NotToml)?;
    let channel_of = |t: &Table| t.get("channel").and_then(Item::as_integer);
    match learned {
        Learned::Cc(b) => {
            let channel = b.channel.map(|c| i64::from(c) + 1);
            let target = b.target.name();
            let tables = doc
                .entry("cc")
                .or_insert(Item::ArrayOfTables(Default::default()))
                .as_array_of_tables_mut()
                .ok_or(LearnError::CcNotTables)?;
            let same_control = |t: &Table| {
                t.get("cc").and_then(Item::as_integer) == Some(i64::from(b.cc))
                    && channel_of(t) == channel
            };
            // The control's own table is changed in place, so its comments stay with it; what
            // described the old target's range goes, what describes the control stays.
            let mut updated = false;
            if let Some(t) = tables.iter_mut().find(|t| same_control(t)) {
                t["param"] = value(target.clone());
                for key in ["min", "max", "curve"] {
                    t.remove(key);
                }
                updated = true;
            }
            // One control per target: the target's other bindings go.
            let mut kept_one = false;
            tables.retain(|t| {
                let is_it = same_control(t) && !kept_one;
                kept_one |= is_it;
                is_it || t.get("param").and_then(Item::as_str) != Some(target.as_str())
            });
            if !updated {
                let mut t = Table::new();
                t["cc"] = value(i64::from(b.cc));
                if let Some(c) = channel {
                    t["channel"] = value(c);
                }
                t["param"] = value(target);
                tables.push(t);
            }
        }
        Learned::Trigger(trigger, kind) => {
            let mut t = Table::new();
            if let Some(n) = trigger.note {
                t["note"] = value(i64::from(n));
            }
            if let Some(c) = trigger.cc {
                t["cc"] = value(i64::from(c));
            }
            if let Some(c) = trigger.channel {
                t["channel"] = value(i64::from(c) + 1);
            }
            doc[kind.name()] = Item::Table(t);
        }
    }
    Ok(doc.to_string())
}

/// Writes `learned` into the mapping file at `path` (made if missing), atomically: a crash
/// mid-write leaves the old file whole.
pub fn save_learned(path: &Path, learned: &Learned) -> Result<(), LearnError> {
    let io = |action, source| LearnError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# Somnia MIDI map: controllers, transport and presets (see the README, \"MIDI\").\n"
                .to_string()
        }
        Err(e) => return Err(io("read", e)),
    };
    let text = with_learned(&src, learned)?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| io("write", e))
}

#[cfg(test)]
mod tests {
    use super::super::map_file::{load_map, parse_map};
    use super::super::wire::MidiMsg;
    use super::*;
    use crate::bridge::AudioParam;
    use std::path::Path;
    #[test]
    fn learning_rewrites_the_file_and_keeps_its_comments() {
        let src = "# my controller\n[[cc]]\ncc = 7\nchannel = 1\nparam = \"gain_db\" # the fader\n[[cc]]\ncc = 74\nparam = \"cutoff_hz\"\n";
        let learned = Learned::Cc(CcBinding::learned(
            7,
            0,
            CcTarget::Audio(AudioParam::ReverbMix),
        ));
        let text = with_learned(src, &learned).unwrap();
        assert!(text.starts_with("# my controller"), "{text}");
        let map = parse_map(Path::new("m.toml"), &text, &[]).unwrap();
        assert_eq!(map.cc.len(), 2, "{text}");
        assert_eq!(
            map.binding(0, 7).unwrap().target,
            CcTarget::Audio(AudioParam::ReverbMix)
        );
        assert_eq!(
            map.binding(0, 74).unwrap().target,
            CcTarget::Audio(AudioParam::CutoffHz)
        );
        // Learning a target again moves it to the new control.
        let again = Learned::Cc(CcBinding::learned(
            9,
            2,
            CcTarget::Audio(AudioParam::CutoffHz),
        ));
        let map = parse_map(
            Path::new("m.toml"),
            &with_learned(&text, &again).unwrap(),
            &[],
        )
        .unwrap();
        assert!(map.binding(0, 74).is_none());
        assert_eq!(
            map.binding(2, 9).unwrap().target,
            CcTarget::Audio(AudioParam::CutoffHz)
        );
        let go = Learned::Trigger(
            Trigger {
                note: Some(48),
                cc: None,
                channel: Some(0),
            },
            TriggerKind::Go,
        );
        let map = parse_map(Path::new("m.toml"), &with_learned("", &go).unwrap(), &[]).unwrap();
        assert!(map.is_go(&MidiMsg::NoteOn {
            channel: 0,
            note: 48,
            velocity: 9
        }));
        assert!(
            with_learned("cc = 3", &learned).is_err(),
            "not a table list: refused, not clobbered"
        );
    }

    #[test]
    fn learned_bindings_are_saved_atomically_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("midi-map.toml");
        let learned = Learned::Cc(CcBinding::learned(20, 4, CcTarget::Unity));
        save_learned(&path, &learned).unwrap();
        let map = load_map(&path, &[]).unwrap();
        assert_eq!(map.binding(4, 20).unwrap().target, CcTarget::Unity);
        assert!(!dir.path().join("midi-map.toml.tmp").exists());
        // A write that cannot complete (the temporary file cannot be made) leaves the map as
        // it was, never half written.
        let before = std::fs::read_to_string(&path).unwrap();
        std::fs::create_dir(dir.path().join("midi-map.toml.tmp")).unwrap();
        let again = Learned::Cc(CcBinding::learned(21, 4, CcTarget::Unity));
        assert!(save_learned(&path, &again).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }
}
