"""Smoke test of the shared fixtures: runc runs a command in a bundle from make_bundle."""

from __future__ import annotations


def test_runc_runs_echo_in_a_fixture_bundle(runc, make_bundle) -> None:
    bundle = make_bundle(args=["/bin/echo", "hi"])

    result = runc.run(bundle, "smoke-echo")

    assert (result.returncode, result.stdout, result.stderr) == (0, "hi\n", "")


def test_runc_lifecycle_through_the_wrappers(runc, make_bundle) -> None:
    bundle = make_bundle(args=["/bin/sh", "-c", "echo started; sleep 30"], hostname="smoke")

    runc.create(bundle, "smoke-life", check=True)
    assert runc.state("smoke-life")["status"] == "created"
    runc.start("smoke-life", check=True)
    assert runc.state("smoke-life")["status"] == "running"

    exec_result = runc.exec("smoke-life", "hostname", check=True)
    assert exec_result.stdout == "smoke\n"

    runc.kill("smoke-life", "KILL", check=True)
    runc.delete("smoke-life", force=True, check=True)
    assert runc.cmd("state", "smoke-life").returncode != 0
