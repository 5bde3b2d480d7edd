# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Two guests of one kernel on one host, joined by a link that never leaves
it: a QEMU stream netdev over a Unix socket in a private directory. Each
guest has a virtio-net device on that link with a fixed MAC, rxe0 on it
(init.sh, ibodp.net=virtio), and IPv6 link-local addresses only: no IPv4
address of any range is configured. Node 0 listens on the socket (the
server side of the commands, by convention), node 1 connects.

The guest command learns its part from the environment that init.sh
exports: IBODP_NODE (0 or 1), IBODP_NETDEV, IBODP_PEER (the other guest's
link-local address with its scope, fe80::...%eth0)."""

import dataclasses
import ipaddress
import json
import os
import tempfile
from pathlib import Path

from . import vm
from .common import LabError

NODES = 2
# The node that runs the client side of a command (by convention; node 0
# serves), whose results hold the reports of odplab run --nodes 2.
CLIENT = 1
# Locally administered unicast MACs, one per node.
MACS = ("52:54:00:1b:0d:00", "52:54:00:1b:0d:01")
SOCKET = "link.sock"
# sockaddr_un's sun_path is 108 bytes with its terminating NUL.
MAX_SOCKET_PATH = 107


def link_local(mac):
    """The IPv6 link-local address the kernel gives an interface with this
    MAC (modified EUI-64, RFC 4291 appendix A)."""
    octets = [int(x, 16) for x in mac.split(":")]
    if len(octets) != 6:
        raise LabError(f"bad MAC {mac!r}: six octets expected")
    eui = [octets[0] ^ 0x02, *octets[1:3], 0xFF, 0xFE, *octets[3:]]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


def net_args(node, sock):
    """Node 0 listens on the Unix socket, node 1 connects to it."""
    if len(str(sock)) > MAX_SOCKET_PATH:
        raise LabError(f"the guests' link socket {sock} is longer than a "
                       f"Unix socket path can be ({MAX_SOCKET_PATH} bytes): "
                       "set IBODP_CACHE to a shorter directory")
    server = "on" if node == 0 else "off"
    return ["-netdev", f"stream,id=link,server={server},addr.type=unix,"
            f"addr.path={sock}",
            "-device", f"virtio-net-pci,netdev=link,mac={MACS[node]}"]


def kernel_args(node):
    """init.sh checks that its link-local address is ibodp.self, the one
    the peer is told."""
    return ["ibodp.net=virtio", f"ibodp.node={node}",
            f"ibodp.self={link_local(MACS[node])}",
            f"ibodp.peer={link_local(MACS[1 - node])}"]


def node_dir(out_dir, node):
    """Where node `node`'s results of a run in out_dir go."""
    return Path(out_dir) / f"node{node}"


def default_cpus():
    """vCPUs per guest: the host's cores shared between the two, at most
    two each (the one-guest default)."""
    return max(1, min(2, (os.cpu_count() or 1) // NODES))


def run_nodes(kernel, argv, variant, out_dir=None, opts=None, cwd=None):
    """`argv` in both guests; their results in out_dir/node0 and
    out_dir/node1, a summary in out_dir/nodes.json. One VmResult per
    node."""
    opts = opts or vm.VmOptions(cpus=default_cpus())
    out_dir = Path(out_dir or vm.default_out_dir(variant)).resolve()
    dirs = [node_dir(out_dir, n) for n in range(NODES)]
    prep = vm.prepare(kernel, argv, cwd, dirs)
    for d in dirs:
        vm.new_out_dir(d, prep, kernel, argv, opts)
    with tempfile.TemporaryDirectory(dir=vm.disk_root()) as tmp:
        sock = Path(tmp) / SOCKET
        guests = []
        for n, d in enumerate(dirs):
            disk_dir = Path(tmp) / f"node{n}"
            disk_dir.mkdir()
            node_opts = dataclasses.replace(
                opts, extra_append=[*opts.extra_append, *kernel_args(n)])
            cmd = vm.qemu_command(kernel, d, variant, prep.keep, node_opts,
                                  prep.chosen, vm.make_disks(disk_dir),
                                  net_args(n, sock))
            guests.append(vm.Guest(cmd, d, label=f"node{n}",
                                   wait_for=sock if n else None))
        for g in guests:
            vm.announce(g, kernel, argv, variant, prep.chosen)
        results = vm.boot(guests, opts)
    _write_summary(out_dir, guests, results)
    return results


def _write_summary(out_dir, guests, results):
    """nodes.json: each node's status, message and network arguments."""
    nodes = []
    for n, (g, r) in enumerate(zip(guests, results)):
        i = g.cmd.index("-netdev")
        nodes.append({"node": n, "mac": MACS[n], "address": link_local(
            MACS[n]), "exit_code": r.exit_code, "status": r.status,
            "message": r.message, "out_dir": str(r.out_dir),
            "network": g.cmd[i:i + 4]})
    (out_dir / "nodes.json").write_text(
        json.dumps({"nodes": nodes}, indent=1) + "\n")


def combined(results):
    """One exit code for the run: the first node's failure, else 0."""
    return next((r.exit_code for r in results if r.exit_code), 0)
