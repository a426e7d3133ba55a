#!/bin/bash
# The runtime on its own: install everything (scripts/setup.sh), build a busybox rootfs and
# an OCI bundle in a temporary directory, run a container from it with estiba-runtime, and
# clean up. ESTIBA_DEMO_RUNTIME=runc runs the same bundle through runc instead.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
[[ $EUID -eq 0 ]] || { echo "demo: run as root: sudo bash $0" >&2; exit 1; }
bash scripts/setup.sh

RUNTIME="${ESTIBA_DEMO_RUNTIME:-$REPO/.venv/bin/estiba-runtime}"
WORK="$(mktemp -d /tmp/estiba-demo.XXXXXX)"
CID="estiba-demo-$$"

cleanup() {
    "$RUNTIME" --root "$WORK/state" delete --force "$CID" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# What the container prints about itself: it should be PID 1 in its own namespaces.
read -r -d '' INSIDE <<'SH' || true
echo "hostname:   $(hostname)"
echo "id:         $(id)"
echo "my pid:     $$"
grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status
echo "processes:"
ps -o pid,user,comm
echo "bye from PID $$"
SH

.venv/bin/python - "$WORK/bundle" "$INSIDE" <<'PY'
import sys
from pathlib import Path

from estiba.images import busybox_rootfs
from estiba.runtime.specgen import default_spec, write_bundle

bundle, script = Path(sys.argv[1]), sys.argv[2]
busybox_rootfs(bundle / "rootfs")
from estiba.runtime.seccomp import default_docker_profile, docker_profile_to_oci

spec = default_spec(args=["/bin/sh", "-c", script])
spec["hostname"] = "estiba-demo"
# Docker's default seccomp profile, as the engine will pass it to the runtime.
capabilities = spec["process"]["capabilities"]["bounding"]
spec["linux"]["seccomp"] = docker_profile_to_oci(default_docker_profile(), capabilities=capabilities)
write_bundle(bundle, spec)
PY

echo "demo: running a busybox container with $RUNTIME" >&2
"$RUNTIME" --root "$WORK/state" run --bundle "$WORK/bundle" "$CID" </dev/null
