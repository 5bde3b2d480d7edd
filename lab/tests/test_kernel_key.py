# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The cache key changes with every input of a kernel build, and only then."""

import tempfile
import unittest
from pathlib import Path

from odplab.kernel import kernel_key
from odplab.source import SourceTree


def tree(tree_id):
    return SourceTree(repo=Path("/nonexistent"), slug="s", description="d",
                      tree_id=tree_id, version="7.3.4")


class KernelKey(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = Path(self.tmp.name)
        self.frag = d / "a.config"
        self.frag.write_text("CONFIG_A=y\n")
        self.patch = d / "0001-x.patch"
        self.patch.write_text("diff\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_stable(self):
        self.assertEqual(kernel_key(tree("t1"), [self.frag], [self.patch]),
                         kernel_key(tree("t1"), [self.frag], [self.patch]))

    def test_each_input_changes_it(self):
        base = kernel_key(tree("t1"), [self.frag], [self.patch])
        self.assertNotEqual(base, kernel_key(tree("t2"), [self.frag],
                                             [self.patch]))
        self.assertNotEqual(base, kernel_key(tree("t1"), [self.frag], []))
        self.patch.write_text("diff changed\n")
        self.assertNotEqual(base, kernel_key(tree("t1"), [self.frag],
                                             [self.patch]))
        self.patch.write_text("diff\n")
        self.frag.write_text("CONFIG_A=n\n")
        self.assertNotEqual(base, kernel_key(tree("t1"), [self.frag],
                                             [self.patch]))


if __name__ == "__main__":
    unittest.main()
