//! The operator's console (`/console`): the cue list with GO and the transport, the presets
//! as a grid of thumbnails, faders, meters, the dreamers and the show's errors, in any
//! browser. `snapshot.rs` is what the console is told (pushed over its WebSocket ten times a
//! second, never polled); `socket.rs` what it may ask, each turned into the one live
//! vocabulary ([`crate::control::intent::Intent`]) and steered as every controller does.
//!
//! Safe by default: every request needs the console's secret token (`?token=` or an
//! `Authorization: Bearer` header), from any address, loopback included; a wrong or missing
//! one is refused and counted. Nothing here names or reads a file.

pub mod snapshot;
pub mod socket;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::bridge::{Health, Thumbnails};
use crate::control::intent::Steering;
use crate::control::osc::OscStats;
use crate::web::audience::socket::AudienceState;

const PAGE: &str = include_str!("console.html");
pub use crate::show::access::{MIN_TOKEN_CHARS, checked_token};

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    pub token: Arc<str>,
    pub steering: Steering,
    pub health: Arc<Health>,
    pub thumbnails: Arc<Thumbnails>,
    pub audience: Option<AudienceState>,
    pub osc: Option<Arc<OscStats>>,
    /// Requests refused for a wrong or missing token.
    pub refused: Arc<AtomicU64>,
    /// Commands from a console that were not of the protocol, or named nothing of the show.
    pub malformed: Arc<AtomicU64>,
}

impl ConsoleState {
    /// Whether a request carries the token, in its query or its `Authorization` header.
    fn allows(&self, query: Option<&str>, headers: &HeaderMap) -> bool {
        let from_query = query.and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(str::to_string)
        });
        let from_header = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let ok = from_query
            .into_iter()
            .chain(from_header)
            .any(|t| same_secret(t.as_bytes(), self.token.as_bytes()));
        if !ok {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(given: &[u8], token: &[u8]) -> bool {
    given.len() == token.len()
        && given
            .iter()
            .zip(token)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A new console token: 128 random bits in hex.
pub fn new_token() -> String {
    crate::web::audience::socket::new_token()
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Html(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Somnia console</title>\
             <main><h1>The console needs its token</h1><p>Open the address <code>somnia play</code> \
             printed when it started (it ends in <code>?token=…</code>), or start it with \
             <code>--console-token</code>.</p></main></html>",
        ),
    )
        .into_response()
}

/// `GET /console`.
pub async fn page(
    State(state): State<ConsoleState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !state.allows(query.as_deref(), &headers) {
        return refused();
    }
    // Thumbnails are painted once someone looks.
    state.thumbnails.watch();
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(PAGE),
    )
        .into_response()
}

/// `GET /console/thumbs/{n}`: the `n`th thumbnail of the newest set (the snapshot names them in
/// order), as a PNG.
pub async fn thumbnail(
    State(state): State<ConsoleState>,
    Path(n): Path<usize>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !state.allows(query.as_deref(), &headers) {
        return refused();
    }
    match state.thumbnails.current().pngs.get(n) {
        Some((_, png)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            png.to_vec(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The console's routes, for the web server.
pub fn routes(state: ConsoleState) -> axum::Router {
    axum::Router::new()
        .route("/console", axum::routing::get(page))
        .route("/console/ws", axum::routing::get(socket::upgrade))
        .route("/console/thumbs/{n}", axum::routing::get(thumbnail))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_passes() {
        assert!(same_secret(b"abcdef123456", b"abcdef123456"));
        assert!(!same_secret(b"abcdef123457", b"abcdef123456"));
        assert!(!same_secret(b"abcdef12345", b"abcdef123456"));
        assert!(!same_secret(b"", b"abcdef123456"));
    }
}
