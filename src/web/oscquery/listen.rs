//! OSCQuery's WebSocket, opened on `/`: a client sends `{"COMMAND":"LISTEN","DATA":PATH}` to
//! be told each new value of PATH as a binary OSC message, and `IGNORE` to stop. When the
//! namespace changes shape (another preset showing, a reload with other parameters, a show of
//! another length) every client is told `{"COMMAND":"PATH_CHANGED","DATA":CONTAINER}` and
//! fetches it again.
//!
//! The values are read from the bridge twenty times a second, like every other page reads the
//! show: a client that listens costs the show a few reads, and one that stops reading loses
//! its socket, never the show's time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use rosc::{OscMessage, OscPacket, OscType};
use serde::Deserialize;

use super::{has, values};
use crate::bridge::ParamFacts;
use crate::web::WebState;

/// How often values are looked at.
const LOOK_EVERY: Duration = Duration::from_millis(50);
/// Longest message taken: a command and a path.
const MAX_MESSAGE_BYTES: usize = 1024;
/// Most paths one client may listen to: the whole namespace fits with room to spare.
const MAX_LISTENING: usize = 1024;

/// What a client may say.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "UPPERCASE")]
struct Command {
    command: String,
    data: String,
}

/// What decides the namespace's shape, to notice when it changes.
#[derive(Debug, Clone, PartialEq)]
struct Shape {
    layer: Vec<(String, u32, u32)>,
    duration_bits: u64,
}

fn shape(state: &WebState) -> Shape {
    let (params, duration_s, _) = super::layer(state);
    Shape {
        layer: params
            .iter()
            .map(|d: &ParamFacts| (d.name.clone(), d.min.to_bits(), d.max.to_bits()))
            .collect(),
        duration_bits: duration_s.to_bits(),
    }
}

/// The containers to announce when the shape goes from `was` to `now`.
fn changed(was: &Shape, now: &Shape) -> Vec<&'static str> {
    let mut paths = Vec::new();
    if was.layer != now.layer {
        paths.extend(["/somnia/layer", "/somnia/dreamer"]);
    }
    if was.duration_bits != now.duration_bits {
        paths.push("/somnia/transport/seek");
    }
    paths
}

/// `value` at `path` as binary OSC.
fn osc(path: &str, value: f32) -> Option<Vec<u8>> {
    rosc::encoder::encode(&OscPacket::Message(OscMessage {
        addr: path.to_string(),
        args: vec![OscType::Float(value)],
    }))
    .ok()
}

/// The upgrade, limited to small messages.
pub fn upgrade(ws: WebSocketUpgrade, state: WebState) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| listen(socket, state))
        .into_response()
}

/// Counts a socket open for as long as it lives.
struct Open<'a>(&'a std::sync::atomic::AtomicU64);

impl<'a> Open<'a> {
    fn new(n: &'a std::sync::atomic::AtomicU64) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Self(n)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn listen(mut ws: WebSocket, state: WebState) {
    let counters = state.oscquery.clone();
    let _open = Open::new(&counters.listeners);
    let mut listening: BTreeSet<String> = BTreeSet::new();
    // The value each listened path was last told (or had when LISTEN came).
    let mut told: BTreeMap<String, f32> = BTreeMap::new();
    let mut was = shape(&state);
    let mut look = tokio::time::interval(LOOK_EVERY);
    loop {
        tokio::select! {
            msg = ws.recv() => {
                let text = match crate::web::heard(msg, &counters.malformed) {
                    crate::web::Heard::Text(t) => t,
                    crate::web::Heard::Skip => continue,
                    crate::web::Heard::End => break,
                };
                let command = serde_json::from_str::<Command>(text.as_str()).ok();
                let taken = match command {
                    Some(c) if c.command == "LISTEN"
                        && listening.len() < MAX_LISTENING
                        && has(&state, &c.data) =>
                    {
                        if let Some((_, v)) = values(&state).into_iter().find(|(p, _)| *p == c.data) {
                            told.insert(c.data.clone(), v);
                        }
                        listening.insert(c.data);
                        true
                    }
                    Some(c) if c.command == "IGNORE" => {
                        told.remove(&c.data);
                        listening.remove(&c.data)
                    }
                    _ => false,
                };
                if !taken {
                    counters.malformed.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = look.tick() => {
                let now = shape(&state);
                for path in changed(&was, &now) {
                    let said = serde_json::json!({ "COMMAND": "PATH_CHANGED", "DATA": path });
                    if ws.send(Message::Text(said.to_string().into())).await.is_err() {
                        return;
                    }
                }
                was = now;
                if listening.is_empty() {
                    continue;
                }
                for (path, value) in values(&state) {
                    if !listening.contains(&path) || told.get(&path) == Some(&value) {
                        continue;
                    }
                    let Some(bytes) = osc(&path, value) else { continue };
                    if ws.send(Message::Binary(bytes.into())).await.is_err() {
                        return;
                    }
                    told.insert(path, value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_preset_or_a_longer_show_names_the_containers_that_changed() {
        let a = Shape {
            layer: vec![("r".into(), 0, 1)],
            duration_bits: 60f64.to_bits(),
        };
        assert!(changed(&a, &a.clone()).is_empty());
        let b = Shape {
            layer: vec![],
            ..a.clone()
        };
        assert_eq!(changed(&a, &b), ["/somnia/layer", "/somnia/dreamer"]);
        let c = Shape {
            duration_bits: 90f64.to_bits(),
            ..a.clone()
        };
        assert_eq!(changed(&a, &c), ["/somnia/transport/seek"]);
    }

    #[test]
    fn a_command_is_read_in_the_proposals_capitals_and_values_go_out_as_osc() {
        let c: Command =
            serde_json::from_str(r#"{"COMMAND":"LISTEN","DATA":"/somnia/layer/r"}"#).unwrap();
        assert_eq!(
            (c.command.as_str(), c.data.as_str()),
            ("LISTEN", "/somnia/layer/r")
        );
        assert!(serde_json::from_str::<Command>(r#"{"COMMAND":"LISTEN"}"#).is_err());
        let bytes = osc("/somnia/layer/r", 0.5).unwrap();
        let (_, packet) = rosc::decoder::decode_udp(&bytes).unwrap();
        let OscPacket::Message(m) = packet else {
            panic!("{packet:?}")
        };
        assert_eq!(m.addr, "/somnia/layer/r");
        assert_eq!(m.args, vec![OscType::Float(0.5)]);
    }
}
