# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Which kernels `odplab test` and `odplab kernel build` act on for each
--variant: the planted kernel is built like any other, and tested only by
the checks it must fail."""

import unittest
from unittest import mock

from odplab import cli, deps, kernel, testcmd


class Variants(unittest.TestCase):
    def setUp(self):
        for target, name in ((deps, "ensure_packages"), (cli, "_source")):
            patcher = mock.patch.object(target, name)
            patcher.start()
            self.addCleanup(patcher.stop)

    def run_test(self, *argv):
        with mock.patch.object(testcmd, "run_all", return_value=0) as run:
            cli.main(["test", *argv])
        return run.call_args

    def test_all_runs_the_compared_kernels_the_reproducers_and_planted(self):
        call = self.run_test()
        self.assertEqual(list(call.args[1]), list(kernel.COMPARED))
        self.assertTrue(call.kwargs["reproducers"])
        self.assertTrue(call.kwargs["planted"])

    def test_planted_runs_only_the_planted_checks(self):
        call = self.run_test("--variant", "planted")
        self.assertEqual(list(call.args[1]), [])
        self.assertFalse(call.kwargs["reproducers"])
        self.assertTrue(call.kwargs["planted"])

    def test_no_planted_leaves_it_out(self):
        self.assertFalse(self.run_test("--no-planted").kwargs["planted"])

    def test_one_compared_kernel_runs_no_planted_check(self):
        call = self.run_test("--variant", "pristine")
        self.assertEqual(list(call.args[1]), ["pristine"])
        self.assertFalse(call.kwargs["planted"])

    def test_k_selects_checks(self):
        call = self.run_test("-k", "storm and pristine")
        self.assertEqual(call.kwargs["select"], "storm and pristine")
        self.assertIsNone(self.run_test().kwargs["select"])

    def test_kernel_build_builds_the_planted_kernel(self):
        with mock.patch.object(kernel, "ensure_kernel") as ensure:
            cli.main(["kernel", "build", "--variant", "planted"])
        self.assertEqual([c.args[1] for c in ensure.call_args_list],
                         ["planted"])


class Modules(unittest.TestCase):
    """Which suite modules run for which selection."""

    def test_all_runs_every_module(self):
        mods = testcmd.modules(list(kernel.COMPARED))
        self.assertEqual(sorted(mods), sorted(
            p.name for p in testcmd.SUITE.glob("test_*.py")))

    def test_planted_alone_runs_no_compared_kernel_check(self):
        mods = testcmd.modules([], selftests=True, reproducers=False,
                               planted=True)
        self.assertEqual(mods, ["test_host.py", "test_patches.py",
                                "test_planted.py"])

    def test_one_kernel_runs_no_comparison(self):
        mods = testcmd.modules(["patched"], reproducers=False,
                               planted=False)
        self.assertNotIn("test_reports.py", mods)
        self.assertNotIn("test_selftests.py", mods)  # they boot pristine
        self.assertIn("test_guest.py", mods)


if __name__ == "__main__":
    unittest.main()
