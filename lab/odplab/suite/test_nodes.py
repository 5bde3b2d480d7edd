# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Two guests of each kernel joined by a link on the host (odplab vm run
--nodes 2): rdma_cm connects rxe0 to rxe0 over IPv6 link-local addresses,
and ib_read_lat --odp and ibodp's perftest run with their server in one
guest and their client in the other."""

import json

from .. import expect, nodes
from ..common import PROJECT_ROOT
from ..userspace import PERFTEST

SMOKE = PROJECT_ROOT / "lab" / "guest" / "nodes-smoke.sh"
ITERATIONS = 200


def smoke_job(odplab, variant):
    return odplab.nodes_job(variant, f"nodes-smoke-{variant}",
                            [SMOKE, str(ITERATIONS)], 900)


def test_rdma_cm_and_ib_read_lat_across_the_link(odplab, variant):
    job = smoke_job(odplab, variant)
    outcomes = [job.json(n, "smoke.json") for n in range(nodes.NODES)]
    assert job.clean, f"{job.message}\n{outcomes}"
    for n, outcome in enumerate(outcomes):
        peer = nodes.link_local(nodes.MACS[1 - n])
        # The link's only address is the node's IPv6 link-local one.
        assert outcome == {
            "node": n, "peer": f"{peer}%{outcome['peer'].split('%')[-1]}",
            "rping": 0, "ib_read_lat": 0, "inet": [],
            "inet6": [nodes.link_local(nodes.MACS[n]) + "/link"]}, outcome


def test_the_link_stays_on_the_host(odplab, variant):
    """Each QEMU's only network is the stream netdev on a Unix socket of
    the run: no -nic, no user networking, no tap, no TCP or UDP port."""
    job = smoke_job(odplab, variant)
    summary = json.loads((job.out / "nodes.json").read_text())
    for n, node in enumerate(summary["nodes"]):
        cmd = (nodes.node_dir(job.out, n) / "qemu-command.txt").read_text()
        assert cmd.count("-netdev") == 1 and "-nic none" in cmd, cmd
        netdev = node["network"][1]
        assert netdev.startswith("stream,id=link,") and (
            "addr.type=unix," in netdev), node
        for word in ("user", "tap", "inet", "udp", "host="):
            assert word not in netdev, node


NODES_PERFTEST = PROJECT_ROOT / "lab" / "guest" / "nodes-perftest.sh"
# READ and SEND after each kind of event the series treats apart: none,
# write-protect only (soft-dirty, fork, mprotect-ro) and a drop
# (madvise-dontneed); one repetition of 20 ops each.
NODES_MATRIX = ("--ops=read,send", "--msg_sizes=4K", "--mr_sizes=1M",
                "--pages=16", "--events=none,soft-dirty,fork,mprotect-ro,"
                "madvise-dontneed", "--registration=odp",
                "--backgrounds=none", "--repetitions=1", "--iterations=20")


def test_perftest_server_counts_the_faults_of_the_client_ops(odplab, variant):
    """perftest --server in node 0 holds the MR and applies the events,
    perftest --client in node 1 runs the ops through rdma_cm: every
    scenario's faults per op, counted on the server's kernel, are what the
    event facts expect of the kernel; the client adds its own device's
    counters and the server's kernel to the report."""
    job = odplab.nodes_job(variant, f"nodes-perftest-{variant}",
                           [NODES_PERFTEST, PERFTEST, *NODES_MATRIX], 900)
    report = job.json(nodes.CLIENT, "perftest.json")
    assert job.clean, f"{job.message}\n{report}"
    extra = report["context"]["extra"]
    assert extra["nodes"] == "2" and extra["server"].startswith(
        nodes.link_local(nodes.MACS[0]) + "%"), extra
    assert extra["server.kernel_release"] == (
        report["context"]["kernel_release"]), extra
    assert extra["server.host"] != report["context"]["host"], extra
    results = report["results"]
    assert len(results) == 10, [r["scenario"]["name"] for r in results]
    keeps = expect.keeps_pages(variant)
    for result in results:
        problem = expect.fault_count_problems(result, keeps)
        assert not problem, f"{result['scenario']['name']}: {problem}"
        for rep in result["repetitions"]:
            sources = {c["source"]: c for c in rep["counters"]}
            requester = sources["requester_hw_counters"]
            assert requester["available"], requester
            # The requester sent every op's requests: 20 ops x 16 pages.
            assert requester["values"]["sent_pkts"] >= 320, requester
