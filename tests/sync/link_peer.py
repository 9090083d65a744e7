"""An Ableton Link peer for the Link test and the sync benchmark: Ableton's own Link library
(LinkPython-extern) in a session with the show, and a JACK client (JACK-Client) that records the
show's sound and knows when each sample of it is heard, to hold the heard beat to the session's.

  link_peer.py CLIENT HEALTH_URL OSC_PORT [--seconds S] [--start-stop]

CLIENT is (a part of) the JACK client name the show's sound leaves by. The peer joins the
session at 120 bpm, waits until the show says it is locked to Link, then:
  1. records S seconds (default 8) at 120 bpm;
  2. sets the session's tempo to 132 (the show must follow) and records again once the show
     says it is locked at 132;
  3. sets the show's tempo to 100 over OSC (`/somnia/param/tempo_bpm`: the session must
     follow) and records again once the show is locked at 100.
Prints one JSON object: for each recording the session's tempo and, for each tick heard, how far
it fell from the session's nearest beat (ms), that beat's place in the bar (quantum 4) and
whether it was the high tick, and how long after the JACK server's last xrun it came; plus what
the show and the session said along the way.

With --one-phase it makes only the first recording. With --recovery S a tick counts as clear of
an xrun S seconds after it (default 2).

With --tempo-only it only sets the session's tempo to 132 and waits for the show to lock to it.
With --start-stop (the show run with --link-start-stop) it instead stops and starts the
session and then pauses and resumes the show over OSC, and says how long each took to reach the
other side."""
import bisect, ctypes, json, sys, time, urllib.request
from array import array

import jack
import link
from pythonosc.udp_client import SimpleUDPClient

sys.setswitchinterval(0.0002)
client_part, health_url, osc_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 8.0
QUANTUM = 4.0

session = link.Link(120.0)
session.enabled = True

client = jack.Client("link_peer", no_start_server=True)
port = client.inports.register("in")
state = {"recording": False}
blocks = []
# The server's xruns (any client late, the show's or this one's), and jumps of its clock seen in
# the recording: the sound slips by a period against the clock, and the show needs a moment to
# hear it and come back onto the beat. JACK frame times.
xruns = []


libjack = ctypes.CDLL("libjack.so.0")
libjack.jack_frames_to_time.restype = ctypes.c_uint64
libjack.jack_frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
libjack.jack_get_time.restype = ctypes.c_uint64
client_ptr = ctypes.c_void_p(int(jack._ffi.cast("uintptr_t", client._ptr)))
libjack.jack_get_cycle_times.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * 4
cycle = [ctypes.c_uint32(), ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_float()]
cycle_refs = [ctypes.byref(c) for c in cycle]


@client.set_process_callback
def process(frames):
    if state["recording"]:
        # The server's own times for this cycle (as the show's JACK client gets them): its
        # first frame, when it began and when the next begins (µs, JACK's clock).
        libjack.jack_get_cycle_times(client_ptr, *cycle_refs)
        blocks.append((cycle[0].value, cycle[1].value, cycle[2].value, bytes(port.get_buffer())))


@client.set_xrun_callback
def xrun(delayed_usecs):
    xruns.append(client.frame_time)


client.activate()


def jack_to_link_us():
    """Link's clock less JACK's (µs), the least of several back-to-back readings' spreads."""
    best = None
    for _ in range(50):
        a = libjack.jack_get_time()
        l = session.clock().micros()
        b = libjack.jack_get_time()
        if best is None or b - a < best[0]:
            best = (b - a, l - (a + b) / 2)
    return best[1]


def health():
    with urllib.request.urlopen(health_url + "/health", timeout=2) as r:
        h = json.loads(r.read())
    return next((s for s in h["sync"] if s["name"] == "link"), {})


# The largest phase offset the show reported while `wait_locked` waited (ms).
largest_offset_ms = 0.0


def wait_locked(bpm, timeout_s=20.0):
    """Until the show says it is locked to the session at `bpm`; how long that took (s)."""
    global largest_offset_ms
    largest_offset_ms = 0.0
    start = time.time()
    while time.time() - start < timeout_s:
        h = health()
        if h.get("offset_frames") is not None:
            largest_offset_ms = max(largest_offset_ms, abs(h["offset_frames"]))
        if h.get("state") == "locked" and h.get("detail", "").startswith(f"{bpm:.1f} bpm"):
            return time.time() - start
        time.sleep(0.05)
    sys.exit(f"link_peer: the show never said it was locked at {bpm} bpm: {health()}")


