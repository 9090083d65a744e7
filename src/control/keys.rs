//! The keyboard as a controller: what each key on the show window means. The window (render
//! thread) receives the presses and hands each to [`KeyMap::action`]; what comes back is an
//! [`Intent`] like any other controller's, or the one thing only the window can do, quitting.
//!
//! Space or Enter GO, → and ← step through the cues, Home goes to the top, P pauses and resumes,
//! S stops, L steps MIDI learn through its targets, Esc quits.

use winit::keyboard::{Key, NamedKey};

use super::intent::Intent;
use super::midi::binding::{CcTarget, TriggerKind};
use super::midi::learn::LearnTarget;
use crate::bridge::{AudioParam, ShowCommand};

/// What a key asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyAction {
    /// End the show (close the window).
    Quit,
    Steer(Intent),
}

/// The key map, with the one piece of state a key has: where L has stepped MIDI learn to.
#[derive(Debug, Default)]
pub struct KeyMap {
    /// Which of [`learn_targets`] L armed last (`None`: learn off).
    learn_step: Option<usize>,
    /// Locked (a kiosk): every key does nothing but this chord, which quits.
    locked: Option<Chord>,
}

/// A key with modifiers held, e.g. `ctrl+alt+q`: a kiosk's way out that a visitor does not hit
/// by chance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chord {
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
    /// The key itself, lower case (`q`, or a named key such as `escape`).
    pub key: String,
}

impl std::fmt::Display for Chord {
    /// As it is written on the command line: `ctrl+alt+shift+q`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (held, name) in [
            (self.ctrl, "ctrl+"),
            (self.alt, "alt+"),
            (self.shift, "shift+"),
        ] {
            if held {
                f.write_str(name)?;
            }
        }
        f.write_str(&self.key)
    }
}

/// The modifiers held with a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

impl Chord {
    /// The default way out of a kiosk.
    pub const DEFAULT: &str = "ctrl+alt+shift+q";

    /// `ctrl+alt+q` and the like: at least one modifier and one key.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut chord = Chord {
            ctrl: false,
            alt: false,
            shift: false,
            key: String::new(),
        };
        for part in s.split('+').map(|p| p.trim().to_ascii_lowercase()) {
            match part.as_str() {
                "ctrl" | "control" => chord.ctrl = true,
                "alt" => chord.alt = true,
                "shift" => chord.shift = true,
                "" => return Err(format!("`{s}`: an empty part; write e.g. ctrl+alt+q")),
                key if chord.key.is_empty() => chord.key = key.to_string(),
                _ => return Err(format!("`{s}` names two keys; write e.g. ctrl+alt+q")),
            }
        }
        if chord.key.is_empty() || !(chord.ctrl || chord.alt) {
            return Err(format!(
                "`{s}`: a chord is ctrl and/or alt (shift too if you like) with one key, e.g. ctrl+alt+q, so a visitor cannot hit it by chance"
            ));
        }
        Ok(chord)
    }

    fn matches(&self, key: &Key, held: Held) -> bool {
        let name = match key {
            Key::Character(c) => c.to_ascii_lowercase(),
            Key::Named(n) => format!("{n:?}").to_ascii_lowercase(),
            _ => return false,
        };
        name == self.key
            && held.ctrl == self.ctrl
            && held.alt == self.alt
            && held.shift == self.shift
    }
}

impl KeyMap {
    /// A kiosk's keys: none does anything but `chord`, which quits.
    pub fn locked(chord: Chord) -> Self {
        Self {
            learn_step: None,
            locked: Some(chord),
        }
    }

    /// What a real press of `key` with `held` down asks for (the window filters out repeats
    /// and replays).
    pub fn action_with(&mut self, key: &Key, held: Held) -> Option<KeyAction> {
        match &self.locked {
            Some(chord) => chord.matches(key, held).then_some(KeyAction::Quit),
            None => self.action(key),
        }
    }

    /// What a real press of `key` asks for (the window filters out repeats and replays).
    pub fn action(&mut self, key: &Key) -> Option<KeyAction> {
        let show = |c| Some(KeyAction::Steer(Intent::Show(c)));
        match key {
            Key::Named(NamedKey::Escape) => Some(KeyAction::Quit),
            Key::Named(NamedKey::Space | NamedKey::Enter) => show(ShowCommand::Go),
            Key::Named(NamedKey::ArrowRight) => show(ShowCommand::NextCue),
            Key::Named(NamedKey::ArrowLeft) => show(ShowCommand::PrevCue),
            Key::Named(NamedKey::Home) => show(ShowCommand::Seek(0.0)),
            Key::Character(c) if c.eq_ignore_ascii_case("p") => show(ShowCommand::TogglePause),
            Key::Character(c) if c.eq_ignore_ascii_case("s") => show(ShowCommand::Stop),
            Key::Character(c) if c.eq_ignore_ascii_case("l") => {
                Some(KeyAction::Steer(Intent::Learn(self.step_learn())))
            }
            _ => None,
        }
    }

