#!/usr/bin/env bash
# Installs the build and test dependencies from Debian's packages (needs root or sudo).
# Everything the engine links is a Debian -dev package; nothing is downloaded from elsewhere.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config python3 python3-venv
          nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libboost-dev
          libjpeg-dev libpng-dev libwebp-dev libgif-dev  # image decoding (src/image)
          chromium)  # chromium: the chat page test (tests/server/test_chat_page.py)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
