# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""How odplab test reads rdma-core's suite outcomes."""

import unittest
from odplab import pyverbs

N = pyverbs.RERUNS
RACE = "tests.test_cq.CQTest.test_resize_cq"


def _error(exc_type, errno_value, message="Failed to register a MR. "
           "length: 1024, access flags: 193."):
    return {"outcome": "error", "detail": "Traceback ...",
            "exception": {"type": exc_type, "message": message,
                          "errno": errno_value}}


class Unsupported(unittest.TestCase):
    def test_eopnotsupp_at_registration_is_a_skip_with_the_reason(self):
        reason = pyverbs.unsupported(_error("PyverbsRDMAError", 95))
        self.assertIn("access flags: 193", reason)
        self.assertIn("EOPNOTSUPP", reason)

    def test_other_errors_and_failures_stay_failures(self):
        self.assertIsNone(pyverbs.unsupported(
            _error("PyverbsRDMAError", 22)))
        self.assertIsNone(pyverbs.unsupported(_error("OSError", 95)))
        self.assertIsNone(pyverbs.unsupported(
            {"outcome": "fail", "detail": "Errno: 95, Operation not "
             "supported"}))

    def test_an_outcome_without_the_exception_is_not_a_skip(self):
        self.assertIsNone(pyverbs.unsupported(
            {"outcome": "error", "detail": "PyverbsRDMAError: Failed. "
             "Errno: 95, Operation not supported"}))


class RerunVerdict(unittest.TestCase):
    def test_a_test_patched_never_passes_is_lost(self):
        lost, p = pyverbs.rerun_verdict(N, 0, N)
        self.assertTrue(lost)
        self.assertLess(p, 0.001)

    def test_a_race_both_kernels_lose_alike_is_not_lost(self):
        self.assertFalse(pyverbs.rerun_verdict(N - 1, N - 1, N)[0])
        self.assertFalse(pyverbs.rerun_verdict(N, N - 1, N)[0])
        self.assertFalse(pyverbs.rerun_verdict(0, 0, N)[0])

    def test_patched_passing_more_often_is_not_lost(self):
        self.assertFalse(pyverbs.rerun_verdict(2, N, N)[0])

    def test_patched_failing_half_the_time_is_lost(self):
        self.assertTrue(pyverbs.rerun_verdict(N, N // 2, N)[0])


def _suite(**outcomes):
    return {f"tests.{k}": {"outcome": v, "detail": ""}
            for k, v in outcomes.items()}


class Judge(unittest.TestCase):
    """pyverbs.judge with the reruns replaced by fixed pass counts."""

    def judge(self, base, cand, reruns=None):
        reruns = reruns or {}
        asked = []

        def rerun(variant, tests):
            asked.append((variant, tests))
            return reruns[variant]
        result = pyverbs.judge(base, cand, rerun)
        return result, asked

    def test_no_loss_needs_no_rerun(self):
        both = _suite(a="pass", b="skip")
        (ok, _, notes), asked = self.judge(both, both)
        self.assertTrue(ok)
        self.assertEqual((notes, asked), ([], []))

    def test_a_loss_both_kernels_repeat_is_a_named_flaky_pass(self):
        (ok, _, notes), asked = self.judge(
            _suite(a="pass", **{"test_cq.CQTest.test_resize_cq": "pass"}),
            _suite(a="pass", **{"test_cq.CQTest.test_resize_cq": "fail"}),
            {"pristine": {RACE: N - 1}, "patched": {RACE: N - 1}})
        self.assertTrue(ok)
        self.assertEqual(len(notes), 1)
        self.assertIn(RACE, notes[0])
        self.assertIn(f"{N - 1}/{N} on pristine", notes[0])
        self.assertEqual(asked, [("pristine", [RACE]), ("patched", [RACE])])

    def test_a_loss_the_reruns_confirm_fails(self):
        (ok, detail, _), _ = self.judge(
            _suite(**{"test_cq.CQTest.test_resize_cq": "pass"}),
            _suite(**{"test_cq.CQTest.test_resize_cq": "error"}),
            {"pristine": {RACE: N}, "patched": {RACE: 0}})
        self.assertFalse(ok)
        self.assertIn(RACE, detail)
        self.assertIn(f"0/{N} on patched", detail)

    def test_reruns_that_did_not_run_fail_the_check(self):
        (ok, detail, _), _ = self.judge(
            _suite(a="pass"), _suite(a="fail"),
            {"pristine": {"tests.a": N}, "patched": None})
        self.assertFalse(ok)
        self.assertIn("did not run", detail)

    def test_many_losses_fail_without_reruns(self):
        many = pyverbs.MAX_RERUN + 1
        (ok, _, _), asked = self.judge(
            {f"t{i}": {"outcome": "pass"} for i in range(many)},
            {f"t{i}": {"outcome": "fail"} for i in range(many)})
        self.assertFalse(ok)
        self.assertEqual(asked, [])


if __name__ == "__main__":
    unittest.main()
