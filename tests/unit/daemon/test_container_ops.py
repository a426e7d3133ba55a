"""The pure parts of top, update, diff, export, stats and sizes: ps output filtering,
the update's checks and merge, the hidden mount points, the read-only view of a stopped
container's layers, and Docker's stats and size documents."""

from __future__ import annotations

import pytest

from estiba.daemon.container_documents import (
    ZERO_GO_TIME,
    go_time,
    stats_document,
    system_cpu,
    with_sizes,
)
from estiba.daemon.container_ops import (
    ResourceUpdate,
    hide_mount_points,
    parse_ps_output,
    ps_argv,
    readonly_view,
)
from estiba.errors import Conflict, InvalidArgument, SystemFault
from estiba.snapshots import Mount

PS_EF = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 09:00 ?        00:00:01 /sbin/init splash
root         812     790  0 09:31 ?        00:00:00 sleep 1000
root         813     812  0 09:31 pts/0    00:00:00 sh -c echo  two   spaces
"""


# --- top --------------------------------------------------------------------------------


def test_ps_rows_are_only_the_containers_and_the_last_column_keeps_its_spaces():
    result = parse_ps_output(PS_EF, [812, 813])
    assert result.titles == ("UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD")
    assert result.processes == (
        ("root", "812", "790", "0", "09:31", "?", "00:00:00", "sleep 1000"),
        ("root", "813", "812", "0", "09:31", "pts/0", "00:00:00", "sh -c echo two spaces"),
    )


def test_thread_rows_follow_their_process():
    output = "USER PID TID CMD\nroot 5 - sleep\nroot - 5 -\nroot - 6 -\nroot 9 - other\nroot - 9 -\n"
    result = parse_ps_output(output, [5])
    assert [p[:3] for p in result.processes] == [("root", "5", "-"), ("root", "-", "5"), ("root", "-", "6")]


def test_ps_output_without_a_pid_column_is_refused():
    with pytest.raises(SystemFault, match="Couldn't find PID field"):
        parse_ps_output("USER COMMAND\nroot sleep\n", [1])


def test_ps_args_default_and_pid_renaming():
    assert ps_argv("") == ["-ef"]
    assert ps_argv("aux") == ["aux"]
    assert ps_argv("-o  pid=PID,comm") == ["-o", "pid=PID,comm"]
    with pytest.raises(InvalidArgument, match='specifying "user=PID" is not allowed'):
        ps_argv("-o pid,comm -o user=PID")


# --- update -----------------------------------------------------------------------------


def test_update_body_becomes_the_oci_resources_of_the_change_alone():
    wanted = ResourceUpdate.from_api(
        {"Memory": 64 << 20, "MemorySwap": 128 << 20, "NanoCpus": 500_000_000, "PidsLimit": 20,
         "CpuShares": 0, "CpusetCpus": "", "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}}
    )  # fmt: skip
    assert wanted.oci_resources() == {
        "memory": {"limit": 64 << 20, "swap": 128 << 20},
        "cpu": {"quota": 50_000, "period": 100_000},
        "pids": {"limit": 20},
    }
    assert ResourceUpdate.from_api({"PidsLimit": -1}).oci_resources()["pids"] == {"limit": -1}
    assert ResourceUpdate.from_api({"BlkioWeight": 300}).oci_resources()["blockIO"] == {"weight": 300}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Memory": 1 << 20}, "Minimum memory limit allowed is 6MB"),
        ({"Memory": 64 << 20, "MemorySwap": 32 << 20}, "Minimum memoryswap limit should be larger"),
        ({"NanoCpus": 1, "CpuPeriod": 100_000}, "Nano CPUs and CPU Period cannot both be set"),
        ({"CpuPeriod": 10}, "CPU cfs period can not be less than 1ms"),
        ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
        ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy 'sometimes'"),
        ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}, "maximum retry count cannot be used"),
        ({"Memory": "lots"}, "must be"),
    ],
)
def test_bad_update_values_are_invalid_arguments(body, message):
    with pytest.raises(InvalidArgument, match=message):
        ResourceUpdate.from_api(body)


def test_a_swap_limit_alone_is_accepted_in_an_update():
    assert ResourceUpdate.from_api({"MemorySwap": 256 << 20}).memory_swap == 256 << 20


def test_merge_keeps_what_the_update_leaves_out():
    stored = {"Memory": 0, "CpuShares": 512, "NetworkMode": "none", "RestartPolicy": {"Name": "no"}}
    wanted = ResourceUpdate.from_api(
        {"Memory": 64 << 20, "MemorySwap": -1, "PidsLimit": 20, "RestartPolicy": {"Name": "on-failure",
         "MaximumRetryCount": 2}}
    )  # fmt: skip
    merged = wanted.merged_into(stored)
    assert merged["CpuShares"] == 512 and merged["NetworkMode"] == "none"
    assert (merged["Memory"], merged["MemorySwap"], merged["PidsLimit"]) == (64 << 20, -1, 20)
    assert merged["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert stored["CpuShares"] == 512 and "PidsLimit" not in stored  # not changed in place
    assert ResourceUpdate.from_api({"PidsLimit": 0}).merged_into({"PidsLimit": 9})["PidsLimit"] is None


@pytest.mark.parametrize(
    ("stored", "body", "message"),
    [
        ({}, {"Memory": 64 << 20}, "Memory limit should be smaller than already set memoryswap limit"),
        ({"Memory": 32 << 20}, {"Memory": 128 << 20}, "Memory limit should be smaller"),
        ({"CpuPeriod": 50_000}, {"NanoCpus": 1_000_000_000}, "Nano CPUs cannot be updated as CPU Period"),
        ({"CpuQuota": 50_000}, {"NanoCpus": 1_000_000_000}, "Nano CPUs cannot be updated as CPU Quota"),
        ({"NanoCpus": 1_000_000_000}, {"CpuQuota": 50_000}, "CPU Quota cannot be updated as NanoCPUs"),
        ({"AutoRemove": True}, {"RestartPolicy": {"Name": "always"}}, "AutoRemove is enabled"),
    ],
)
def test_merge_conflicts_are_dockerds(stored, body, message):
    with pytest.raises(Conflict, match=message):
        ResourceUpdate.from_api(body).merged_into(stored)


def test_a_merge_that_would_keep_the_container_from_starting_is_refused():
    with pytest.raises(InvalidArgument, match="always set the Memory limit when using Memoryswap"):
        ResourceUpdate.from_api({"MemorySwap": 256 << 20}).merged_into({})
    with pytest.raises(InvalidArgument, match="can not be less than memory reservation"):
        ResourceUpdate.from_api({"MemoryReservation": 100 << 20}).merged_into(
            {"Memory": 50 << 20, "MemorySwap": 200 << 20}
        )


def test_memory_within_the_stored_swap_needs_no_new_swap():
    # Created with -m 64m: dockerd stored MemorySwap 128m, so 100m fits.
    merged = ResourceUpdate.from_api({"Memory": 100 << 20}).merged_into({"Memory": 64 << 20})
    assert merged["Memory"] == 100 << 20


# --- diff and export --------------------------------------------------------------------


def test_mount_points_and_the_directories_made_for_them_are_hidden():
    found = [("C", "/etc"), ("A", "/etc/hosts"), ("A", "/etc/resolv.conf"), ("C", "/tmp"), ("A", "/tmp/x")]
    assert hide_mount_points(found) == [("C", "/tmp"), ("A", "/tmp/x")]
    found = [("C", "/etc"), ("A", "/etc/hosts"), ("C", "/etc/passwd")]
    assert hide_mount_points(found) == [("C", "/etc"), ("C", "/etc/passwd")]
    assert hide_mount_points([("A", "/.dockerenv"), ("D", "/bin/ls")]) == [("D", "/bin/ls")]


def test_the_read_only_view_stacks_the_writable_layer_as_a_lower():
    active = Mount("overlay", "overlay", ("index=off", "lowerdir=/s/2/fs:/s/1/fs", "upperdir=/s/3/fs",
                                          "workdir=/s/3/work"))  # fmt: skip
    assert readonly_view([active]) == [
        Mount("overlay", "overlay", ("ro", "index=off", "lowerdir=/s/3/fs:/s/2/fs:/s/1/fs"))
    ]
    assert readonly_view([Mount("bind", "/s/1/fs", ("rw", "rbind"))]) == [
        Mount("bind", "/s/1/fs", ("ro", "rbind"))
    ]


# --- stats and sizes --------------------------------------------------------------------

V1_SAMPLE = {
    "cpu": {"usage": {"total": 5_000, "percpu": [2_000, 3_000], "kernel": 1_000, "user": 4_000},
            "throttling": {"periods": 2, "throttledPeriods": 1, "throttledTime": 7}},
    "memory": {"usage": {"limit": 2**63 - 4096, "usage": 3 << 20, "max": 4 << 20, "failcnt": 0},
               "raw": {"total_inactive_file": 1 << 20, "cache": 4096, "rss": 8192}},
    "pids": {"current": 2, "limit": 0},
    "blkio": {"ioServiceBytesRecursive": [{"major": 8, "minor": 0, "op": "Read", "value": 4096}],
              "ioServicedRecursive": []},
}  # fmt: skip


def test_a_stopped_container_gets_dockerds_empty_sample():
    document = stats_document("c" * 64, "web", cgroup=None)
    assert document["read"] == document["preread"] == ZERO_GO_TIME
    assert document["name"] == "/web" and document["id"] == "c" * 64
    assert document["memory_stats"] == {} and document["pids_stats"] == {}
    assert document["cpu_stats"]["cpu_usage"] == {"total_usage": 0, "usage_in_kernelmode": 0,
                                                  "usage_in_usermode": 0}  # fmt: skip
    assert document["blkio_stats"]["io_service_bytes_recursive"] is None


def test_a_v1_sample_in_dockers_shape():
    document = stats_document(
        "c" * 64, "web", cgroup=V1_SAMPLE, read_ns=1_700_000_000_123_000_000, system=(9_000, 2),
        machine_memory=1 << 30,
    )
    assert document["read"] == "2023-11-14T22:13:20.123Z"
    assert document["cpu_stats"] == {
        "cpu_usage": {"total_usage": 5_000, "percpu_usage": [2_000, 3_000], "usage_in_kernelmode": 1_000,
                      "usage_in_usermode": 4_000},
        "system_cpu_usage": 9_000,
        "online_cpus": 2,
        "throttling_data": {"periods": 2, "throttled_periods": 1, "throttled_time": 7},
    }  # fmt: skip
    memory = document["memory_stats"]
    assert (memory["usage"], memory["max_usage"], memory["limit"]) == (3 << 20, 4 << 20, 1 << 30)
    assert "failcnt" not in memory
    assert memory["stats"]["total_inactive_file"] == 1 << 20 and memory["stats"]["total_rss"] == 0
    assert document["pids_stats"] == {"current": 2}
    assert document["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 4096}
    ]
    assert document["blkio_stats"]["sectors_recursive"] == []


def test_the_previous_sample_becomes_precpu_and_preread():
    first = stats_document("c", "web", cgroup=V1_SAMPLE, read_ns=1_000_000_000, system=(9_000, 2))
    second = stats_document("c", "web", cgroup=V1_SAMPLE, read_ns=2_000_000_000, system=(9_900, 2),
                            previous=first)  # fmt: skip
    assert second["precpu_stats"] == first["cpu_stats"]
    assert second["preread"] == first["read"] == "1970-01-01T00:00:01Z"


def test_system_cpu_usage_from_proc_stat():
    text = "cpu  100 0 50 800 10 0 0 5 0 0\ncpu0 50 0 25 400 5 0 0 0 0 0\ncpu1 50 0 25 400 5 0 0 5 0 0\nintr 1\n"
    assert system_cpu(text, 100) == (960 * 10_000_000, 2)


def test_go_time_trims_trailing_zeros():
    assert go_time(0) == "1970-01-01T00:00:00Z"
    assert go_time(1_500_000_000) == "1970-01-01T00:00:01.5Z"


def test_sizes_go_where_dockerd_puts_them():
    summary = with_sizes({"Id": "x", "Ports": [], "Labels": {}}, 3, 103)
    assert list(summary) == ["Id", "Ports", "SizeRw", "SizeRootFs", "Labels"]
    inspect = with_sizes({"Id": "x", "GraphDriver": {}, "Mounts": []}, 0, 100)
    assert list(inspect) == ["Id", "GraphDriver", "SizeRw", "SizeRootFs", "Mounts"]


def test_without_swap_accounting_a_memory_limit_comes_with_a_warning():
    from estiba.daemon.container_ops import _without_swap_accounting

    wanted, warnings = _without_swap_accounting(ResourceUpdate.from_api({"Memory": 64 << 20}))
    assert wanted.memory_swap == -1 and warnings[0].startswith("Your kernel does not support swap limit")
    assert _without_swap_accounting(ResourceUpdate.from_api({"CpuShares": 512}))[1] == []
