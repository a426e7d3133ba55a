#!/bin/bash
# Install what Estiba needs on Debian 12, idempotently: system packages (apt), then a venv
# at <repo>/.venv made from Debian's /usr/bin/python3 with `pip install -e '.[test]'`, and
# launchers for estiba, estibad and estiba-runtime in the venv and (as root) /usr/local/bin.
# Each step is skipped when already done, so a second run takes well under a second.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
PYTHON=/usr/bin/python3
STAMP="$VENV/.estiba-install-stamp"

APT_PACKAGES=(python3 python3-venv python3-dev busybox-static libseccomp2 iproute2 procps runc debootstrap nftables docker-registry skopeo docker-compose)

log() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

missing_packages() {
    local pkg status
    for pkg in "${APT_PACKAGES[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == installed ]] || echo "$pkg"
    done
}

install_packages() {
    command -v dpkg-query >/dev/null || die "dpkg-query not found: this script needs Debian 12"
    local missing
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) && return 0
    [[ $EUID -eq 0 ]] || die "missing packages (${missing[*]}); run as root: sudo bash $0"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# A venv made from another interpreter (pyenv, a different minor version) is replaced:
# the runtime's start-up time depends on Debian's python.
venv_is_ours() {
    [[ -x "$VENV/bin/python" && -f "$VENV/pyvenv.cfg" ]] || return 1
    grep -qx "home = /usr/bin" "$VENV/pyvenv.cfg" || return 1
    [[ "$("$VENV/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null)" == \
       "$("$PYTHON" -c 'import sys; print(sys.version)')" ]]
}

make_venv() {
    venv_is_ours && return 0
    if [[ -e "$VENV" ]]; then
        log "replacing $VENV (not made from $PYTHON)"
        rm -rf "$VENV"
    fi
    log "creating $VENV from $PYTHON"
    "$PYTHON" -m venv "$VENV"
}

# The install depends on pyproject.toml and on where the repo is (editable install).
install_stamp() {
    { sha256sum "$REPO/pyproject.toml"; echo "$REPO"; } | sha256sum | cut -d' ' -f1
}

install_python_packages() {
    local want
    want="$(install_stamp)"
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
        && "$VENV/bin/python" -c 'import estiba' 2>/dev/null; then
        return 0
    fi
    log "pip install -e '.[test]'"
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -e "$REPO[test]"
    echo "$want" >"$STAMP"
}

# Byte-compile the sources: the runtime's start-up time depends on it, and an environment
# with PYTHONDONTWRITEBYTECODE set would otherwise recompile every module on every run.
compile_sources() {
    # checked-hash: a pyc is trusted only while its source is byte for byte the same (a
    # timestamp pyc goes stale unnoticed when an edit lands within the same second).
    "$VENV/bin/python" -m compileall -q --invalidation-mode checked-hash "$REPO/src" >/dev/null
}

# The commands, as small launchers into this checkout, in the venv (replacing pip's
# console scripts) and, as root, in /usr/local/bin. `-S` skips the site machinery (.pth
# files, setuptools' distutils hack: ~5 ms of every CLI call here), so they put src/ and
# the venv's site-packages on sys.path themselves, after PYTHONPATH (which the benches
# use to run a snapshot of the tree) and without the script's own directory.
write_launchers() {
    local site name module text dir
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    for name in estiba estibad estiba-runtime; do
        case "$name" in
            estiba) module=estiba.cli.main ;;
            estibad) module=estiba.daemon.main ;;
            estiba-runtime) module=estiba.runtime.cli ;;
        esac
        text="#!$VENV/bin/python -S
import sys
del sys.path[0]
sys.path += ['$REPO/src', '$site']
from $module import main
sys.exit(main())"
        for dir in "$VENV/bin" /usr/local/bin; do
            [[ "$dir" == /usr/local/bin && $EUID -ne 0 ]] && continue
            if [[ -L "$dir/$name" || "$(cat "$dir/$name" 2>/dev/null)" != "$text" ]]; then
                rm -f "$dir/$name"
                printf '%s\n' "$text" >"$dir/$name"
                chmod 755 "$dir/$name"
            fi
        done
    done
}

install_packages
make_venv
install_python_packages
compile_sources
write_launchers
