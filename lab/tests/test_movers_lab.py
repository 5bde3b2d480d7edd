# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The guest's moving parts on the host side: its virtio-blk disks, its
NUMA nodes, the config that lets memory move, and the reading of the
vanilla kernel's reproducer results."""

import tempfile
import unittest
from unittest import mock
from pathlib import Path

from odplab import accel, kernel, known, vm
from odplab.common import PROJECT_ROOT
from odplab.kconfig import BASE_FRAGMENT, parse_fragment


class Disks(unittest.TestCase):
    def test_each_disk_is_a_sparse_file_of_its_size(self):
        with tempfile.TemporaryDirectory() as d:
            disks = vm.make_disks(d)
            self.assertEqual([s for s, _ in disks],
                             [s for s, _, _ in vm.DISKS])
            for (_, path), (_, mib, _) in zip(disks, vm.DISKS):
                st = path.stat()
                self.assertEqual(st.st_size, mib << 20)
                # Formatted, yet sparse: metadata only.
                self.assertGreater(st.st_blocks, 0, path)
                self.assertLess(st.st_blocks * 512, 80 << 20, path)
            # mkswap's signature ends the first page; ext4's superblock
            # magic sits 56 bytes into the superblock at 1 KiB.
            with open(disks[0][1], "rb") as f:
                self.assertEqual(f.read(4096)[-10:], b"SWAPSPACE2")
            with open(disks[1][1], "rb") as f:
                self.assertEqual(f.read(2048)[1024 + 56:1024 + 58],
                                 b"\x53\xef")

    def test_qemu_gets_one_virtio_blk_device_per_disk_named_by_serial(self):
        kern = kernel.Kernel(Path("/k"), {"kernelrelease": "7.3.4"})
        disks = [("ibodp-swap", Path("/d/swap.raw")),
                 ("ibodp-ext4", Path("/d/ext4.raw"))]
        cmd = vm.qemu_command(kern, Path("/out"), "pristine", ["/p"],
                              vm.VmOptions(), accel.Accel("tcg", "qemu64", "t"),
                              disks)
        devices = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-device"
                   and cmd[i + 1].startswith("virtio-blk-pci")]
        self.assertEqual(devices, [
            "virtio-blk-pci,drive=ibodp-swap,serial=ibodp-swap",
            "virtio-blk-pci,drive=ibodp-ext4,serial=ibodp-ext4"])
        self.assertIn("if=none,id=ibodp-swap,file=/d/swap.raw,format=raw,"
                      "cache=unsafe", cmd)

    def test_a_disk_path_with_a_comma_is_refused(self):
        kern = kernel.Kernel(Path("/k"), {"kernelrelease": "7.3.4"})
        with self.assertRaisesRegex(Exception, "space or comma"):
            vm.qemu_command(kern, Path("/out"), "pristine", ["/p"],
                            vm.VmOptions(), accel.Accel("tcg", "qemu64", "t"),
                            [("ibodp-swap", Path("/d/a,b.raw"))])

    def test_two_numa_nodes_and_balancing_off_by_default(self):
        kern = kernel.Kernel(Path("/k"), {"kernelrelease": "7.3.4"})
        cmd = vm.qemu_command(kern, Path("/out"), "pristine", ["/p"],
                              vm.VmOptions(), accel.Accel("tcg", "qemu64", "t"))
        append = cmd[cmd.index("-append") + 1].split()
        self.assertIn("numa=fake=2", append)
        self.assertIn("numa_balancing=disable", append)


class Config(unittest.TestCase):
    def test_the_fragment_asks_for_every_mover(self):
        wanted = parse_fragment(BASE_FRAGMENT.read_text())
        for sym in ("CONFIG_SWAP", "CONFIG_VIRTIO_BLK", "CONFIG_NUMA",
                    "CONFIG_NUMA_EMU", "CONFIG_NUMA_BALANCING",
                    "CONFIG_MEMCG", "CONFIG_TRANSPARENT_HUGEPAGE",
                    "CONFIG_KSM", "CONFIG_COMPACTION", "CONFIG_MIGRATION",
                    "CONFIG_EXT4_FS"):
            self.assertEqual(wanted.get(sym), "y", sym)


class Reproducers(unittest.TestCase):
    def test_every_reproducer_names_the_base_patch_that_fixes_it(self):
        names = {p.name[:4] for p in
                 (PROJECT_ROOT / "base-patches").glob("0*.patch")}
        for test, fix in known.REPRODUCERS.items():
            self.assertIn(fix[:4], names, test)

    def test_the_guest_runs_leave_out_only_the_unfixed_bugs(self):
        with mock.patch.dict(known.KNOWN_UNFIXED, {"A.b": "x", "C.d": "y"},
                             clear=True):
            self.assertEqual(known.guest_filter(), "-A.b:C.d")
        with mock.patch.dict(known.KNOWN_UNFIXED, {}, clear=True):
            self.assertEqual(known.guest_filter(), "*")


if __name__ == "__main__":
    unittest.main()
