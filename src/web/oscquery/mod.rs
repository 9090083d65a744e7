//! OSCQuery (the Vidvox proposal) over the web server: `GET /` is the JSON namespace of every
//! OSC address Somnia takes (from `control::osc_namespace`, the table the parser is tested
//! against), `GET /?HOST_INFO` says where the OSC server and the WebSocket listen, `GET /PATH`
//! is one node and `GET /PATH?ATTRIBUTE` one of its attributes. A WebSocket opened on `/`
//! takes LISTEN and IGNORE and streams values as binary OSC (`listen.rs`). Read only: the
//! namespace is never changed from here, and values are set over OSC itself. `mdns.rs`
//! announces it on the network.

pub mod listen;

use std::sync::atomic::AtomicU64;

use axum::extract::{FromRequestParts, Request, State, ws::WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::WebState;
use crate::bridge::ParamFacts;
use crate::control::osc_namespace::{OscNode, namespace};

/// OSCQuery's WebSocket clients, for `/health`.
#[derive(Debug, Default)]
pub struct OscQueryCounters {
    /// WebSockets open now.
    pub listeners: AtomicU64,
    /// Messages that were not LISTEN or IGNORE of a path the namespace has, or one too many.
    pub malformed: AtomicU64,
}

/// The attributes a node may have, as the proposal names them.
const ATTRIBUTES: [&str; 8] = [
    "FULL_PATH",
    "CONTENTS",
    "TYPE",
    "ACCESS",
    "VALUE",
    "RANGE",
    "DESCRIPTION",
    "UNIT",
];

/// A leaf's JSON, with its value when the show reports one (the showing preset's layer).
fn leaf(node: &OscNode, value: Option<f64>) -> Value {
    let mut o = Map::new();
    o.insert("FULL_PATH".into(), json!(node.path));
    o.insert("ACCESS".into(), json!(node.access));
    o.insert("DESCRIPTION".into(), json!(node.description));
    if !node.type_tags.is_empty() {
        o.insert("TYPE".into(), json!(node.type_tags));
        let range: Vec<Value> = node
            .range
            .iter()
            .map(|r| match r {
                Some((min, max)) => json!({ "MIN": min, "MAX": max }),
                None => Value::Null,
            })
            .collect();
        if range.iter().any(|r| !r.is_null()) {
            o.insert("RANGE".into(), Value::Array(range));
        }
    }
    if let Some(unit) = node.unit {
        o.insert("UNIT".into(), json!([unit]));
    }
    if let Some(v) = value.filter(|v| v.is_finite()) {
        o.insert("VALUE".into(), json!([v]));
    }
    Value::Object(o)
}

/// The namespace as a tree: every container lists its children in CONTENTS.
pub fn tree(nodes: &[(OscNode, Option<f64>)]) -> Value {
    let mut root = json!({ "FULL_PATH": "/", "ACCESS": 0, "CONTENTS": {} });
    for (node, value) in nodes {
        let mut at = &mut root;
        let mut path = String::new();
        let parts: Vec<&str> = node.path.trim_start_matches('/').split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            path.push('/');
            path.push_str(part);
            let contents = at
                .as_object_mut()
                .and_then(|o| {
                    o.entry("CONTENTS")
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                })
                .expect("a container has contents");
            at = contents
                .entry(part.to_string())
                .or_insert_with(|| json!({ "FULL_PATH": path, "ACCESS": 0 }));
            if i + 1 == parts.len() {
                let children = at.get("CONTENTS").cloned();
                *at = leaf(node, *value);
                if let (Some(c), Some(o)) = (children, at.as_object_mut()) {
                    o.insert("CONTENTS".into(), c);
                }
            }
        }
    }
    root
}

/// The node at `path` in `root`.
fn find<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .try_fold(root, |at, part| at.get("CONTENTS")?.get(part))
}

/// The showing preset's layer parameters, with their values now.
fn layer(state: &WebState) -> (Vec<ParamFacts>, f64, Vec<f32>) {
    let board = state.cues.as_ref().map(|c| c.get()).unwrap_or_default();
    let params = state
        .health
        .showing()
        .and_then(|i| board.presets.get(i))
        .map(|p| p.params.clone())
        .unwrap_or_default();
    let values = state.health.showing_params();
    let values = params
        .iter()
        .enumerate()
        .map(|(i, _)| values.get(i).copied().unwrap_or(f32::NAN))
        .collect();
    (params, board.duration_s, values)
}

/// Every address that has a value now, with it: the showing preset's layer parameters.
pub fn values(state: &WebState) -> Vec<(String, f32)> {
    let (params, _, values) = layer(state);
    params
        .iter()
        .zip(values)
        .filter(|(_, v)| v.is_finite())
        .map(|(d, v)| (format!("/somnia/layer/{}", d.name), v))
        .collect()
}

