#!/usr/bin/env bash
# Runs Somnia's benchmarks and prints their tables. Installs what they compare against
# (SuperCollider's scsynth, from Debian's supercollider-server) besides the usual packages.
#   synth_voices: ns per voice-sample and voices in real time, vs scsynth and a bare loop
#   render_speed: offline render speed in × real time (audio; audio + 1280x720 video)
#   render_frame: render-thread CPU time and frame time, engine vs a bare wgpu program
#   isf_frame:    frame time of ISF shaders (a generator, a two-pass feedback) against the
#                 same looks written in WGSL, at 1280x720
#   outputs_frame: frame time with 1, 2 and 4 outputs against one window, and one output's
#                 mapping pass (warp, mesh, blend, mask) against a plain full-screen copy
#   osc_latency:  OSC arrival to the sample that plays it, at 64- and 256-frame blocks
#   kiosk_soak:   `somnia kiosk` cycling every shipped preset and performance (3 s each, 1 s
#                 fades) for 30 minutes under Xvfb and the null sink: memory and GPU memory
#                 growth per hour after warm-up, and the longest black stretch in frames
#   play_memory:  resident memory while `somnia play` plays each shipped performance, under
#                 Xvfb and the null sink: once loaded, at the peak, and its growth (target at
#                 most 150 MB, no growth)
#   audience_load: 50, 100 and 200 simulated phones at 30 messages a second on a four-dreamer
#                 show: joins a second, join time, message-to-frame latency (p50, p99) and
#                 server CPU per 100 phones, under Xvfb and the null sink
#   journal:      the show's journal at 1,000 live inputs a second against the same show without
#                 one (CPU share of one core), its size per hour, and the sound made again from
#                 a journal against the plain offline render (× real time)
#   sync_error:   a JACK peer sends MTC that the show (the jack build) chases, and records the
#                 MIDI clock and MTC the show sends back: tick and quarter-frame jitter (mean,
#                 p99, ms), the chase's offset from the source (mean, p99, frames), and the
#                 heard beat against an Ableton Link peer's (mean, p99, ms)
#
# Usage: scripts/bench.sh [BENCH...] [--seconds S]
#   With no BENCH, all of them. --seconds sets the soak's length (default 1800), each
#   crowd's (default 30) and each performance's in play_memory (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
benches=()
soak_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) soak_args+=(--seconds "$2"); shift 2 ;;
    --seconds=*) soak_args+=(--seconds "${1#*=}"); shift ;;
    -*) echo "scripts/bench.sh: unknown option $1 (--seconds S)" >&2; exit 1 ;;
    *) benches+=("$1"); shift ;;
  esac
done
[ ${#benches[@]} -eq 0 ] && benches=(synth_voices render_speed render_frame isf_frame outputs_frame osc_latency kiosk_soak play_memory audience_load sync_error journal)

bash scripts/install-system-deps.sh
bash scripts/ensure-rust.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if [[ " ${benches[*]} " == *" synth_voices "* ]] && ! command -v scsynth >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends supercollider-server >/dev/null
fi
export NODEVICE_SELECT=1
for b in "${benches[@]}"; do
  if [ "$b" = kiosk_soak ] || [ "$b" = play_memory ] || [ "$b" = audience_load ] || [ "$b" = sync_error ]; then
    # A real window and a real sound server, as the live tests have them; stopped at the end.
    (
      source scripts/test-env.sh
      test_env_start
      trap test_env_stop EXIT
      features=()
      # The jack build (JACK MIDI, the show's own JACK client) and the link build (GPL).
      [ "$b" = sync_error ] && features=(--features jack,link)
      SOMNIA_PYTHON="$(bash scripts/ensure-python-osc.sh)" cargo bench --locked "${features[@]}" --bench "$b" -- "${soak_args[@]}"
    )
  else
    cargo bench --locked --bench "$b"
  fi
done