    /// L: the next learn target in turn, or off after the last.
    fn step_learn(&mut self) -> Option<LearnTarget> {
        let targets = learn_targets();
        self.learn_step = match self.learn_step {
            None => Some(0),
            Some(i) if i + 1 < targets.len() => Some(i + 1),
            Some(_) => None,
        };
        self.learn_step.map(|i| targets[i].clone())
    }
}

/// What the L key steps MIDI learn through: GO and the transport, then every audio parameter,
/// unity and the glitch, then off.
fn learn_targets() -> Vec<LearnTarget> {
    let triggers = TriggerKind::ALL.into_iter().map(LearnTarget::Trigger);
    let params = AudioParam::ALL
        .into_iter()
        .map(CcTarget::Audio)
        .chain([CcTarget::Unity, CcTarget::Glitch])
        .map(LearnTarget::Control);
    triggers.chain(params).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_keys_steer_the_show_and_escape_quits() {
        let mut keys = KeyMap::default();
        let steer = |c| Some(KeyAction::Steer(Intent::Show(c)));
        assert_eq!(
            keys.action(&Key::Named(NamedKey::Space)),
            steer(ShowCommand::Go)
        );
        assert_eq!(
            keys.action(&Key::Named(NamedKey::Enter)),
            steer(ShowCommand::Go)
        );
        assert_eq!(
            keys.action(&Key::Named(NamedKey::ArrowRight)),
            steer(ShowCommand::NextCue)
        );
        assert_eq!(
            keys.action(&Key::Named(NamedKey::ArrowLeft)),
            steer(ShowCommand::PrevCue)
        );
        assert_eq!(
            keys.action(&Key::Character("P".into())),
            steer(ShowCommand::TogglePause)
        );
        assert_eq!(
            keys.action(&Key::Character("s".into())),
            steer(ShowCommand::Stop)
        );
        assert_eq!(
            keys.action(&Key::Named(NamedKey::Escape)),
            Some(KeyAction::Quit)
        );
        assert_eq!(keys.action(&Key::Character("x".into())), None);
    }

    #[test]
    fn a_chord_is_written_back_in_one_order_whatever_order_it_was_given_in() {
        assert_eq!(
            Chord::parse("Shift+q+ALT+ctrl").unwrap().to_string(),
            "ctrl+alt+shift+q"
        );
        assert_eq!(Chord::parse("alt+F12").unwrap().to_string(), "alt+f12");
    }

    #[test]
    fn a_locked_keyboard_quits_only_on_its_chord_and_ignores_escape_and_go() {
        let mut keys = KeyMap::locked(Chord::parse(Chord::DEFAULT).unwrap());
        let none = Held::default();
        let all = Held {
            ctrl: true,
            alt: true,
            shift: true,
        };
        for key in [
            Key::Named(NamedKey::Escape),
            Key::Named(NamedKey::Space),
            Key::Character("q".into()),
            Key::Character("p".into()),
        ] {
            assert_eq!(keys.action_with(&key, none), None, "{key:?}");
        }
        let ctrl_alt = Held {
            shift: false,
            ..all
        };
        assert_eq!(
            keys.action_with(&Key::Character("q".into()), ctrl_alt),
            None
        );
        assert_eq!(
            keys.action_with(&Key::Character("Q".into()), all),
            Some(KeyAction::Quit)
        );
        assert!(Chord::parse("q").is_err(), "a lone key is no chord");
        assert!(
            Chord::parse("shift+q").is_err(),
            "shift alone is typed by chance"
        );
        assert_eq!(Chord::parse("Ctrl+Escape").unwrap().key, "escape");
    }

    #[test]
    fn l_steps_learn_through_every_target_then_turns_it_off() {
        let mut keys = KeyMap::default();
        let l = Key::Character("l".into());
        let n = learn_targets().len();
        let mut armed = Vec::new();
        for _ in 0..=n {
            match keys.action(&l) {
                Some(KeyAction::Steer(Intent::Learn(t))) => armed.push(t),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(armed[0], Some(LearnTarget::Trigger(TriggerKind::ALL[0])));
        assert_eq!(armed[n - 1], Some(LearnTarget::Control(CcTarget::Glitch)));
        assert_eq!(armed[n], None, "off after the last");
        assert!(armed[..n].iter().all(Option::is_some));
    }
}
