# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""How odplab test reads rdma-core's suite outcomes."""

import unittest
from unittest import mock

from odplab import testcmd

N = testcmd.PYVERBS_RERUNS
RACE = "tests.test_cq.CQTest.test_resize_cq"


class Unsupported(unittest.TestCase):
    def test_eopnotsupp_at_registration_is_a_skip_with_the_reason(self):
        detail = ("Traceback ...\npyverbs.pyverbs_error.PyverbsRDMAError: "
                  "Failed to register a MR. length: 1024, access flags: 193."
                  " Errno: 95, Operation not supported\n")
        reason = testcmd._unsupported({"outcome": "error", "detail": detail})
        self.assertIn("access flags: 193", reason)
        self.assertIn("EOPNOTSUPP", reason)

    def test_other_errors_and_failures_stay_failures(self):
        self.assertIsNone(testcmd._unsupported(
            {"outcome": "error", "detail": "PyverbsRDMAError: Failed. "
             "Errno: 22, Invalid argument"}))
        self.assertIsNone(testcmd._unsupported(
            {"outcome": "fail", "detail": "Errno: 95, Operation not "
             "supported"}))


class RerunVerdict(unittest.TestCase):
    def test_a_test_patched_never_passes_is_lost(self):
        lost, p = testcmd.rerun_verdict(N, 0, N)
        self.assertTrue(lost)
        self.assertLess(p, 0.001)

    def test_a_race_both_kernels_lose_alike_is_not_lost(self):
        self.assertFalse(testcmd.rerun_verdict(N - 1, N - 1, N)[0])
        self.assertFalse(testcmd.rerun_verdict(N, N - 1, N)[0])
        self.assertFalse(testcmd.rerun_verdict(0, 0, N)[0])

    def test_patched_passing_more_often_is_not_lost(self):
        self.assertFalse(testcmd.rerun_verdict(2, N, N)[0])

    def test_patched_failing_half_the_time_is_lost(self):
        self.assertTrue(testcmd.rerun_verdict(N, N // 2, N)[0])


def _suite(**outcomes):
    return {f"tests.{k}": {"outcome": v, "detail": ""}
            for k, v in outcomes.items()}


class Checks(unittest.TestCase):
    """pyverbs_checks with the guest runs replaced by fixed outcomes."""

    def run_checks(self, base, cand, reruns=None):
        tally = testcmd.Tally()
        runs = {"pristine": base, "patched": cand}
        reruns = reruns or {}
        with mock.patch.object(testcmd, "pyverbs_run",
                               lambda s, v, t: runs[v]), \
                mock.patch.object(testcmd, "pyverbs_rerun",
                                  lambda s, v, ids, t: reruns[v]), \
                mock.patch.object(testcmd, "step"), \
                mock.patch.object(testcmd, "info"):
            testcmd.pyverbs_checks(None, ["pristine", "patched"], tally)
        return tally

    def test_no_loss_needs_no_rerun(self):
        both = _suite(a="pass", b="skip")
        tally = self.run_checks(both, both)
        self.assertEqual((tally.passed, tally.failed), (1, 0))
        self.assertEqual(tally.notes, [])

    def test_a_loss_both_kernels_repeat_is_a_named_flaky_pass(self):
        tally = self.run_checks(
            _suite(a="pass", **{"test_cq.CQTest.test_resize_cq": "pass"}),
            _suite(a="pass", **{"test_cq.CQTest.test_resize_cq": "fail"}),
            {"pristine": {RACE: N - 1}, "patched": {RACE: N - 1}})
        self.assertEqual((tally.passed, tally.failed), (1, 0))
        self.assertEqual(len(tally.notes), 1)
        self.assertIn(RACE, tally.notes[0])
        self.assertIn(f"{N - 1}/{N} on pristine", tally.notes[0])

    def test_a_loss_the_reruns_confirm_fails(self):
        tally = self.run_checks(
            _suite(**{"test_cq.CQTest.test_resize_cq": "pass"}),
            _suite(**{"test_cq.CQTest.test_resize_cq": "error"}),
            {"pristine": {RACE: N}, "patched": {RACE: 0}})
        self.assertEqual(tally.failed, 1)
        self.assertIn(RACE, tally.failures[0])
        self.assertIn(f"0/{N} on patched", tally.failures[0])

    def test_reruns_that_did_not_run_fail_the_check(self):
        tally = self.run_checks(
            _suite(a="pass"), _suite(a="fail"),
            {"pristine": {"tests.a": N}, "patched": None})
        self.assertEqual(tally.failed, 1)
        self.assertIn("did not run", tally.failures[0])

    def test_many_losses_fail_without_reruns(self):
        many = testcmd.PYVERBS_MAX_RERUN + 1
        tally = self.run_checks(
            {f"t{i}": {"outcome": "pass"} for i in range(many)},
            {f"t{i}": {"outcome": "fail"} for i in range(many)})
        self.assertEqual(tally.failed, 1)


if __name__ == "__main__":
    unittest.main()
