"""`python -m estiba.shim [--ready-fd N] [--no-start] STATE_DIR`: one shim, as a new interpreter.

Used by `spawn_direct`. The process detaches itself (setsid, fork) so that the shim is
no child of whoever ran it; the ShimSpec is read from `STATE_DIR/shim.json`.
"""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m estiba.shim", description=__doc__.splitlines()[0])
    parser.add_argument("--ready-fd", type=int, default=-1, help="write the set-up report here")
    parser.add_argument("--no-start", action="store_true", help="create only; wait for a start request")
    parser.add_argument("state_dir")
    args = parser.parse_args()
    if args.ready_fd >= 0:
        os.set_inheritable(args.ready_fd, False)
    from estiba.shim.launch import detach_and_run

    detach_and_run(os.path.abspath(args.state_dir), not args.no_start, args.ready_fd)


if __name__ == "__main__":
    main()