/// The namespace for the show as it is now.
fn current(state: &WebState) -> Value {
    let (params, duration_s, values) = layer(state);
    let nodes: Vec<(OscNode, Option<f64>)> = namespace(&params, duration_s)
        .into_iter()
        .map(|n| {
            let value = params
                .iter()
                .position(|d| n.path == format!("/somnia/layer/{}", d.name))
                .and_then(|i| values.get(i))
                .map(|v| f64::from(*v));
            (n, value)
        })
        .collect();
    tree(&nodes)
}

/// Whether the namespace has a node at `path` now.
pub fn has(state: &WebState, path: &str) -> bool {
    find(&current(state), path).is_some()
}

/// The host a client reached us by (its `Host` header), for addresses on a server that
/// listens on every interface; `None` when it sent none we can read.
fn reached_as(req: &Request) -> Option<std::net::IpAddr> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let host = host
        .rsplit_once(':')
        .map_or(host, |(h, _)| h)
        .trim_matches(['[', ']']);
    host.parse().ok()
}

/// `GET /?HOST_INFO`: where to send OSC and where the WebSocket is.
fn host_info(state: &WebState, reached: Option<std::net::IpAddr>) -> Value {
    let visible = |ip: std::net::IpAddr| match ip.is_unspecified() {
        true => reached.unwrap_or(ip),
        false => ip,
    };
    let mut info = json!({
        "NAME": "Somnia",
        "OSC_TRANSPORT": "UDP",
        "EXTENSIONS": {
            "ACCESS": true, "VALUE": true, "RANGE": true, "DESCRIPTION": true,
            "TAGS": false, "CLIPMODE": false, "UNIT": true, "CRITICAL": false,
            "OVERLOADS": false, "LISTEN": true, "PATH_CHANGED": true,
        },
    });
    if let Some(o) = info.as_object_mut() {
        if let Some(addr) = state.osc_addr {
            o.insert("OSC_IP".into(), json!(visible(addr.ip()).to_string()));
            o.insert("OSC_PORT".into(), json!(addr.port()));
        }
        if let Some(addr) = state.web_addr {
            o.insert("WS_IP".into(), json!(visible(addr.ip()).to_string()));
            o.insert("WS_PORT".into(), json!(addr.port()));
        }
    }
    info
}

/// `GET /` and every path under it that no page has; a WebSocket upgrade there is OSCQuery's
/// LISTEN socket.
pub async fn get(State(state): State<WebState>, req: Request) -> Response {
    let json = |v: Value| ([("content-type", "application/json")], v.to_string()).into_response();
    let query = req.uri().query().map(str::to_owned);
    let path = req.uri().path().to_owned();
    if req.headers().contains_key(header::UPGRADE) {
        let (mut parts, _) = req.into_parts();
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(ws) => listen::upgrade(ws, state),
            Err(refused) => refused.into_response(),
        };
    }
    if query.as_deref() == Some("HOST_INFO") {
        return json(host_info(&state, reached_as(&req)));
    }
    let root = current(&state);
    let Some(node) = find(&root, &path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match query.as_deref() {
        None | Some("") => json(node.clone()),
        Some(attribute) if ATTRIBUTES.contains(&attribute) => match node.get(attribute) {
            Some(v) => json(json!({ attribute: v })),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        Some(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_nests_every_address_under_its_containers_with_its_attributes() {
        let nodes: Vec<(OscNode, Option<f64>)> = namespace(&[], 30.0)
            .into_iter()
            .map(|n| (n, None))
            .collect();
        let root = tree(&nodes);
        let cutoff = find(&root, "/somnia/param/cutoff_hz").unwrap();
        assert_eq!(cutoff["FULL_PATH"], "/somnia/param/cutoff_hz");
        assert_eq!(cutoff["TYPE"], "ff");
        assert_eq!(cutoff["UNIT"], json!(["frequency.hz"]));
        assert_eq!(cutoff["RANGE"][0]["MIN"], 20.0);
        assert_eq!(
            find(&root, "/somnia/param").unwrap()["FULL_PATH"],
            "/somnia/param"
        );
        // `/somnia/note` is a method and a container (of `off`) at once.
        let note = find(&root, "/somnia/note").unwrap();
        assert_eq!(note["TYPE"], "iff");
        assert!(note["CONTENTS"]["off"].is_object());
        assert_eq!(
            find(&root, "/somnia/transport/seek").unwrap()["RANGE"][0]["MAX"],
            30.0
        );
        assert!(find(&root, "/somnia/nothing").is_none());
    }
}
