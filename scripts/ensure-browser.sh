#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (no browser download): install it when
# missing. Needs root (CI and the development machines run as root); without it, says
# what to install and fails.
set -eu
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ERROR: chromium is not installed; run: sudo apt-get install -y chromium chromium-driver" >&2
  exit 1
fi
echo "Installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium chromium-driver >/dev/null \
  || { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; }
command -v chromium >/dev/null
