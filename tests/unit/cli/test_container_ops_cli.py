"""How the CLI renders the container operations as the docker CLI does: stats memory on
cgroup v1, top's wide columns, the update body, ps's SIZE column."""

from __future__ import annotations

import argparse

import pytest

from estiba.cli.commands import top, update
from estiba.cli.commands.ps import size_column
from estiba.cli.commands.stats import stats_row


def test_stats_memory_on_cgroup_v1_leaves_out_total_inactive_file():
    sample = {"memory_stats": {"usage": 3 << 20, "limit": 1 << 30,
                               "stats": {"inactive_file": 0, "total_inactive_file": 1 << 20}}}  # fmt: skip
    assert stats_row("x", sample)["MemUsage"] == "2MiB / 1GiB"


def test_stats_memory_is_not_reduced_below_the_cache():
    sample = {"memory_stats": {"usage": 1 << 20, "stats": {"total_inactive_file": 2 << 20}}}
    assert stats_row("x", sample)["MemUsage"] == "1MiB / 0B"


def test_top_columns_are_at_least_20_wide():
    text = top.render([["UID", "PID", "CMD"], ["root", "12", "sleep 1000"]])
    assert text == "UID" + " " * 17 + "PID" + " " * 17 + "CMD\n" + "root" + " " * 16 + "12" + " " * 18 + "sleep 1000\n"


def _update_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    update.configure(parser)
    return parser.parse_args([*argv, "c1"])


def test_update_body_has_only_the_flags_given():
    body = update.update_body(_update_args("-m", "64m", "--cpus", "0.5", "--pids-limit", "20", "--cpuset-cpus", "0"))
    assert body == {"Memory": 64 << 20, "NanoCpus": 500_000_000, "PidsLimit": 20, "CpusetCpus": "0"}
    assert update.update_body(_update_args("--memory-swap", "-1")) == {"MemorySwap": -1}


@pytest.mark.parametrize(
    ("summary", "column"),
    [
        ({"SizeRw": 3, "SizeRootFs": 2232323}, {"Size": "3B (virtual 2.23MB)"}),
        ({"SizeRw": 0, "SizeRootFs": 0}, {"Size": "0B"}),
        ({}, {}),
    ],
)
def test_ps_size_column(summary, column):
    assert size_column(summary) == column
