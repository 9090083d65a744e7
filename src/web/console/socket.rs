//! The console's WebSocket (`/console/ws?token=…`): the show's state pushed ten times a second
//! (see `snapshot.rs`), and the operator's commands, one small JSON object a message:
//!
//! - the transport: `{"t":"go"}`, `{"t":"pause"}` (toggles), `{"t":"stop"}`, `{"t":"prev"}`,
//!   `{"t":"next"}`, `{"t":"cue","n":3}` (jump to cue 3, numbered from 1);
//! - the picture: `{"t":"preset","name":"aurora","fade_s":2}` (0: a cut),
//!   `{"t":"param","name":"hue","value":0.4}` (the showing preset's layer);
//! - the sound: `{"t":"audio","name":"cutoff_hz","value":1200}`,
//!   `{"t":"macro","name":"tension","value":0.7}` (the composer's);
//! - `{"t":"learn","target":"layer.hue"}` arms MIDI learn (`{"t":"learn"}` disarms);
//! - `{"t":"withdraw","slot":0}` withdraws a dreamer's phone;
//! - calibration of the output map (`output` names one; without it, every output):
//!   `{"t":"output","output":"left","test_card":true}`,
//!   `{"t":"output","output":"left","corner":"tr","x_px":1270,"y_px":4}` (or by
//!   `"dx_px"`, `"dy_px"`: a nudge),
//!   `{"t":"output","output":"left","edge":"right","width_px":256,"power":2}`,
//!   `{"t":"output","output":"left","gamma":[2.2,2.2,2.2]}`,
//!   `{"t":"output","output":"left","black_lift":0.02}`, `{"t":"output","save":true}`.
//!
//! Each is checked (names the show has, finite values, clamped to their ranges) and carried out
//! through the same `Steering` as every other controller. Anything else is refused and counted.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::ConsoleState;
use super::snapshot::snapshot;
use crate::bridge::{
    AudioParam, CORNER_NAMES, EDGE_NAMES, LiveMacros, LookCommand, OutputAdjust, OutputChange,
    ShowCommand,
};
use crate::control::intent::Intent;
use crate::control::midi::learn::LearnTarget;

/// How often the state is pushed.
const PUSH_EVERY: Duration = Duration::from_millis(100);
/// Longest command taken.
const MAX_MESSAGE_BYTES: usize = 1024;
/// Longest crossfade a console may ask for.
const MAX_FADE_S: f64 = 600.0;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "lowercase", deny_unknown_fields)]
enum Command {
    // Empty braces, not unit variants: serde denies unknown fields only in struct variants.
    Go {},
    Pause {},
    Stop {},
    Prev {},
    Next {},
    Cue {
        n: usize,
    },
    Preset {
        name: String,
        #[serde(default)]
        fade_s: f64,
    },
    Param {
        name: String,
        value: f32,
    },
    Audio {
        name: String,
        value: f32,
    },
    Macro {
        name: String,
        value: f32,
    },
    Learn {
        #[serde(default)]
        target: Option<String>,
    },
    Withdraw {
        slot: usize,
    },
    /// One calibration change a message, as OSC's `/somnia/output/...`.
    Output {
        #[serde(default)]
        output: Option<String>,
        #[serde(default)]
        test_card: Option<bool>,
        #[serde(default)]
        corner: Option<String>,
        #[serde(default)]
        x_px: Option<f64>,
        #[serde(default)]
        y_px: Option<f64>,
        #[serde(default)]
        dx_px: Option<f64>,
        #[serde(default)]
        dy_px: Option<f64>,
        #[serde(default)]
        edge: Option<String>,
        #[serde(default)]
        width_px: Option<f64>,
        #[serde(default)]
        power: Option<f64>,
        #[serde(default)]
        gamma: Option<[f64; 3]>,
        #[serde(default)]
        black_lift: Option<f64>,
        #[serde(default)]
        save: Option<bool>,
    },
}

/// `GET /console/ws`.
pub async fn upgrade(
    State(state): State<ConsoleState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !state.allows(query.as_deref(), &headers) {
        return super::refused();
    }
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| console(socket, state))
        .into_response()
}

