# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Two odplab processes never build in one worktree at once: the second
waits, says so, and uses the first's kernel."""

import contextlib
import io
import json
import multiprocessing
import os
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from odplab import kernel
from odplab.common import LabError, file_lock, sha256_file
from odplab.source import SourceTree

SOURCE = SourceTree(repo=Path("/nonexistent"), slug="s", description="d",
                    tree_id="t1", version="7.3.4")
HOLD_SECONDS = 1.5


def _fake_build(started):
    """A _build that takes HOLD_SECONDS and stores a fake kernel."""
    def build(_source, variant, flavour, _jobs, what):
        key, directory, _frags, _patches = what
        started.set()
        time.sleep(HOLD_SECONDS)
        (Path(os.environ["IBODP_CACHE"]) / f"done-{key[:8]}").touch()
        directory.mkdir(parents=True)
        (directory / "bzImage").write_bytes(b"fake " + key.encode())
        (directory / "manifest.json").write_text(json.dumps({
            "key": key, "variant": variant, "flavour": flavour,
            "builder_pid": os.getpid(),
            "bzimage_sha256": sha256_file(directory / "bzImage")}))
        return kernel._cached(directory)  # pylint: disable=protected-access
    return build


def _first(cache, source, started):
    os.environ["IBODP_CACHE"] = cache
    with mock.patch.object(kernel, "_build", _fake_build(started)), \
            contextlib.redirect_stdout(io.StringIO()):
        kernel.ensure_kernel(source, "pristine")


def _hold(path, started):
    with file_lock(path, "holding it for a test"):
        started.set()
        time.sleep(HOLD_SECONDS)


class BuildLock(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.cache = self.tmp.name
        self.env = mock.patch.dict(os.environ, {"IBODP_CACHE": self.cache})
        self.env.start()
        self.ctx = multiprocessing.get_context("fork")

    def tearDown(self):
        self.env.stop()
        self.tmp.cleanup()

    def start(self, target, *args):
        started = self.ctx.Event()
        proc = self.ctx.Process(target=target, args=(*args, started))
        proc.start()
        self.assertTrue(started.wait(30), "the first process never started")
        return proc

    def test_second_process_waits_and_says_so(self):
        path = Path(self.cache) / "locks" / "x.lock"
        proc = self.start(_hold, path)
        out = io.StringIO()
        t0 = time.monotonic()
        with contextlib.redirect_stdout(out), file_lock(path, "a test"):
            waited = time.monotonic() - t0
        proc.join()
        self.assertGreater(waited, HOLD_SECONDS / 2)
        self.assertIn(f"waiting: {path} is held by odplab pid {proc.pid} "
                      "(holding it for a test)", out.getvalue())

    def test_free_lock_does_not_wait(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), \
                file_lock(Path(self.cache) / "y.lock", "a test"):
            pass
        self.assertEqual(out.getvalue(), "")

    def test_second_build_uses_the_firsts_kernel(self):
        proc = self.start(_first, self.cache, SOURCE)

        def must_not_build(*_args):
            raise AssertionError("the second process built the kernel too")

        out = io.StringIO()
        with mock.patch.object(kernel, "_build", must_not_build), \
                contextlib.redirect_stdout(out):
            k = kernel.ensure_kernel(SOURCE, "pristine")
        proc.join()
        self.assertEqual(proc.exitcode, 0)
        self.assertEqual(k.manifest["builder_pid"], proc.pid)
        self.assertIn("waiting:", out.getvalue())
        self.assertIn("built meanwhile by another odplab", out.getvalue())

    def test_another_key_waits_for_the_worktree(self):
        """Two kernels of one variant and flavour (another source tree, so
        another key) share a worktree: the second build starts after the
        first has ended."""
        other = SourceTree(repo=SOURCE.repo, slug=SOURCE.slug,
                           description="d", tree_id="t2", version="7.3.4")
        proc = self.start(_first, self.cache, other)
        first_key = kernel.kernel_key(
            other, kernel.kconfig.fragments("default"),
            kernel.variant_patches("pristine"))
        done = Path(self.cache) / f"done-{first_key[:8]}"
        seen = []

        def build(*args):
            seen.append(done.exists())
            return _fake_build(self.ctx.Event())(*args)

        out = io.StringIO()
        with mock.patch.object(kernel, "_build", build), \
                contextlib.redirect_stdout(out):
            kernel.ensure_kernel(SOURCE, "pristine")
        proc.join()
        self.assertEqual(seen, [True], "the second build did not wait")
        self.assertIn("worktree", out.getvalue())


class LockErrors(unittest.TestCase):
    def test_unwritable_lock_directory_names_the_fix(self):
        with tempfile.TemporaryDirectory() as d:
            blocker = Path(d) / "locks"
            blocker.write_text("a file where the directory should be")
            with self.assertRaises(LabError) as e, \
                    file_lock(blocker / "x.lock", "a test"):
                pass
        self.assertIn("IBODP_CACHE", str(e.exception))


if __name__ == "__main__":
    unittest.main()
