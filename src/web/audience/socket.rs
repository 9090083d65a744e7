//! The audience's WebSocket (`/join/ws`): one task per phone on the web thread, a thin adapter
//! from small JSON messages onto [`Audience`] and from there onto the one live vocabulary
//! ([`Intent::Look`]), as OSC's `/somnia/dreamer/N/...` does.
//!
//! A phone says (one JSON object per text message, at most [`MAX_MESSAGE_BYTES`]):
//! `{"t":"agree"}` or `{"t":"agree","token":"…"}` (coming back), `{"t":"pad","x":0.3,"y":0.8}`,
//! `{"t":"energy","v":0.5}`, `{"t":"choice","c":2}`, `{"t":"leave"}`.
//! It is told: `{"t":"dreamer","slot":1,"colour":"#ffb347","colour_name":"amber","token":"…"}`,
//! `{"t":"crowd","token":"…"}`, `{"t":"full"}`, `{"t":"left"}`, and twice a second while it is
//! in, `{"t":"feel","energy":…,"agreement":…,"size":…}`. Anything else is refused and counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::slots::{Audience, Joined, PhoneId, PhoneSays};
use crate::bridge::LookCommand;
use crate::control::intent::{Intent, Steering};

/// Longest message a phone may send; longer ones close its connection.
pub const MAX_MESSAGE_BYTES: usize = 256;
/// Longest token a phone may bring back.
const MAX_TOKEN_CHARS: usize = 64;
/// How often a phone that is in hears how the crowd feels.
const FEEL_EVERY: Duration = Duration::from_millis(500);

/// What the audience's handlers share.
#[derive(Clone)]
pub struct AudienceState {
    pub audience: Arc<Mutex<Audience>>,
    pub steering: Steering,
    next_id: Arc<AtomicU64>,
    /// Messages that were not JSON of the protocol (counted, never answered).
    pub malformed: Arc<AtomicU64>,
}

impl AudienceState {
    pub fn new(audience: Audience, steering: Steering) -> Self {
        Self {
            audience: Arc::new(Mutex::new(audience)),
            steering,
            next_id: Arc::new(AtomicU64::new(1)),
            malformed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Carries the audience's changes to the picture out, never waiting.
    pub fn carry_out(&self, looks: Vec<LookCommand>) {
        let now = Instant::now();
        for look in looks {
            self.steering
                .carry_out_from("audience", Intent::Look(look), now);
        }
    }

    /// Tells the picture how the crowd feels now.
    pub fn feel(&self, audience: &Audience) {
        self.steering.sink.crowd.set(audience.crowd());
    }

    /// Lets go of the phones whose grace ran out: called now and then by the server.
    pub fn tick(&self) {
        let mut out = Vec::new();
        if let Ok(mut a) = self.audience.lock() {
            a.tick(Instant::now(), &mut out);
            self.feel(&a);
        }
        self.carry_out(out);
    }
}

#[derive(Deserialize)]
#[serde(tag = "t", rename_all = "lowercase", deny_unknown_fields)]
enum Wire {
    Agree {
        #[serde(default)]
        token: Option<String>,
    },
    Pad {
        x: f32,
        y: f32,
    },
    Energy {
        v: f32,
    },
    Choice {
        c: u8,
    },
    // Empty braces, not a unit variant: serde denies unknown fields only in struct variants.
    Leave {},
}

/// Parses one message of a phone; `None` for anything not of the protocol.
fn parse(text: &str) -> Option<PhoneSays> {
    if text.len() > MAX_MESSAGE_BYTES {
        return None;
    }
    Some(match serde_json::from_str::<Wire>(text).ok()? {
        Wire::Agree { token } => PhoneSays::Agree {
            token: token
                .filter(|t| t.len() <= MAX_TOKEN_CHARS && t.bytes().all(|b| b.is_ascii_hexdigit())),
        },
        Wire::Pad { x, y } => PhoneSays::Pad { x, y },
        Wire::Energy { v } => PhoneSays::Energy(v),
        Wire::Choice { c } => PhoneSays::Choice(c),
        Wire::Leave {} => PhoneSays::Leave,
    })
}

#[derive(Serialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Tell<'a> {
    Dreamer {
        slot: usize,
        colour: &'a str,
        colour_name: &'a str,
        token: &'a str,
    },
    Crowd {
        token: &'a str,
    },
    Full,
    Left,
    Feel {
        energy: f32,
        agreement: f32,
        size: u32,
    },
}

/// A new secret for a phone to come back with: 128 random bits, in hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No system randomness: a token from the clock still tells phones apart; it only
        // guards the phone's own slot for a few seconds.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes.copy_from_slice(&t.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /join/ws`.
pub async fn upgrade(State(state): State<AudienceState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| phone(socket, state))
}

