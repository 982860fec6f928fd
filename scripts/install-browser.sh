#!/usr/bin/env bash
# Install Debian's chromium (and a CJK font, so Chinese renders in screenshots) for the
# report's browser test, unless they are already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "wqy\|noto.*cjk"; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is missing and this is not root: run 'sudo apt-get install chromium'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-wqy-microhei fontconfig >/dev/null
command -v chromium
