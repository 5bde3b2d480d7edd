# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The guests' rdma-core and perftest builds: fetched by pinned hash,
counted as built only once their manifest is written, and handed to the
guest through its environment."""

import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path
from unittest import mock

from odplab import rdmauser, source, vm
from odplab.common import LabError


def _tarball(path, top, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Cached(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.cache = Path(self.tmp.name) / "cache"
        patcher = mock.patch.dict(os.environ, {"IBODP_CACHE": str(self.cache)})
        patcher.start()
        self.addCleanup(patcher.stop)
        # A mirror with one package's orig tarball in Debian's pool layout.
        mirror = Path(self.tmp.name) / "mirror"
        pool = mirror / "pool" / "main" / "d" / "demo"
        pool.mkdir(parents=True)
        sha = _tarball(pool / "demo_1.0.orig.tar.gz", "demo-abc123",
                       {"README": "demo\n"})
        self.pkg = rdmauser.Package("demo", "1.0", sha)
        patcher = mock.patch.object(source, "mirror",
                                    return_value=f"file://{mirror}")
        patcher.start()
        self.addCleanup(patcher.stop)
        self.builds = 0

    def build(self, top, log):
        del log
        self.builds += 1
        rdmauser._unpack(rdmauser._download(self.pkg), top / "src")  # pylint: disable=protected-access

    def ensure(self, build=None, parts=()):
        with redirect_stdout(io.StringIO()):
            return rdmauser._ensure(self.pkg, list(parts),  # pylint: disable=protected-access
                                    build or self.build, 1)

    def test_builds_once_and_unpacks_the_single_top_directory(self):
        top = self.ensure()
        self.assertEqual((top / "src" / "README").read_text(), "demo\n")
        self.assertTrue((top / rdmauser.MANIFEST).exists())
        self.assertEqual(self.ensure(), top)
        self.assertEqual(self.builds, 1)

    def test_the_key_follows_the_build_options(self):
        self.assertNotEqual(self.ensure(parts=[("cmake", "-DA=1")]),
                            self.ensure(parts=[("cmake", "-DA=2")]))

    def test_a_failed_build_leaves_nothing_that_counts_as_built(self):
        def broken(top, log):
            (top / "half").write_text("x")
            del log
            raise LabError("compiler died")
        with self.assertRaises(LabError):
            self.ensure(build=broken)
        self.assertFalse(list((self.cache / "userspace").iterdir()))
        self.ensure()
        self.assertEqual(self.builds, 1)

    def test_an_interrupted_build_is_removed_and_built_again(self):
        top = self.ensure()
        (top / rdmauser.MANIFEST).unlink()
        (top / "stale").write_text("x")
        with redirect_stdout(io.StringIO()), \
                mock.patch("sys.stderr", new_callable=io.StringIO) as err:
            again = rdmauser._ensure(self.pkg, [], self.build, 1)  # pylint: disable=protected-access
        self.assertEqual(again, top)
        self.assertFalse((top / "stale").exists())
        self.assertIn("incomplete", err.getvalue())
        self.assertEqual(self.builds, 2)

    def test_a_build_made_elsewhere_is_built_again_here(self):
        top = self.ensure()
        manifest = top / rdmauser.MANIFEST
        data = json.loads(manifest.read_text())
        self.assertEqual(data["top"], str(top))
        data["top"] = "/elsewhere/" + top.name
        manifest.write_text(json.dumps(data))
        with redirect_stdout(io.StringIO()), \
                mock.patch("sys.stderr", new_callable=io.StringIO):
            rdmauser._ensure(self.pkg, [], self.build, 1)  # pylint: disable=protected-access
        self.assertEqual(self.builds, 2)

    def test_a_download_with_another_hash_is_refused_and_deleted(self):
        self.pkg = rdmauser.Package("demo", "1.0", "0" * 64)
        with self.assertRaises(LabError) as ctx, \
                redirect_stdout(io.StringIO()):
            rdmauser._download(self.pkg)  # pylint: disable=protected-access
        self.assertIn("expected " + "0" * 64, str(ctx.exception))
        self.assertIn("lab/odplab/rdmauser.py", str(ctx.exception))
        self.assertFalse(list((self.cache / "downloads").iterdir()))

    def test_a_missing_tarball_names_the_url_and_the_pin(self):
        self.pkg = rdmauser.Package("demo", "2.0", "0" * 64)
        with self.assertRaises(LabError) as ctx, \
                redirect_stdout(io.StringIO()):
            rdmauser._download(self.pkg)  # pylint: disable=protected-access
        self.assertIn("demo_2.0.orig.tar.gz", str(ctx.exception))
        self.assertIn("pin its version", str(ctx.exception))


class GuestEnvironment(unittest.TestCase):
    def test_the_guest_loads_the_build_and_finds_its_tools_first(self):
        user = rdmauser.GuestUserspace(Path("/c/rdma-core-65.0-k"),
                                       Path("/c/perftest-25.01-k"))
        with tempfile.TemporaryDirectory() as d:
            vm._write_command(Path(d), ["sh", "-c", "true"], "/",  # pylint: disable=protected-access
                              user.env(), path=user.path())
            script = (Path(d) / "command.sh").read_text()
        self.assertIn("export LD_LIBRARY_PATH=/c/rdma-core-65.0-k/build/lib\n",
                      script)
        self.assertIn("export IBODP_CONTEXT_RDMA_CORE=65.0\n", script)
        # The shell sees the build's directories before the system's.
        line = next(x for x in script.splitlines()
                    if x.startswith("export PATH="))
        out = subprocess.run(["sh", "-c", f"PATH=/usr/bin:/bin; {line}; "
                              "echo $PATH"], capture_output=True, text=True,
                             check=True).stdout.strip()
        self.assertEqual(out.split(":"), [
            "/c/perftest-25.01-k/bin", "/c/rdma-core-65.0-k/build/bin",
            "/usr/bin", "/bin"])


if __name__ == "__main__":
    unittest.main()
