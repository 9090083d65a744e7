#!/usr/bin/env bash
# Runs Somnia's benchmarks and prints their tables. Installs what they compare against
# (SuperCollider's scsynth, from Debian's supercollider-server) besides the usual packages.
#   render_speed: offline render speed in × real time (audio; audio + 1280x720 video)
#   synth_voices: ns per voice-sample and voices in real time, vs scsynth and a bare loop
#   render_frame: render-thread CPU time and frame time, engine vs a bare wgpu program
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/ensure-rust.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if ! command -v scsynth >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends supercollider-server >/dev/null
fi
export NODEVICE_SELECT=1
cargo bench --locked --bench synth_voices
cargo bench --locked --bench render_speed
cargo bench --locked --bench render_frame --bench osc_latency
