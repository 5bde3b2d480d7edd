# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Which kernels `odplab test` and `odplab kernel build` act on for each
--variant: the planted kernel is built like any other, and tested only by
the checks it must fail."""

import io
import os
import signal
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from odplab import cli, deps, kernel, runcmd, testcmd


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


def _assert_refused_with_host(test, args, message):
    """odplab run --host ARGS exits non-zero before any host run, saying
    `message`."""
    with mock.patch.object(deps, "ensure_packages"), \
            mock.patch.object(runcmd, "run_host") as run_host, \
            mock.patch("sys.stderr", new_callable=io.StringIO) as err:
        rc = cli.main(["run", "--host", *args])
    test.assertNotEqual(rc, 0)
    run_host.assert_not_called()
    test.assertIn(message, err.getvalue())


class SameKernelRun(unittest.TestCase):
    """odplab run --same-kernel pristine: two boots of pristine, each in
    its own directory, compared with pristine's expectations on both
    sides; refused with --host."""

    def run_lab(self, **kwargs):
        """runcmd.run with the boots and the comparison stubbed: the
        run_variant and write_comparison mocks, and the exit status."""
        with tempfile.TemporaryDirectory() as out, \
                mock.patch.object(runcmd, "build_userspace"), \
                mock.patch.object(runcmd, "check_perftest_args",
                                  return_value=1), \
                mock.patch.object(kernel, "ensure_kernel"), \
                mock.patch.object(runcmd, "run_variant") as run_variant, \
                mock.patch.object(runcmd, "write_comparison",
                                  return_value=(None, [])) as write:
            run_variant.return_value.exit_code = 0
            rc = runcmd.run("src", out=out, **kwargs)
        return run_variant, write, rc

    def test_two_boots_of_one_kernel_compared_as_that_kernel(self):
        run_variant, write, rc = self.run_lab(same_kernel="pristine")
        self.assertEqual(rc, 0)
        self.assertEqual(
            [(c.args[1], c.kwargs["label"]) for c in run_variant.call_args_list],
            [("pristine", "pristine-boot1"), ("pristine", "pristine-boot2")])
        self.assertEqual(write.call_args.args[1:],
                         (("pristine-boot1", "pristine-boot2"),
                          (False, False)))

    def test_the_default_run_compares_pristine_with_patched(self):
        _, write, _ = self.run_lab()
        self.assertEqual(write.call_args.args[1:],
                         (("pristine", "patched"), (False, True)))

    def test_with_host_is_refused(self):
        _assert_refused_with_host(self, ["--same-kernel", "pristine"],
                                  "--same-kernel boots a lab kernel twice")


class NodesRun(unittest.TestCase):
    """odplab run --nodes 2: each kernel in two guests, the report in the
    client's (node 1's) results, no odp-prefetch; refused with --host."""

    def test_two_nodes_reach_the_boots_and_the_comparison(self):
        with tempfile.TemporaryDirectory() as out, \
                mock.patch.object(runcmd, "build_userspace"), \
                mock.patch.object(runcmd, "check_perftest_args",
                                  return_value=1) as check, \
                mock.patch.object(kernel, "ensure_kernel"), \
                mock.patch.object(runcmd, "run_variant") as run_variant, \
                mock.patch.object(runcmd, "write_comparison",
                                  return_value=(None, [])) as write:
            run_variant.return_value.exit_code = 0
            rc = runcmd.run("src", preset="quick", out=out, nodes=2,
                            extra=["--events=none,fork"])
        self.assertEqual(rc, 0)
        self.assertEqual(check.call_args.args[1], [
            *runcmd.NODES_ARGS, "--backgrounds=none", "--events=none,fork"])
        self.assertEqual({c.kwargs["nodes"] for c in
                          run_variant.call_args_list}, {2})
        self.assertEqual(write.call_args.kwargs["nodes"], 2)

    def test_the_report_is_the_clients(self):
        out = Path("/r")
        self.assertEqual(runcmd.report_dir(out, "patched", 2),
                         Path("/r/patched/node1"))
        self.assertEqual(runcmd.report_dir(out, "patched"),
                         Path("/r/patched"))
        self.assertEqual(runcmd.node_args("default", 2), [
            "--registration=odp,pinned",
            "--points=write/msg=1048576/mr=67108864/pages=1/event=none/"
            "period=1,write/msg=1048576/mr=67108864/pages=1/"
            "event=madvise-dontneed/period=1"])
        self.assertEqual(runcmd.node_args("quick", 1), [])

    def test_with_host_is_refused(self):
        _assert_refused_with_host(self, ["--nodes", "2"],
                                  "--nodes 2 boots two lab guests")


class Signals(unittest.TestCase):
    def test_sigterm_runs_the_ctrl_c_clean_up_and_exits_143(self):
        # What vm.run_in_vm does with its QEMU on KeyboardInterrupt must
        # happen on SIGTERM too, or a killed odplab leaves the guest running.
        cleaned = []

        def run_all(*_args, **_kwargs):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
            except KeyboardInterrupt:
                cleaned.append("qemu killed")
                raise
            return 0
        before = signal.getsignal(signal.SIGTERM)
        with mock.patch.object(deps, "ensure_packages"), \
                mock.patch.object(cli, "_source"), \
                mock.patch.object(testcmd, "run_all", run_all), \
                mock.patch("sys.stderr", new_callable=io.StringIO) as err:
            t0 = time.monotonic()
            self.assertEqual(cli.main(["test"]), 143)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(cleaned, ["qemu killed"])
        self.assertIn("odplab: terminated", err.getvalue())
        self.assertIs(signal.getsignal(signal.SIGTERM), before)
