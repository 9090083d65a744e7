//! Every OSC address Somnia accepts, described: for OSCQuery (the Vidvox proposal), so VDMX,
//! Chataigne or TouchDesigner can list Somnia's controls without anyone typing addresses. One
//! table beside the parser (`osc.rs`), and a test that the parser takes every address in it, so
//! the two cannot drift apart.

use crate::bridge::{AudioParam, ParamFacts};
use crate::show::look::MAX_DREAMERS;

/// Who may do what with an address (OSCQuery's ACCESS): 0 nothing, 1 read, 2 write, 3 both.
pub const WRITE: u8 = 2;

/// One address: its OSC type tags (empty: no arguments), each argument's range, what it does,
/// and the unit of its first argument.
#[derive(Clone, Debug, PartialEq)]
pub struct OscNode {
    pub path: String,
    pub type_tags: &'static str,
    pub access: u8,
    /// One (min, max) per argument, `None` where an argument has no range.
    pub range: Vec<Option<(f64, f64)>>,
    pub description: String,
    pub unit: Option<&'static str>,
}

impl OscNode {
    fn new(path: &str, type_tags: &'static str, description: &str) -> Self {
        Self {
            path: path.into(),
            type_tags,
            access: WRITE,
            range: vec![None; type_tags.len()],
            description: description.into(),
            unit: None,
        }
    }

    fn range(mut self, range: &[Option<(f64, f64)>]) -> Self {
        self.range = range.to_vec();
        self
    }

    fn unit(mut self, unit: &'static str) -> Self {
        self.unit = Some(unit);
        self
    }
}

/// The unit of an audio parameter's value, from its name (OSCQuery's UNIT).
fn unit_of(param: AudioParam) -> Option<&'static str> {
    let name = param.name();
    if name.ends_with("_hz") {
        Some("frequency.hz")
    } else if name.ends_with("_db") {
        Some("gain.db")
    } else if name.ends_with("_s") {
        Some("time.s")
    } else {
        None
    }
}

