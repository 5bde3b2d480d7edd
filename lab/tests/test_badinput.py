# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab's answers to bad input: each names the cause and the fix."""

import contextlib
import io
import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from odplab import common, kernel, source, vm
from odplab.common import LabError

ODPLAB = Path(__file__).resolve().parents[2] / "odplab"


def odplab(*args):
    return subprocess.run([str(ODPLAB), *args], capture_output=True,
                          text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)


class CommandLine(unittest.TestCase):
    def check(self, args, words):
        proc = odplab(*args)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for word in words:
            self.assertIn(word, proc.stderr)

    def test_unknown_variant(self):
        self.check(["vm", "run", "--variant", "nosuch", "--", "true"],
                   ["invalid choice: 'nosuch'", "pristine"])

    def test_vm_run_without_a_command(self):
        self.check(["vm", "run", "--variant", "pristine"],
                   ["no command given"])

    def test_compare_missing_report(self):
        self.check(["compare", "/nonexistent/a.json", "/nonexistent/b.json"],
                   ["/nonexistent/a.json: no such report"])

    def test_compare_noise_out_of_range(self):
        self.check(["compare", "--noise", "2", "a.json", "b.json"],
                   ["--noise", "not between 0 and 1"])

    def test_run_device_without_host(self):
        self.check(["run", "--device", "mlx5_0"], ["needs --host"])

    def test_missing_kernel_source(self):
        self.check(["--kernel-src", "/nonexistent/linux", "setup"],
                   ["/nonexistent/linux"])


class CacheAndDisk(unittest.TestCase):
    def test_corrupt_cached_kernel_is_removed_for_a_rebuild(self):
        with tempfile.TemporaryDirectory() as d:
            entry = Path(d) / "kernels" / "abc"
            entry.mkdir(parents=True)
            (entry / "bzImage").write_bytes(b"truncated")
            (entry / "manifest.json").write_text(
                json.dumps({"bzimage_sha256": "0" * 64}))
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertIsNone(kernel._cached(entry))
            self.assertFalse(entry.exists())
            self.assertIn("is corrupt", err.getvalue())
            self.assertIn("rebuilding", err.getvalue())

    def test_cached_kernel_with_unreadable_manifest_is_removed(self):
        with tempfile.TemporaryDirectory() as d:
            entry = Path(d) / "k"
            entry.mkdir()
            (entry / "manifest.json").write_text("{not json")
            with contextlib.redirect_stderr(io.StringIO()):
                self.assertIsNone(kernel._cached(entry))
            self.assertFalse(entry.exists())

    def test_full_disk_names_the_need_and_the_fix(self):
        with self.assertRaises(LabError) as ctx:
            common.require_free_space("/", 1 << 60,
                                      "unpacking the kernel source")
        msg = str(ctx.exception)
        self.assertIn("not enough disk space for unpacking the kernel source",
                      msg)
        self.assertIn("IBODP_CACHE", msg)


def _fake_source_deb(work, payload_mib):
    """A .deb shaped like linux-source-7.3 whose tarball unpacks to
    payload_mib MiB of zeros (a few KiB compressed)."""
    tree = work / "linux-source-7.3"
    tree.mkdir()
    (tree / "Makefile").write_text("VERSION = 7\nPATCHLEVEL = 3\n")
    with open(tree / "zeros", "wb") as f:
        f.truncate(payload_mib << 20)
    pkg = work / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(
        "Package: linux-source-7.3\nVersion: 0\nArchitecture: all\n"
        "Maintainer: ibodp tests <test@invalid>\nDescription: fake\n")
    (pkg / "usr" / "src").mkdir(parents=True)
    subprocess.run(f"tar -C '{work}' -c linux-source-7.3 | xz -0 > "
                   f"'{pkg}/{source.DEBIAN_TARBALL}'", shell=True, check=True)
    deb = work / "fake.deb"
    subprocess.run(["dpkg-deb", "-Zxz", "--build", str(pkg), str(deb)],
                   check=True, capture_output=True)
    return deb


class FullDiskDuringUnpacking(unittest.TestCase):
    """A filesystem that fills while the source unpacks (the free-space
    check before it passed, then something else took the room): a real
    16 MiB tmpfs and a source tarball of 64 MiB."""

    def test_error_names_the_cause_and_nothing_is_left(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a 16 MiB tmpfs needs root (CI runs "
                          "./odplab test as root)")
        with tempfile.TemporaryDirectory() as d:
            work = Path(d)
            deb = _fake_source_deb(work, 64)
            mnt = work / "small"
            mnt.mkdir()
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m",
                            "ibodp-test", str(mnt)], check=True)
            try:
                dest = mnt / "src" / "debian-test"
                dest.parent.mkdir()
                with mock.patch.object(source, "require_free_space"), \
                        contextlib.redirect_stdout(io.StringIO()), \
                        self.assertRaises(LabError) as ctx:
                    source._unpack(deb, dest)
                msg = str(ctx.exception)
                self.assertIn(f"unpacking {deb} failed", msg)
                self.assertIn("Wrote only", msg)  # tar's own words
                self.assertIn(f"the disk under {dest.parent} is full", msg)
                self.assertIn("IBODP_CACHE", msg)
                # No half-unpacked tree that a later run could take for
                # the source.
                self.assertEqual(list(dest.parent.iterdir()), [])
            finally:
                subprocess.run(["umount", str(mnt)], check=True)


class Qemu(unittest.TestCase):
    def test_missing_qemu_names_the_package(self):
        fake = kernel.Kernel(Path("/nonexistent"), {})
        with mock.patch.object(vm.shutil, "which", return_value=None):
            with self.assertRaises(LabError) as ctx:
                vm.run_in_vm(fake, ["true"], "pristine")
        self.assertIn("apt-get install qemu-system-x86", str(ctx.exception))

    def test_results_path_with_a_space_is_refused(self):
        fake = kernel.Kernel(Path("/nonexistent"), {})
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "with space"
            with mock.patch.object(vm.shutil, "which", return_value="/q"):
                with self.assertRaises(LabError) as ctx:
                    vm.run_in_vm(fake, ["true"], "pristine", out_dir=out)
        self.assertIn("contains a space", str(ctx.exception))


class KernelSource(unittest.TestCase):
    def test_a_directory_that_is_not_a_kernel_tree(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(LabError) as ctx:
                source.resolve_source(d)
        self.assertIn(d, str(ctx.exception))


if __name__ == "__main__":
    os.environ.setdefault("IBODP_RESULTS", tempfile.mkdtemp())
    unittest.main()
