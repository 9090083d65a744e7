//! OSCQuery (the Vidvox proposal) over the web server: `GET /` is the JSON namespace of every
//! OSC address Somnia takes (from `control::osc_namespace`, the table the parser is tested
//! against), `GET /?HOST_INFO` says where the OSC server listens, `GET /PATH` is one node and
//! `GET /PATH?ATTRIBUTE` one of its attributes. Read only: the namespace is never changed from
//! here, and values are set over OSC itself. Not yet: the WebSocket's LISTEN (so HOST_INFO
//! says `LISTEN: false`) and the mDNS advertisement.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::WebState;
use crate::control::osc_namespace::{OscNode, namespace};

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

/// The namespace for the show as it is now.
fn current(state: &WebState) -> Value {
    let board = state.cues.as_ref().map(|c| c.get()).unwrap_or_default();
    let showing = state.health.showing();
    let layer = showing
        .and_then(|i| board.presets.get(i))
        .map(|p| p.params.clone())
        .unwrap_or_default();
    let values = state.health.showing_params();
    let nodes: Vec<(OscNode, Option<f64>)> = namespace(&layer, board.duration_s)
        .into_iter()
        .map(|n| {
            let value = layer
                .iter()
                .position(|d| n.path == format!("/somnia/layer/{}", d.name))
                .and_then(|i| values.get(i))
                .map(|v| f64::from(*v));
            (n, value)
        })
        .collect();
    tree(&nodes)
}

/// `GET /` and every path under it that no page has.
pub async fn get(State(state): State<WebState>, uri: Uri, RawQuery(query): RawQuery) -> Response {
    let json = |v: Value| ([("content-type", "application/json")], v.to_string()).into_response();
    if query.as_deref() == Some("HOST_INFO") {
        let osc = state.osc_addr;
        let mut info = json!({
            "NAME": "Somnia",
            "OSC_TRANSPORT": "UDP",
            "EXTENSIONS": {
                "ACCESS": true, "VALUE": true, "RANGE": true, "DESCRIPTION": true,
                "TAGS": false, "CLIPMODE": false, "UNIT": true, "CRITICAL": false,
                "OVERLOADS": false, "LISTEN": false, "PATH_CHANGED": false,
            },
        });
        if let (Some(o), Some(addr)) = (info.as_object_mut(), osc) {
            o.insert("OSC_IP".into(), json!(addr.ip().to_string()));
            o.insert("OSC_PORT".into(), json!(addr.port()));
        }
        return json(info);
    }
    let root = current(&state);
    let Some(node) = find(&root, uri.path()) else {
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