/// Every address, for a show whose showing preset has `layer` parameters and which lasts
/// `duration_s`.
pub fn namespace(layer: &[ParamFacts], duration_s: f64) -> Vec<OscNode> {
    let unit = Some((0.0, 1.0));
    let mut n = vec![
        OscNode::new("/somnia/go", "", "GO: fire the standby cue"),
        OscNode::new("/somnia/transport/play", "", "Resume"),
        OscNode::new("/somnia/transport/pause", "", "Pause"),
        OscNode::new(
            "/somnia/transport/stop",
            "",
            "Stop at the top; GO starts again",
        ),
        OscNode::new("/somnia/transport/next", "", "Next cue"),
        OscNode::new("/somnia/transport/prev", "", "Previous cue"),
        OscNode::new("/somnia/transport/seek", "f", "Jump to a time of the show")
            .range(&[Some((0.0, duration_s))])
            .unit("time.s"),
        OscNode::new(
            "/somnia/transport/cue",
            "i",
            "Jump to a cue, numbered from 1",
        ),
        OscNode::new(
            "/somnia/note",
            "iff",
            "A note: MIDI number, velocity, and length in seconds",
        )
        .range(&[Some((0.0, 127.0)), unit, Some((0.0, 600.0))]),
        OscNode::new("/somnia/note/off", "i", "Release a note").range(&[Some((0.0, 127.0))]),
        OscNode::new("/somnia/sustain", "f", "The sustain pedal: down from 0.5").range(&[unit]),
        OscNode::new(
            "/somnia/preset",
            "sf",
            "Cut to a preset by name, or crossfade over the seconds given",
        )
        .range(&[None, Some((0.0, 60.0))]),
        OscNode::new(
            "/somnia/symphony/key",
            "s",
            "The composer's key (C, F#, Bb...)",
        ),
        OscNode::new("/somnia/symphony/mode", "s", "The composer's mode"),
        OscNode::new("/somnia/symphony/tension", "f", "The composer's tension").range(&[unit]),
        OscNode::new("/somnia/symphony/density", "f", "The composer's density").range(&[unit]),
        OscNode::new(
            "/somnia/symphony/unity",
            "f",
            "How much the composer's parts agree",
        )
        .range(&[unit]),
        OscNode::new(
            "/somnia/unity",
            "f",
            "The dream mosaic: 0 each dreamer a tile, 1 one dreamscape",
        )
        .range(&[unit]),
        OscNode::new(
            "/somnia/glitch",
            "f",
            "The glitch on picture and sound; 0 off",
        )
        .range(&[unit]),
        OscNode::new(
            "/somnia/caption",
            "sf",
            "A caption: its text, and seconds it holds",
        ),
        OscNode::new(
            "/somnia/midi/learn",
            "s",
            "Arm MIDI learn for a parameter or go/play/pause/stop/next/prev; off disarms",
        ),
    ];
    for p in AudioParam::ALL {
        let (min, max) = p.range();
        let mut node = OscNode::new(
            &format!("/somnia/param/{}", p.name()),
            "ff",
            &format!("The sound's {}, and seconds to ramp to it", p.name()),
        )
        .range(&[
            Some((f64::from(min), f64::from(max))),
            Some((0.0, crate::control::intent::MAX_INTENT_S)),
        ]);
        node.unit = unit_of(p);
        n.push(node);
    }
    for d in layer {
        n.push(
            OscNode::new(
                &format!("/somnia/layer/{}", d.name),
                "f",
                &format!("The showing preset's `{}`", d.name),
            )
            .range(&[Some((f64::from(d.min), f64::from(d.max)))]),
        );
    }
    // A dreamer's own tile: numbered from 1, as the audience page and the console count them.
    for k in 1..=MAX_DREAMERS {
        let at = |what: &str| format!("/somnia/dreamer/{k}/{what}");
        n.push(OscNode::new(
            &at("leave"),
            "",
            &format!("Dreamer {k} leaves: the tile fades out"),
        ));
        n.push(OscNode::new(
            &at("return"),
            "",
            &format!("Dreamer {k} returns"),
        ));
        n.push(
            OscNode::new(&at("opacity"), "f", &format!("Dreamer {k}'s tile opacity"))
                .range(&[unit]),
        );
        for d in layer {
            n.push(
                OscNode::new(
                    &at(&d.name),
                    "f",
                    &format!("Dreamer {k}'s own `{}`", d.name),
                )
                .range(&[Some((f64::from(d.min), f64::from(d.max)))]),
            );
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosc::{OscMessage, OscPacket, OscType};

    #[test]
    fn the_parser_takes_every_address_the_namespace_lists() {
        let layer = [ParamFacts {
            name: "glow".into(),
            min: 0.0,
            max: 2.0,
            default: 1.0,
        }];
        let nodes = namespace(&layer, 60.0);
        assert!(nodes.len() > 30);
        for node in &nodes {
            let args = node
                .type_tags
                .chars()
                .zip(&node.range)
                .map(|(t, r)| match t {
                    'f' => OscType::Float(r.map_or(1.0, |(lo, hi)| ((lo + hi) / 2.0) as f32)),
                    'i' => OscType::Int(r.map_or(1, |(lo, hi)| ((lo + hi) / 2.0) as i32)),
                    _ if node.path.ends_with("learn") => OscType::String("go".into()),
                    _ if node.path.ends_with("key") => OscType::String("C".into()),
                    _ if node.path.ends_with("mode") => OscType::String("minor".into()),
                    _ => OscType::String("aurora".into()),
                })
                .collect();
            let packet = OscPacket::Message(OscMessage {
                addr: node.path.clone(),
                args,
            });
            let actions = crate::control::osc::actions(&packet);
            assert!(
                actions.iter().all(Result::is_ok),
                "{}: {actions:?}",
                node.path
            );
        }
    }
}
