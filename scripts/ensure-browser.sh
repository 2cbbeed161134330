#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (no browser download) and read Chinese pages
# (a CJK font, else the screenshots show empty boxes): install what is missing. Needs
# root (CI and the development machines run as root); without it, says what to install
# and fails.
set -eu
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium chromium-driver)
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then packages+=(fonts-wqy-zenhei); fi
if [ "${#packages[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ERROR: missing for the browser tests; run: sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi
echo "Installing for the browser tests: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${packages[@]}" >/dev/null \
  || { apt-get update -q >/dev/null && apt-get install -y -q "${packages[@]}" >/dev/null; }
command -v chromium >/dev/null
fc-list :lang=zh | grep -q .
