#!/bin/bash
# The main job: install everything (scripts/setup.sh), then, as the seed book's first
# Docker example, run a container that greets: `estiba run --rm busybox echo Ola Mundo`.
# The CLI starts estibad in the background when none answers on /run/estiba/estiba.sock;
# the busybox image is made from the host's busybox-static (no registry needed).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
[[ $EUID -eq 0 ]] || { echo "demo: run as root: sudo bash $0" >&2; exit 1; }
bash scripts/setup.sh

if ! estiba image inspect busybox >/dev/null 2>&1; then
    estiba image bootstrap busybox
fi
estiba run --rm busybox echo Ola Mundo
