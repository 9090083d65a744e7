#!/usr/bin/env bash
# Starts the stand-ins for real hardware that the live tests need, on a headless machine:
#   - Xvfb, a virtual X display (the window),
#   - a PulseAudio daemon with a paced null sink (the sound card); its monitor is recorded;
#   - a JACK server on its dummy driver, under a name of its own (MIDI between processes: the
#     `jack` build's MIDI tests; a machine with no sound card has no ALSA sequencer).
# Source it:  source scripts/test-env.sh start   ...   test_env_stop
# It exports DISPLAY, XDG_RUNTIME_DIR, PULSE_SERVER, JACK_DEFAULT_SERVER and SOMNIA_LIVE=1,
# and test_env_stop
# stops everything it started. Nothing here touches the user's own audio or display.

test_env_start() {
  SOMNIA_ENV_DIR=$(mktemp -d /tmp/somnia-test-env.XXXXXX)
  chmod 700 "$SOMNIA_ENV_DIR"
  export SOMNIA_ENV_DIR

  # A free display number: the first without a lock file.
  local n=99
  while [ -e "/tmp/.X${n}-lock" ]; do n=$((n + 1)); done
  # -noreset: the server keeps its settings (the screensaver's, say) when its last client
  # goes, as a desktop with a window manager does; a plain Xvfb resets them then.
  Xvfb ":$n" -screen 0 1280x720x24 -nolisten tcp -noreset >"$SOMNIA_ENV_DIR/xvfb.log" 2>&1 &
  SOMNIA_XVFB_PID=$!
  export DISPLAY=":$n"

  export XDG_RUNTIME_DIR="$SOMNIA_ENV_DIR/run"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  export PULSE_SERVER="unix:$XDG_RUNTIME_DIR/pulse/native"
  bash "$(dirname "${BASH_SOURCE[0]}")/start-pulse.sh" >"$SOMNIA_ENV_DIR/pulse.log" 2>&1 &
  SOMNIA_PULSE_PID=$!
  export SOMNIA_XVFB_PID SOMNIA_PULSE_PID

  local ok=""
  for _ in $(seq 1 100); do
    if xdpyinfo >/dev/null 2>&1 && pactl info >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.1
  done
  if [ -z "$ok" ]; then
    echo "test-env: Xvfb or PulseAudio did not start; logs in $SOMNIA_ENV_DIR" >&2
    tail -n 20 "$SOMNIA_ENV_DIR"/*.log >&2
    return 1
  fi
  # JACK: no sound card reserved, nothing but MIDI used. Real-time scheduling where the machine
  # allows it: the dummy driver's periods then start on time, so its frame clock keeps to the
  # wall clock that the sound (and so the sync tests' MIDI clock) runs on; without it, a busy
  # machine makes the periods late and the frame clock slip.
  export JACK_DEFAULT_SERVER="somnia-test-$$" JACK_NO_AUDIO_RESERVATION=1
  local realtime="--realtime --realtime-priority 60"
  if ! chrt -f 1 true 2>/dev/null; then realtime="--no-realtime"; fi
  # shellcheck disable=SC2086
  jackd $realtime -n "$JACK_DEFAULT_SERVER" -d dummy -r 48000 -p 256 \
    >"$SOMNIA_ENV_DIR/jackd.log" 2>&1 &
  SOMNIA_JACK_PID=$!
  export SOMNIA_JACK_PID
  local jack=""
  for _ in $(seq 1 50); do
    if timeout 2 jack_lsp >/dev/null 2>&1; then jack=1; break; fi
    sleep 0.1
  done
  if [ -z "$jack" ]; then
    echo "test-env: the JACK dummy server did not start (the jack build's MIDI tests will say so); log:" >&2
    tail -n 5 "$SOMNIA_ENV_DIR/jackd.log" >&2
  fi
  pactl set-default-sink nullsink >/dev/null
  # The default input hears what plays into the sink: line-in tests play into it.
  pactl set-default-source nullsink.monitor >/dev/null
  export SOMNIA_LIVE=1
  echo "test-env: Xvfb on $DISPLAY, PulseAudio null sink at $PULSE_SERVER, JACK server ${JACK_DEFAULT_SERVER}"
}

test_env_stop() {
  # Tolerant of things already gone (a test may have killed and restarted the sound server),
  # and safe under `set -e`: stopping must never fail the run.
  if [ -n "${SOMNIA_PULSE_PID:-}" ]; then kill "$SOMNIA_PULSE_PID" 2>/dev/null || true; fi
  if [ -f "${XDG_RUNTIME_DIR:-}/somnia-pulse.pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$XDG_RUNTIME_DIR/somnia-pulse.pids"
  fi
  if [ -n "${SOMNIA_XVFB_PID:-}" ]; then kill "$SOMNIA_XVFB_PID" 2>/dev/null || true; fi
  if [ -n "${SOMNIA_JACK_PID:-}" ]; then kill "$SOMNIA_JACK_PID" 2>/dev/null || true; fi
  wait ${SOMNIA_PULSE_PID:-} ${SOMNIA_XVFB_PID:-} ${SOMNIA_JACK_PID:-} 2>/dev/null || true
  if [ -n "${SOMNIA_ENV_DIR:-}" ]; then rm -rf "$SOMNIA_ENV_DIR" || true; fi
  unset SOMNIA_PULSE_PID SOMNIA_XVFB_PID SOMNIA_JACK_PID SOMNIA_ENV_DIR SOMNIA_LIVE JACK_DEFAULT_SERVER
}

if [ "${1:-}" = "start" ]; then test_env_start; fi
