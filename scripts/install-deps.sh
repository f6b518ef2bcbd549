#!/usr/bin/env bash
# Installs the Debian 12 packages Parley needs to build, test and run, if any are missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsodium-dev libsqlite3-dev sqlite3
  libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev libmagic-dev libvips-dev poppler-utils
  python3 python3-websockets python3-pil
  chromium fonts-dejavu-core fonts-noto-color-emoji
)
# The web client (web/) needs Node.js >= 20.19 with npm. Debian 12's own nodejs is 18, too old
# for Vite 8, so Node is not installed from here: use NodeSource's nodejs 20 package (it
# includes npm). Without npm, `make build` skips the web client and its tests are not run.
if ! command -v npm >/dev/null 2>&1; then
  echo "note: npm not found; the web client will not be built (install Node.js >= 20.19)" >&2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
