"""A JACK MIDI peer for the sync tests and the sync benchmark (python JACK-Client): sends 25 fps
MIDI Time Code from a label, each quarter frame on its frame, and can drop out, read a show's
/health meanwhile, and record what comes back on an input port with the JACK frame it came on.

  mtc_peer.py NAME START_S SECONDS [--mute FROM_Q TO_Q]... [--poll URL] [--record]

START_S is the first label in seconds (3620 is 01:00:20:00); quarter frames FROM_Q up to TO_Q
(counted from the first, four a frame; TO_Q may be `end`) are left out. Prints one JSON object:
the first frame, the rate, what /health said (`polls`) and what came back (`got`)."""
import json, sys, time, urllib.request

import jack

# The JACK callback is Python too: the main thread must hand the interpreter over quickly, or
# the callback misses its period and the timecode stutters.
sys.setswitchinterval(0.0002)
name, start_s, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rest = sys.argv[4:]
mutes, poll, record = [], None, False
while rest:
    if rest[0] == "--mute":
        mutes.append((int(rest[1]), float("inf") if rest[2] == "end" else int(rest[2])))
        rest = rest[3:]
    elif rest[0] == "--poll":
        poll, rest = rest[1], rest[2:]
    elif rest[0] == "--record":
        record, rest = True, rest[1:]
    else:
        sys.exit("mtc_peer.py: unknown argument " + rest[0])

client = jack.Client(name, no_start_server=True)
out = client.midi_outports.register("out")
back = client.midi_inports.register("in") if record else None
QF = client.samplerate // 100  # a quarter frame at 25 fps
START = int(round(start_s * 25))
state = {"f0": None}
got = []


def quarter(q):
    piece = q % 8
    label = START + (q - piece) // 4
    h, rest = divmod(label, 3600 * 25)
    m, rest = divmod(rest, 60 * 25)
    s, f = divmod(rest, 25)
    nibble = [f & 15, f >> 4, s & 15, s >> 4, m & 15, m >> 4, h & 15, (h >> 4) | (1 << 1)][piece]
    return bytes([0xF1, (piece << 4) | nibble])


@client.set_process_callback
def process(frames):
    out.clear_buffer()
    now = client.last_frame_time
    if state["f0"] is None:
        state["f0"] = now
    f0 = state["f0"]
    if back is not None:
        for offset, data in back.incoming_midi_events():
            got.append((now + offset, list(bytes(data))))
    q = max(0, -(-(now - f0) // QF))
    while f0 + q * QF < now + frames:
        if not any(a <= q < b for a, b in mutes):
            out.write_midi_event(f0 + q * QF - now, quarter(q))
        q += 1


client.activate()
while state["f0"] is None:
    time.sleep(0.01)
polls = []
end = time.time() + seconds
while time.time() < end:
    if poll is None:
        time.sleep(0.05)
        continue
    t = (client.frame_time - state["f0"]) / client.samplerate
    with urllib.request.urlopen(poll + "/health", timeout=2) as r:
        h = json.loads(r.read())
    sync = h["sync"][0] if h["sync"] else {}
    polls.append({"t": t, "show_s": h["show_s"], "paused": h["paused"],
                  "state": sync.get("state"), "offset": sync.get("offset_frames")})
    time.sleep(0.06)
client.deactivate()
print(json.dumps({"f0": state["f0"], "rate": client.samplerate, "polls": polls, "got": got}))
