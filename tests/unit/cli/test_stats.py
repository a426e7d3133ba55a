"""`stats` figures computed from one sample as docker computes them."""

from __future__ import annotations

from estiba.cli.commands.stats import stats_row

SAMPLE = {
    "id": "0123456789ab" + "c" * 52,
    "name": "/web",
    "cpu_stats": {"cpu_usage": {"total_usage": 300_000_000}, "system_cpu_usage": 4_000_000_000,
                  "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 100_000_000}, "system_cpu_usage": 2_000_000_000},
    "memory_stats": {"usage": 3 * 1024 * 1024, "limit": 1024**3,
                     "stats": {"inactive_file": 1024 * 1024}},
    "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 648}},
    "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 4096},
                                                   {"op": "write", "value": 0}]},
    "pids_stats": {"current": 3},
}  # fmt: skip


def test_a_full_sample():
    assert stats_row("web", SAMPLE) == {
        "Container": "web",
        "ID": "0123456789ab",
        "Name": "web",
        "CPUPerc": "20.00%",
        "MemUsage": "2MiB / 1GiB",
        "MemPerc": "0.20%",
        "NetIO": "1.5kB / 648B",
        "BlockIO": "4.1kB / 0B",
        "PIDs": "3",
    }


def test_a_sparse_sample_reads_as_zeros():
    row = stats_row("x", {"id": "abc", "name": "/x", "memory_stats": {"usage": 1000}})
    assert (row["CPUPerc"], row["MemUsage"], row["MemPerc"], row["PIDs"]) == (
        "0.00%",
        "1000B / 0B",
        "0.00%",
        "0",
    )
