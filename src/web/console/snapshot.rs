//! What a console is told, ten times a second: one JSON object with everything it shows, read
//! from the bridge (the transport, the cue board, the health figures, the crowd, the
//! thumbnails) and never from a thread's own state, so a console costs the show nothing but
//! these reads. Every console gets the same snapshot of the same moment's figures, so several
//! open at once agree.

use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Value, json};

use super::ConsoleState;
use crate::bridge::AudioParam;
use crate::clock::samples_to_seconds;

/// The console's state now, as JSON text.
pub fn snapshot(state: &ConsoleState) -> String {
    let sink = &state.steering.sink;
    let transport = &sink.transport;
    let board = sink.cues.get();
    let now_s = samples_to_seconds(transport.position_samples(), transport.sample_rate_hz());
    let frames = state.health.frames(Instant::now());
    let levels = state.health.levels();
    let showing = state.health.showing();
    let cues: Vec<Value> = board
        .cues
        .iter()
        .map(|c| {
            json!({
                "n": c.name.number,
                "label": c.name.label,
                "time_s": c.time_s,
                "manual": c.manual,
                "state": c.state.name(),
            })
        })
        .collect();
    // The cue playing: the last one whose time has come; the next: the first still to come.
    let current = board
        .cues
        .iter()
        .filter(|c| c.time_s.is_some_and(|t| t <= now_s + 1e-3))
        .map(|c| c.name.number)
        .next_back();
    let next = board
        .cues
        .iter()
        .find(|c| c.time_s.is_none_or(|t| t > now_s + 1e-3))
        .map(|c| c.name.number);
    let presets: Vec<Value> = board
        .presets
        .iter()
        .map(|p| json!({ "name": p.name }))
        .collect();
    let params: Vec<Value> = showing
        .and_then(|i| board.presets.get(i))
        .map(|p| {
            p.params
                .iter()
                .map(
                    |d| json!({ "name": d.name, "min": d.min, "max": d.max, "default": d.default }),
                )
                .collect()
        })
        .unwrap_or_default();
    let audio: Vec<Value> = AudioParam::ALL
        .iter()
        .map(|p| {
            let (min, max) = p.range();
            json!({ "name": p.name(), "min": min, "max": max })
        })
        .collect();
    let (dreamers, crowd) = match &state.audience {
        Some(a) => match a.audience.lock() {
            Ok(a) => {
                let taken = a.taken();
                let dreamers: Vec<Value> = taken
                    .iter()
                    .enumerate()
                    .map(|(slot, taken)| {
                        let name = a.controls(slot).map_or("", |c| c.colour_name.as_str());
                        json!({ "slot": slot, "colour_name": name, "taken": taken })
                    })
                    .collect();
                (dreamers, a.crowd())
            }
            Err(_) => (Vec::new(), Default::default()),
        },
        None => (Vec::new(), sink.crowd.get()),
    };
    let osc_dropped = state
        .osc
        .as_ref()
        .map(|s| s.dropped.load(Ordering::Relaxed) + s.rate_limited.load(Ordering::Relaxed));
    let thumbs = state.thumbnails.current();
    json!({
        "t": "state",
        "title": board.title,
        "time_s": now_s,
        "duration_s": board.duration_s,
        "paused": transport.is_pause_requested(),
        "cues": cues,
        "standby": board.standby.as_ref().map(|c| c.number),
        "current": current,
        "next": next,
        "presets": presets,
        "showing": showing,
        "thumbs": {
            "generation": thumbs.generation,
            "names": thumbs.pngs.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
        },
        "params": params,
        "audio": audio,
        "symphony": board.symphony,
        "meters": {
            "rms": levels.rms,
            "peak": levels.peak,
            "bands": levels.bands,
        },
        "fps": frames.fps,
        "underruns": transport.underruns(),
        "dropped": {
            "osc": osc_dropped,
            "events": transport.dropped_events(),
        },
        "learn": state.steering.learn.is_some(),
        "dreamers": dreamers,
        "crowd": { "energy": crowd.energy, "agreement": crowd.agreement, "size": crowd.size },
        "sync": state.health.sync.get().iter().map(|r| json!({
            "name": r.name,
            "state": r.state.name(),
            "offset_frames": r.offset.filter(|o| o.is_finite()),
            "detail": r.detail,
        })).collect::<Vec<_>>(),
        "errors": state.health.errors(),
        "outputs": state.health.outputs().iter().map(|o| json!({
            "name": o.name,
            "width": o.size.0,
            "height": o.size.1,
            "test_card": o.test_card,
            "corners": o.corners,
        })).collect::<Vec<_>>(),
    })
    .to_string()
}
