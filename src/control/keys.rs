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
}

impl KeyMap {
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
