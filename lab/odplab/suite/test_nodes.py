# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Two guests of each kernel joined by a link on the host (odplab vm run
--nodes 2): rdma_cm connects rxe0 to rxe0 over IPv6 link-local addresses,
and ib_read_lat --odp runs with its server in one guest and its client in
the other."""

import json

from .. import nodes
from ..common import PROJECT_ROOT

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
        cmd = (job.out / f"node{n}" / "qemu-command.txt").read_text()
        assert cmd.count("-netdev") == 1 and "-nic none" in cmd, cmd
        netdev = node["network"][1]
        assert netdev.startswith("stream,id=link,") and (
            "addr.type=unix," in netdev), node
        for word in ("user", "tap", "inet", "udp", "host="):
            assert word not in netdev, node
