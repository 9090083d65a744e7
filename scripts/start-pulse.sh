#!/usr/bin/env bash
# Runs a PulseAudio daemon in the foreground with one paced null sink (`nullsink`), talking on
# $XDG_RUNTIME_DIR/pulse/native. Used by scripts/test-env.sh, and by the device-loss test to
# bring the sound server back after killing it. Run it in the background.
# norewinds=1 matters: without it later streams stall for seconds.
# Each daemon's PID (exec keeps it) is recorded so test_env_stop can end every one started.
echo $$ >>"${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR must be set}/somnia-pulse.pids"
# The whole server at real-time priority where that is allowed (root on CI), as on a tuned show
# machine: its main thread carries every client's sound to the sink, and on a 2-core VM
# saturated by a test's OSC flood a normal-priority main thread lets the sink run dry.
rt=()
if chrt -f 5 true 2>/dev/null; then rt=(chrt -f 5); fi
exec "${rt[@]}" pulseaudio --daemonize=no -n --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
  --system=false --disable-shm=true \
  --load=module-native-protocol-unix \
  --load="module-null-sink sink_name=nullsink rate=48000 norewinds=1" \
  --load="module-always-sink"