source = None
deadline = time.time() + 20
while source is None and time.time() < deadline:
    outs = [p.name for p in client.get_ports(is_audio=True, is_output=True)
            if client_part in p.name and not p.name.startswith("system:")]
    source = outs[0] if outs else None
    time.sleep(0.1)
if source is None:
    sys.exit(f"link_peer: no JACK output port matching {client_part}")
client.connect(source, port)
# When what is written this cycle is heard: the playback port's latency (JACK-Client 0.5.5 has
# no call for it; libjack's own).
class LatencyRange(ctypes.Structure):
    _fields_ = [("min", ctypes.c_uint32), ("max", ctypes.c_uint32)]


libjack.jack_port_by_name.restype = ctypes.c_void_p
libjack.jack_port_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
libjack.jack_port_get_latency_range.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(LatencyRange)]
latency = LatencyRange()
libjack.jack_port_get_latency_range(libjack.jack_port_by_name(client_ptr, b"system:playback_1"), 1, ctypes.byref(latency))
playback = latency.max
rate = client.samplerate


# A tick this soon after an xrun is not clear of it (the sound slipped a period; the show is
# still coming back onto the beat). `--recovery S` sets it.
XRUN_RECOVERY_S = float(sys.argv[sys.argv.index("--recovery") + 1]) if "--recovery" in sys.argv else 2.0


def record():
    """Records the show for `seconds`, longer (up to three times as long) while fewer than
    eight ticks came clear of xruns; each tick's onset against the session's beat."""
    blocks.clear()
    state["recording"] = True
    time.sleep(seconds)
    for _ in range(4):
        found = analyse()
        clear = [t for t in found["ticks"] if (t["after_xrun_s"] or 1e9) > XRUN_RECOVERY_S]
        if len(clear) >= 8:
            break
        time.sleep(seconds / 2)
    state["recording"] = False
    time.sleep(0.05)
    return analyse()


