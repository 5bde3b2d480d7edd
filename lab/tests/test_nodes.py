# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab vm run --nodes 2: the link between the guests and how their
QEMUs are started, watched and stopped (fake QEMUs: shell commands that
write what init.sh would)."""

import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from odplab import nodes, vm
from odplab.common import LabError


def _guest(tmp, name, script, wait_for=None):
    out = Path(tmp) / name
    out.mkdir()
    console = out / "console.log"
    cmd = ["sh", "-c", script.format(console=console, status=out / "status")]
    return vm.Guest(cmd, out, label=name, wait_for=wait_for)


# A guest whose command ran and ended with status 0.
DONE = ("echo '{start}' > {{console}}; echo '{end} 0 ====' >> {{console}}; "
        "echo 0 > {{status}}").format(start=vm.START_MARK, end=vm.END_MARK)
# A guest whose command started and never ends.
HANGS = "echo '{start}' > {{console}}; exec sleep 600".format(
    start=vm.START_MARK)


class Link(unittest.TestCase):
    def test_link_local_is_the_kernels_eui64_address(self):
        self.assertEqual(nodes.link_local("52:54:00:1b:0d:01"),
                         "fe80::5054:ff:fe1b:d01")
        self.assertEqual(nodes.link_local("02:00:00:00:00:00"),
                         "fe80::ff:fe00:0")

    def test_each_node_is_told_the_others_address(self):
        first, second = (nodes.link_local(m) for m in nodes.MACS)
        self.assertIn(f"ibodp.peer={second}", nodes.kernel_args(0))
        self.assertIn(f"ibodp.self={first}", nodes.kernel_args(0))
        self.assertIn(f"ibodp.peer={first}", nodes.kernel_args(1))
        self.assertIn(f"ibodp.self={second}", nodes.kernel_args(1))

    def test_the_link_is_a_unix_socket_and_nothing_else(self):
        server = nodes.net_args(0, Path("/c/link.sock"))
        client = nodes.net_args(1, Path("/c/link.sock"))
        self.assertEqual(server[:2], [
            "-netdev", "stream,id=link,server=on,addr.type=unix,"
            "addr.path=/c/link.sock"])
        self.assertIn("server=off", client[1])
        for args in (server, client):
            self.assertNotIn("inet", " ".join(args))

    def test_a_socket_path_too_long_for_sun_path_is_refused(self):
        with self.assertRaisesRegex(LabError, "set IBODP_CACHE to a shorter"):
            nodes.net_args(0, Path("/" + "x" * 120))

    def test_two_host_cores_give_each_guest_one(self):
        with mock.patch("os.cpu_count", return_value=2):
            self.assertEqual(nodes.default_cpus(), 1)
        with mock.patch("os.cpu_count", return_value=16):
            self.assertEqual(nodes.default_cpus(), 2)


class Boot(unittest.TestCase):
    OPTS = vm.VmOptions(timeout=60, boot_timeout=30, echo=False)

    def test_both_guests_run_and_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            results = vm.boot([_guest(tmp, "node0", DONE),
                               _guest(tmp, "node1", DONE)], self.OPTS)
        self.assertEqual([r.exit_code for r in results], [0, 0])
        self.assertEqual(nodes.combined(results), 0)

    def test_a_guest_whose_peer_ended_is_stopped_after_the_grace(self):
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(vm, "PEER_GRACE_SECONDS", 1):
            t0 = time.monotonic()
            results = vm.boot([_guest(tmp, "node0", HANGS),
                               _guest(tmp, "node1", DONE)], self.OPTS)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(results[0].exit_code, vm.EXIT_TIMEOUT)
        self.assertIn("its peer guest ended 1s before", results[0].message)
        self.assertEqual(results[1].exit_code, 0)
        self.assertEqual(nodes.combined(results), vm.EXIT_TIMEOUT)

    def test_a_socket_that_never_comes_stops_the_first_guest(self):
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch.object(vm, "SOCKET_WAIT_SECONDS", 0.5):
            first = _guest(tmp, "node0", HANGS)
            second = _guest(tmp, "node1", DONE,
                            wait_for=Path(tmp) / "link.sock")
            with self.assertRaisesRegex(LabError, "did not create its socket"):
                vm.boot([first, second], self.OPTS)
            self.assertIsNotNone(first.proc.poll())
            self.assertIsNone(second.proc)


if __name__ == "__main__":
    unittest.main()
