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

const LISTENER: &str = r#"
import json, sys, time, urllib.request
from zeroconf import Zeroconf, ServiceBrowser, ServiceListener
from websockets.sync.client import connect
from pythonosc.udp_client import SimpleUDPClient
from pythonosc.osc_message import OscMessage
web, osc_port = int(sys.argv[1]), int(sys.argv[2])
found = {}
class Found(ServiceListener):
    def add_service(self, zc, ty, name):
        info = zc.get_service_info(ty, name, timeout=3000)
        if info is not None:
            found.setdefault(ty, []).append({"name": name, "port": info.port,
                                             "addresses": info.parsed_addresses()})
    def update_service(self, zc, ty, name): pass
    def remove_service(self, zc, ty, name): pass
zc = Zeroconf()
ServiceBrowser(zc, ["_oscjson._tcp.local.", "_osc._udp.local."], Found())
def ours(ty, port):
    return [s for s in found.get(ty, []) if s["port"] == port]
deadline = time.time() + 15
while time.time() < deadline and not (ours("_oscjson._tcp.local.", web) and ours("_osc._udp.local.", osc_port)):
    time.sleep(0.1)
zc.close()
oscjson = ours("_oscjson._tcp.local.", web)
# The namespace from the address mDNS gave, validated as the proposal's JSON.
address = oscjson[0]["addresses"][0] if oscjson else "127.0.0.1"
with urllib.request.urlopen(f"http://{address}:{web}/", timeout=5) as r:
    root = json.loads(r.read())
def check(node, bad):
    for key in ("FULL_PATH", "ACCESS"):
        if key not in node: bad.append((node.get("FULL_PATH"), key))
    if "TYPE" in node and "RANGE" in node and len(node["RANGE"]) != len(node["TYPE"]):
        bad.append((node["FULL_PATH"], "RANGE"))
    for name, child in node.get("CONTENTS", {}).items():
        if child.get("FULL_PATH") != node["FULL_PATH"].rstrip("/") + "/" + name:
            bad.append((child.get("FULL_PATH"), "FULL_PATH"))
        check(child, bad)
    return bad
with urllib.request.urlopen(f"http://127.0.0.1:{web}/?HOST_INFO", timeout=5) as r:
    info = json.loads(r.read())
osc = SimpleUDPClient("127.0.0.1", osc_port)
heard, after_ignore, changed = [], [], []
with connect(f"ws://127.0.0.1:{info['WS_PORT']}/") as ws:
    ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/somnia/layer/r"}))
    ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/somnia/nothing"}))
    time.sleep(0.3)
    osc.send_message("/somnia/layer/r", 0.25)
    end = time.time() + 5
    while time.time() < end and not heard:
        try:
            m = ws.recv(timeout=0.5)
        except TimeoutError:
            continue
        if isinstance(m, bytes):
            msg = OscMessage(m)
            heard.append([msg.address, msg.params[0]])
    ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/somnia/layer/r"}))
    time.sleep(0.3)
    osc.send_message("/somnia/layer/r", 0.5)
    osc.send_message("/somnia/preset", ["bars"])
    end = time.time() + 5
    while time.time() < end and not changed:
        try:
            m = ws.recv(timeout=0.5)
        except TimeoutError:
            continue
        if isinstance(m, bytes):
            after_ignore.append(OscMessage(m).address)
        else:
            c = json.loads(m)
            if c.get("COMMAND") == "PATH_CHANGED":
                changed.append(c["DATA"])
    with urllib.request.urlopen(f"http://127.0.0.1:{web}/health", timeout=5) as r:
        health = json.loads(r.read())
print(json.dumps({
    "oscjson": oscjson, "osc": ours("_osc._udp.local.", osc_port),
    "invalid": check(root, []), "paths": len(json.dumps(root)),
    "info": info, "heard": heard, "after_ignore": after_ignore, "changed": changed,
    "oscquery": health["oscquery"],
}))
"#;

#[test]
fn zeroconf_finds_the_show_and_a_listen_socket_streams_a_value_set_over_osc_until_ignored() {
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
            // Beyond loopback, so the show is announced on the network.
            "--web-bind",
            &format!("0.0.0.0:{web}"),
            "--osc-bind",
            "0.0.0.0",
            "--osc-port",
            &osc.to_string(),
            "--no-midi",
        ],
        &fixture("performances/console.toml"),
    );
    play.wait_until_up();
    let out = Command::new(python_osc())
        .args(["-c", LISTENER, &web.to_string(), &osc.to_string()])
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
    assert_eq!(
        r["oscjson"].as_array().map(Vec::len),
        Some(1),
        "zeroconf finds _oscjson._tcp at the web port: {r}\n{log}"
    );
    assert_eq!(
        r["osc"].as_array().map(Vec::len),
        Some(1),
        "and _osc._udp at the OSC port: {r}"
    );
    assert!(
        r["oscjson"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("Somnia on ")
    );
    assert_eq!(r["invalid"], serde_json::json!([]), "{r}");
    assert_eq!(r["info"]["WS_PORT"], web, "{r}");
    assert_eq!(r["info"]["EXTENSIONS"]["LISTEN"], true);
    assert_eq!(
        r["heard"],
        serde_json::json!([["/somnia/layer/r", 0.25]]),
        "the value set over OSC came back as binary OSC: {r}"
    );
    assert_eq!(
        r["after_ignore"],
        serde_json::json!([]),
        "nothing after IGNORE: {r}"
    );
    assert!(
        r["changed"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("/somnia/layer")),
        "another preset's parameters are announced: {r}"
    );
    assert_eq!(
        r["oscquery"],
        serde_json::json!({ "listeners": 1, "malformed": 1 }),
        "the LISTEN of a path the namespace lacks is refused and counted: {r}"
    );
}