async fn console(mut ws: WebSocket, state: ConsoleState) {
    let mut push = tokio::time::interval(PUSH_EVERY);
    loop {
        tokio::select! {
            msg = ws.recv() => {
                let text = match crate::web::heard(msg, &state.malformed) {
                    crate::web::Heard::Text(t) => t,
                    crate::web::Heard::Skip => continue,
                    crate::web::Heard::End => break,
                };
                let carried = serde_json::from_str::<Command>(text.as_str())
                    .ok()
                    .and_then(|c| intents(&state, c));
                match carried {
                    Some(intents) => {
                        for intent in intents {
                            state
                                .steering
                                .carry_out_from("console", intent, Instant::now());
                        }
                        // Answered at once: the console sees its own change without waiting.
                        push.reset_immediately();
                    }
                    None => {
                        state.malformed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ = push.tick() => {
                if ws.send(Message::Text(snapshot(&state).into())).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// What a command asks of the show; `None` when it names nothing the show has or its values
/// are not numbers.
fn intents(state: &ConsoleState, command: Command) -> Option<Vec<Intent>> {
    let show = |c: ShowCommand| Some(vec![Intent::Show(c)]);
    let finite = |v: f32| v.is_finite().then_some(v);
    let board = state.steering.sink.cues.get();
    match command {
        Command::Go {} => show(ShowCommand::Go),
        Command::Pause {} => show(ShowCommand::TogglePause),
        Command::Stop {} => show(ShowCommand::Stop),
        Command::Prev {} => show(ShowCommand::PrevCue),
        Command::Next {} => show(ShowCommand::NextCue),
        Command::Cue { n } if (1..=board.cues.len()).contains(&n) => {
            show(ShowCommand::SeekCue(n - 1))
        }
        // Only a preset the console was shown: the show's own or one of the project's.
        Command::Preset { name, fade_s }
            if fade_s.is_finite()
                && (board.presets.iter().any(|p| p.name == name)
                    || state
                        .thumbnails
                        .current()
                        .pngs
                        .iter()
                        .any(|(n, _)| *n == name)) =>
        {
            show(ShowCommand::Preset {
                name,
                fade_s: fade_s.clamp(0.0, MAX_FADE_S),
            })
        }
        Command::Param { name, value } => {
            let preset = board.presets.get(state.health.showing()?)?;
            let def = preset.params.iter().find(|d| d.name == name)?;
            let value = finite(value)?.clamp(def.min, def.max);
            Some(vec![Intent::Look(LookCommand::LayerParam { name, value })])
        }
        Command::Audio { name, value } => {
            let param = AudioParam::from_name(&name)?;
            let (min, max) = param.range();
            Some(vec![Intent::set(param, finite(value)?.clamp(min, max))])
        }
        Command::Macro { name, value } if board.symphony => {
            let v = Some(finite(value)?.clamp(0.0, 1.0));
            let mut m = LiveMacros::default();
            match name.as_str() {
                "tension" => m.tension = v,
                "density" => m.density = v,
                "unity" => m.unity = v,
                _ => return None,
            }
            show(ShowCommand::Symphony(m))
        }
        Command::Learn { target: None } => Some(vec![Intent::Learn(None)]),
        Command::Learn { target: Some(t) } => {
            Some(vec![Intent::Learn(Some(LearnTarget::from_name(&t)?))])
        }
        Command::Withdraw { slot } => {
            let audience = state.audience.as_ref()?;
            let mut looks = Vec::new();
            let withdrawn = {
                let mut a = audience.audience.lock().ok()?;
                let w = a.withdraw(slot, &mut looks);
                audience.feel(&a);
                w
            };
            withdrawn.then(|| looks.into_iter().map(Intent::Look).collect())
        }
        Command::Output {
            output,
            test_card,
            corner,
            x_px,
            y_px,
            dx_px,
            dy_px,
            edge,
            width_px,
            power,
            gamma,
            black_lift,
            save,
        } => {
            // Exactly one change a message; names as OSC's (never a path).
            let index = |name: &str, names: &[&str]| names.iter().position(|n| *n == name);
            let change = match (test_card, corner, edge, gamma, black_lift, save) {
                (Some(on), None, None, None, None, None) => OutputChange::TestCard(on),
                (None, Some(c), None, None, None, None) => {
                    let corner = index(&c, &CORNER_NAMES)? as u8;
                    match (x_px, y_px, dx_px, dy_px) {
                        (Some(x_px), Some(y_px), None, None) => {
                            OutputChange::Corner { corner, x_px, y_px }
                        }
                        (None, None, Some(dx_px), Some(dy_px)) => OutputChange::CornerBy {
                            corner,
                            dx_px,
                            dy_px,
                        },
                        _ => return None,
                    }
                }
                (None, None, Some(e), None, None, None) => OutputChange::Blend {
                    edge: index(&e, &EDGE_NAMES)? as u8,
                    width_px: width_px?,
                    power,
                },
                (None, None, None, Some(g), None, None) => OutputChange::Gamma(g),
                (None, None, None, None, Some(l), None) => OutputChange::BlackLift(l),
                (None, None, None, None, None, Some(true)) => OutputChange::Save,
                _ => return None,
            };
            if output.as_ref().is_some_and(|n| n.len() > 64) {
                return None;
            }
            Some(vec![Intent::Look(LookCommand::Output(OutputAdjust {
                output,
                change,
            }))])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_protocols_commands_parse() {
        let parse = |s: &str| serde_json::from_str::<Command>(s).ok();
        assert_eq!(parse(r#"{"t":"go"}"#), Some(Command::Go {}));
        assert_eq!(parse(r#"{"t":"cue","n":3}"#), Some(Command::Cue { n: 3 }));
        assert_eq!(
            parse(r#"{"t":"preset","name":"aurora"}"#),
            Some(Command::Preset {
                name: "aurora".into(),
                fade_s: 0.0
            })
        );
        for bad in [
            "",
            "{}",
            r#"{"t":"shell","cmd":"ls"}"#,
            r#"{"t":"go","path":"/etc/passwd"}"#,
            r#"{"t":"cue","n":-1}"#,
            r#"{"t":"param","name":"hue","value":"x"}"#,
            r#"{"t":"param","name":"hue","value":1e999}"#,
            r#"{"t":"output","file":"/etc/passwd"}"#,
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_output_command_is_one_calibration_change_by_name() {
        let state = |s: &str| serde_json::from_str::<Command>(s).ok();
        let change = |s: &str| match state(s) {
            Some(Command::Output {
                test_card,
                corner,
                dx_px,
                save,
                ..
            }) => Some((test_card, corner, dx_px, save)),
            _ => None,
        };
        assert_eq!(
            change(r#"{"t":"output","output":"left","corner":"tl","dx_px":1,"dy_px":0}"#),
            Some((None, Some("tl".into()), Some(1.0), None))
        );
        assert_eq!(
            change(r#"{"t":"output","test_card":true}"#),
            Some((Some(true), None, None, None))
        );
        assert_eq!(
            change(r#"{"t":"output","save":true}"#),
            Some((None, None, None, Some(true)))
        );
    }
}
