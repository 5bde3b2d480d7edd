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