def analyse():
    """Each tick recorded so far: its onset against the session's beat."""
    blocks_now = list(blocks)
    offset_us = jack_to_link_us()
    s = session.captureSessionState()
    tempo = s.tempo()
    samples = array("f")
    first = blocks_now[0][0]
    times = []  # (first sample's index, its cycle's start and next start, µs)
    previous_next = None
    for f, usecs, next_usecs, data in blocks_now:
        gap = f - first - len(samples)
        if gap > 0:
            samples.extend([0.0] * gap)
        # A cycle that does not start where the last one said the next would (by more than
        # 2 ms, well past the server's own smoothing and well short of a period's slip), or
        # frames this client never saw: the server's clock jumped, an xrun that no callback
        # told of. Counted with the xruns.
        if previous_next is not None and (abs(usecs - previous_next) > 2000 or gap > 0):
            if f not in xruns:
                xruns.append(f)
        previous_next = next_usecs
        times.append((len(samples), usecs, next_usecs))
        samples.frombytes(data)
    starts = [t[0] for t in times]
    ticks, quiet, i, n = [], 0, 0, len(samples)
    while i < n:
        x = abs(samples[i])
        if x < 0.005:
            quiet += 1
            i += 1
            continue
        if quiet < rate // 10:
            quiet = 0
            i += 1
            continue
        # A tick: the first sample past a tenth of its peak is its onset.
        peak = max(abs(v) for v in samples[i : i + rate // 100])
        j = i
        while abs(samples[j]) < 0.1 * peak:
            j += 1
        crossings = sum(
            1 for k in range(j, min(j + rate * 3 // 1000, n - 1)) if (samples[k] < 0) != (samples[k + 1] < 0)
        )
        heard_frame = first + j + playback
        # When the sample is heard: its cycle's start, its place in the cycle and the playback
        # port's latency, at the cycle's own length.
        k = bisect.bisect_right(starts, j) - 1
        at, usecs, next_usecs = times[k]
        n_block = (len(samples) if k + 1 == len(times) else times[k + 1][0]) - at
        per_frame_us = (next_usecs - usecs) / max(n_block, 1)
        heard_us = usecs + (j - at + playback) * per_frame_us + offset_us
        beat = s.beatAtTime(int(heard_us), QUANTUM)
        nearest = round(beat)
        since = [heard_frame - playback - x for x in xruns if x <= heard_frame - playback]
        ticks.append({
            "after_xrun_s": min(since) / rate if since else None,
            "error_ms": (beat - nearest) * 60_000.0 / tempo,
            "bar_beat": int(nearest % QUANTUM),
            "high": crossings > 9,
            "heard_s": heard_us / 1e6,
        })
        quiet = 0
        i = j + rate // 20
    return {"tempo": tempo, "ticks": ticks}


def paused():
    with urllib.request.urlopen(health_url + "/health", timeout=2) as r:
        return json.loads(r.read())["paused"]


def wait_for(what, timeout_s=3.0):
    """Until `what()` is true; how long that took (s), or None."""
    start = time.time()
    while time.time() - start < timeout_s:
        if what():
            return time.time() - start
        time.sleep(0.02)
    return None


if "--tempo-only" in sys.argv:
    # The session's tempo to 132: the show must follow it and lock to the phase.
    deadline = time.time() + 10
    while session.numPeers() < 1 and time.time() < deadline:
        time.sleep(0.05)
    s = session.captureSessionState()
    s.setTempo(132.0, session.clock().micros())
    session.commitSessionState(s)
    # A kiosk eases onto the phase (2 % at most): a bar out takes most of a minute.
    said = {"peers": session.numPeers(), "locked_at_132_after_s": wait_locked(132.0, 60.0)}
    said["largest_offset_ms"] = largest_offset_ms
    client.deactivate()
    print(json.dumps(said))
    sys.exit(0)

if "--start-stop" in sys.argv:
    # Start/stop sync both ways: the session stops and starts the show, the show's own pause
    # and resume stop and start the session.
    session.startStopSyncEnabled = True
    wait_locked(120.0)

    def set_playing(playing):
        s = session.captureSessionState()
        s.setIsPlaying(playing, session.clock().micros())
        session.commitSessionState(s)

    def session_playing():
        return session.captureSessionState().isPlaying()

    # Whichever way the session stood when the peers met, it plays now: so does the show.
    set_playing(True)
    said = {"show_playing_after_s": wait_for(lambda: not paused())}
    set_playing(False)
    said["show_paused_after_s"] = wait_for(paused)
    set_playing(True)
    said["show_resumed_after_s"] = wait_for(lambda: not paused())
    said["relocked_after_s"] = wait_locked(120.0)
    osc = SimpleUDPClient("127.0.0.1", osc_port)
    osc.send_message("/somnia/transport/pause", [])
    said["session_stopped_after_s"] = wait_for(lambda: not session_playing())
    osc.send_message("/somnia/transport/play", [])
    said["session_started_after_s"] = wait_for(session_playing)
    client.deactivate()
    print(json.dumps(said))
    sys.exit(0)

said = {"playback_latency_frames": playback, "source": source}
said["locked_after_s"] = wait_locked(120.0)
time.sleep(1.0)
phases = [record()]
if "--one-phase" in sys.argv:
    # Only the first recording, at 120 bpm (the dropout test stalls the show meanwhile).
    said["peers"] = session.numPeers()
    said["xruns"] = len(xruns)
    said["phases"] = phases
    client.deactivate()
    print(json.dumps(said))
    sys.exit(0)

s = session.captureSessionState()
s.setTempo(132.0, session.clock().micros())
session.commitSessionState(s)
said["locked_at_132_after_s"] = wait_locked(132.0)
time.sleep(1.0)
phases.append(record())

SimpleUDPClient("127.0.0.1", osc_port).send_message("/somnia/param/tempo_bpm", 100.0)
start = time.time()
while abs(session.captureSessionState().tempo() - 100.0) > 0.01 and time.time() - start < 5:
    time.sleep(0.01)
said["session_tempo_after_osc"] = session.captureSessionState().tempo()
said["session_followed_osc_after_s"] = time.time() - start
said["locked_at_100_after_s"] = wait_locked(100.0)
time.sleep(1.0)
phases.append(record())
said["peers"] = session.numPeers()
said["xruns"] = len(xruns)
said["phases"] = phases
client.deactivate()
print(json.dumps(said))
