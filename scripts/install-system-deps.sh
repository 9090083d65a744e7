#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Somnia needs to build, run and test.
# Idempotent: skips apt entirely when every package is already present.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config libasound2-dev libjack-jackd2-dev
  # rendering without a GPU (lavapipe) and a virtual display
  mesa-vulkan-drivers libvulkan1 libegl1 libgl1 xvfb xauth x11-utils x11-apps
  libx11-xcb1 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0
  # paced audio without a sound card, and recording what left the process
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils jackd2
  # real peers and measurement tools used by the tests
  liblo-tools ffmpeg sox imagemagick python3 python3-venv xdotool x11-xserver-utils
  # a QR code reader (the join code on the picture) and a real browser (the web pages)
  zbar-tools chromium
  # libltc, the reference LTC encoder and decoder Somnia's own timecode is held to
  libltc-dev
  # the X extension library DPMS is switched through
  libxext6
  # the `link` feature builds Ableton's Link library from source (cmake) and binds it (clang)
  cmake libclang-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed"
