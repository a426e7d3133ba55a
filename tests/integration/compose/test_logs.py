"""`estiba compose logs`: prefixed lines from several services, stderr kept apart, no
colour when stdout is not a terminal, -f ending once every container has stopped."""

from __future__ import annotations

FILE = """
services:
  one:
    image: busybox
    command: ["sh", "-c", "echo one-a; echo one-b >&2; sleep 2; echo one-c"]
  second:
    image: busybox
    command: ["sh", "-c", "echo two-a; sleep 3; echo two-b"]
"""


def test_logs_prefixed_followed_until_the_containers_stop(compose):
    app = compose(FILE)
    app.run("up", "-d")
    followed = app.run("logs", "-f", timeout=90)  # returns only once both have exited
    out = followed.stdout.splitlines()
    assert "one-1     | one-a" in out
    assert "one-1     | one-c" in out
    assert "second-1  | two-a" in out
    assert "second-1  | two-b" in out
    assert out.index("second-1  | two-a") < out.index("second-1  | two-b")
    assert "one-1     | one-b" in followed.stderr.splitlines()
    assert "\033[" not in followed.stdout + followed.stderr

    one = app.run("logs", "--no-log-prefix", "one")
    assert one.stdout.splitlines() == ["one-a", "one-c"]
    assert app.run("logs", "--tail", "1", "second").stdout.splitlines() == ["second-1  | two-b"]
    assert "\033[36m" in app.run("--ansi", "always", "logs", "second").stdout

    missing = app.run("logs", "nope", check=False)
    assert missing.returncode != 0
    assert "no such service: nope" in missing.stderr
