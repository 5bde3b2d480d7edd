# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Series order and patch failures, on a small git repository."""

import subprocess
import tempfile
import unittest
from pathlib import Path

from odplab.common import LabError
from odplab.patches import apply_series, series

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]


def git(repo, *args):
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


class Series(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_sorted_without_cover_letter(self):
        for name in ("0002-b.patch", "0000-cover-letter.patch",
                     "0001-a.patch", "notes.txt"):
            (self.dir / name).write_text("x")
        self.assertEqual([p.name for p in series(self.dir)],
                         ["0001-a.patch", "0002-b.patch"])

    def test_series_file_order(self):
        for name in ("0001-a.patch", "0002-b.patch"):
            (self.dir / name).write_text("x")
        (self.dir / "series").write_text("# order\n0002-b.patch\n"
                                         "0001-a.patch  # second\n")
        self.assertEqual([p.name for p in series(self.dir)],
                         ["0002-b.patch", "0001-a.patch"])

    def test_series_file_naming_missing_patch(self):
        (self.dir / "series").write_text("0001-gone.patch\n")
        with self.assertRaisesRegex(LabError, "0001-gone.patch"):
            series(self.dir)

    def test_missing_directory_is_empty(self):
        self.assertEqual(series(self.dir / "absent"), [])


class ApplySeries(unittest.TestCase):
    """A format-patch series made against one tree, applied to another."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        self.repo = root / "repo"
        self.repo.mkdir()
        git(self.repo, "init", "-q", "-b", "main")
        lines = [f"line {i}\n" for i in range(1, 41)]
        (self.repo / "rxe_odp.c").write_text("".join(lines))
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "-m", "base")
        git(self.repo, "tag", "base")
        # Two patches: the second edits line 30.
        lines[4] = "line 5 changed\n"
        (self.repo / "rxe_odp.c").write_text("".join(lines))
        git(self.repo, "commit", "-q", "-am", "first")
        lines[29] = "line 30 changed\n"
        (self.repo / "rxe_odp.c").write_text("".join(lines))
        git(self.repo, "commit", "-q", "-am", "second")
        self.patch_dir = root / "rxe-patches"
        git(self.repo, "format-patch", "-q", "-o", str(self.patch_dir),
            "base..HEAD")
        git(self.repo, "checkout", "-q", "--detach", "base")

    def tearDown(self):
        self.tmp.cleanup()

    def test_applies_in_order(self):
        apply_series(self.repo, series(self.patch_dir), "test base")
        text = (self.repo / "rxe_odp.c").read_text()
        self.assertIn("line 5 changed", text)
        self.assertIn("line 30 changed", text)

    def test_failure_names_patch_file_and_hunk(self):
        # The base drifts under the second patch's hunk.
        lines = (self.repo / "rxe_odp.c").read_text().splitlines(True)
        lines[28:31] = ["drifted\n"] * 3
        (self.repo / "rxe_odp.c").write_text("".join(lines))
        git(self.repo, "commit", "-q", "-am", "drift")
        with self.assertRaises(LabError) as ctx:
            apply_series(self.repo, series(self.patch_dir), "test base")
        msg = str(ctx.exception)
        self.assertIn("patch 2/2", msg)
        self.assertIn("0002-second.patch", msg)
        self.assertRegex(msg, r"hunk at rxe_odp\.c line \d+ does not apply")
        # The first patch stays applied; no git am is left in progress.
        self.assertIn("line 5 changed", (self.repo / "rxe_odp.c").read_text())
        self.assertFalse((self.repo / ".git" / "rebase-apply").exists())


if __name__ == "__main__":
    unittest.main()