async fn phone(mut ws: WebSocket, state: AudienceState) {
    let id: PhoneId = state.next_id.fetch_add(1, Ordering::Relaxed);
    let mut feel = tokio::time::interval(FEEL_EVERY);
    let mut joined = false;
    loop {
        tokio::select! {
            msg = ws.recv() => {
                let text = match crate::web::heard(msg, &state.malformed) {
                    crate::web::Heard::Text(t) => t,
                    crate::web::Heard::Skip => continue,
                    crate::web::Heard::End => break,
                };
                let Some(says) = parse(text.as_str()) else {
                    state.malformed.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let leaving = says == PhoneSays::Leave;
                // The pad moves only the phone's own layer; all else may move the crowd.
                let moves_crowd = !matches!(says, PhoneSays::Pad { .. });
                let mut looks = Vec::new();
                // The answer, and whether the phone is in after it.
                let answer = {
                    let Ok(mut a) = state.audience.lock() else { break };
                    let heard = a.hears(id, says, Instant::now(), new_token, &mut looks);
                    if moves_crowd && heard.is_ok() {
                        state.feel(&a);
                    }
                    match heard {
                        Ok(Some(j)) => Some((tell_joined(&a, &j), j != Joined::Full)),
                        Ok(None) if leaving => Some((to_json(&Tell::Left), false)),
                        _ => None,
                    }
                };
                state.carry_out(looks);
                if let Some((answer, now_in)) = answer {
                    joined = now_in;
                    if ws.send(Message::Text(answer.into())).await.is_err() {
                        break;
                    }
                }
            }
            _ = feel.tick(), if joined => {
                let (crowd, still_in) = match state.audience.lock() {
                    Ok(a) => (a.crowd(), a.is_in(id)),
                    Err(_) => break,
                };
                // Withdrawn by the operator: told, as if it had left.
                if !still_in {
                    joined = false;
                    if ws.send(Message::Text(to_json(&Tell::Left).into())).await.is_err() {
                        break;
                    }
                    continue;
                }
                let feel = to_json(&Tell::Feel {
                    energy: crowd.energy,
                    agreement: crowd.agreement,
                    size: crowd.size,
                });
                if ws.send(Message::Text(feel.into())).await.is_err() {
                    break;
                }
            }
        }
    }
    if let Ok(mut a) = state.audience.lock() {
        a.dropped(id, Instant::now());
    }
}

fn tell_joined(a: &Audience, j: &Joined) -> String {
    match j {
        Joined::Dreamer { slot, token } => {
            let c = a.controls(*slot);
            to_json(&Tell::Dreamer {
                slot: *slot,
                colour: c.map_or("#ffffff", |c| c.colour.as_str()),
                colour_name: c.map_or("", |c| c.colour_name.as_str()),
                token,
            })
        }
        Joined::Crowd { token } => to_json(&Tell::Crowd { token }),
        Joined::Full => to_json(&Tell::Full),
    }
}

fn to_json(t: &Tell) -> String {
    serde_json::to_string(t).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_protocols_messages_parse_and_a_bad_token_is_dropped() {
        assert_eq!(
            parse(r#"{"t":"pad","x":0.25,"y":1}"#),
            Some(PhoneSays::Pad { x: 0.25, y: 1.0 })
        );
        assert_eq!(parse(r#"{"t":"leave"}"#), Some(PhoneSays::Leave));
        assert_eq!(
            parse(r#"{"t":"agree","token":"../../etc/passwd"}"#),
            Some(PhoneSays::Agree { token: None })
        );
        assert_eq!(
            parse(r#"{"t":"agree","token":"00ff"}"#),
            Some(PhoneSays::Agree {
                token: Some("00ff".into())
            })
        );
        for bad in [
            "",
            "null",
            "{}",
            r#"{"t":"pad","x":"1","y":0}"#,
            r#"{"t":"pad","x":1e999,"y":0}"#,
            r#"{"t":"pad","x":0,"y":0,"file":"/etc/passwd"}"#,
            r#"{"t":"choice","c":300}"#,
            r#"{"t":"shell","cmd":"rm"}"#,
            r#"{"t":"leave","file":"/etc/passwd"}"#,
            &format!(r#"{{"t":"leave","pad":"{}"}}"#, "x".repeat(300)),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_32_hex_digits_and_differ() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
