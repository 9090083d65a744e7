//! OSCQuery against `somnia play`, with peers nobody here wrote: python's own HTTP client reads
//! the namespace and HOST_INFO, finds the showing preset's `r` in it, sets it with python-osc at
//! the OSC address and port the namespace gives, and reads the new value back as `?VALUE`.

mod common;

use std::process::Command;

use common::*;

const CLIENT: &str = r#"
import json, sys, time, urllib.request, urllib.error
from pythonosc.udp_client import SimpleUDPClient
base = sys.argv[1]
def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
status, root = get("/")
assert status == 200 and root["FULL_PATH"] == "/", (status, root)
def walk(node, out):
    if node.get("ACCESS", 0):
        out.append(node["FULL_PATH"])
    for child in node.get("CONTENTS", {}).values():
        walk(child, out)
    return out
paths = walk(root, [])
_, info = get("/?HOST_INFO")
r_node = get("/somnia/layer/r")[1]
osc = SimpleUDPClient(info["OSC_IP"], info["OSC_PORT"])
osc.send_message("/somnia/layer/r", 0.75)
value = None
for _ in range(50):
    time.sleep(0.1)
    status, v = get("/somnia/layer/r?VALUE")
    if status == 200 and abs(v["VALUE"][0] - 0.75) < 1e-6:
        value = v["VALUE"][0]
        break
print(json.dumps({
    "paths": len(paths),
    "has": [p for p in ("/somnia/go", "/somnia/param/cutoff_hz", "/somnia/layer/r") if p in paths],
    "host": info,
    "r": r_node,
    "value": value,
    "missing": get("/somnia/nothing")[0],
    "no_attribute": get("/somnia/go?VALUE")[0],
    "bad_attribute": get("/somnia/go?COLOUR")[0],
}))
"#;

#[test]
fn an_oscquery_client_finds_a_parameter_in_the_namespace_sets_it_over_osc_and_reads_it_back() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    let dir = tempfile::tempdir().unwrap();
    let (web, osc) = (free_port(), free_port());
    let play = LivePlay::start(
        dir.path(),
        &[
            "--size",
            "160x90",
            "--web-bind",
            &format!("127.0.0.1:{web}"),
            "--osc-port",
            &osc.to_string(),
            "--no-midi",
        ],
        &fixture("performances/console.toml"),
    );
    play.wait_until_up();
    let out = Command::new(python_osc())
        .args(["-c", CLIENT, &format!("http://127.0.0.1:{web}")])
        .output()
        .unwrap();
    let log = play.stop();
    let said = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value = serde_json::from_str(said.trim()).unwrap_or_else(|e| {
        panic!(
            "{e}: {said}\n{}\n{log}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(r["paths"].as_u64().unwrap() > 30, "{r}");
    assert_eq!(r["has"].as_array().unwrap().len(), 3, "{r}");
    assert_eq!(r["host"]["OSC_PORT"], osc, "{r}");
    assert_eq!(r["host"]["OSC_TRANSPORT"], "UDP");
    assert_eq!(r["r"]["TYPE"], "f");
    assert_eq!(r["r"]["RANGE"][0]["MAX"], 1.0);
    assert_eq!(r["value"], 0.75, "the value set over OSC reads back: {r}");
    assert_eq!(
        (&r["missing"], &r["no_attribute"], &r["bad_attribute"]),
        (
            &serde_json::json!(404),
            &serde_json::json!(204),
            &serde_json::json!(400)
        ),
        "{r}"
    );
}
