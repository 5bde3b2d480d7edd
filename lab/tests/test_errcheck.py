# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""How `odplab test` judges the guest's error cases."""

import unittest
from pathlib import Path

from odplab.errcheck import Case, cases, judge

CASE = Case("missing device", ["perftest"], 2, ("not found", "rxe0"))


class Judge(unittest.TestCase):
    def test_right_status_and_words_pass(self):
        ok, _ = judge(CASE, {"exit": 2, "stderr": "x not found; rxe0"})
        self.assertTrue(ok)

    def test_wrong_status_fails(self):
        ok, detail = judge(CASE, {"exit": 0, "stderr": "not found rxe0"})
        self.assertFalse(ok)
        self.assertIn("exit 0 (want 2)", detail)

    def test_missing_word_fails_and_is_named(self):
        ok, detail = judge(CASE, {"exit": 2, "stderr": "not found"})
        self.assertFalse(ok)
        self.assertIn("['rxe0']", detail)

    def test_setup_failure_fails(self):
        ok, detail = judge(CASE, {"setup_error": "rdma link add failed"})
        self.assertFalse(ok)
        self.assertIn("rdma link add failed", detail)

    def test_timeout_fails(self):
        self.assertFalse(judge(CASE, {"exit": None, "timeout": True})[0])


class Cases(unittest.TestCase):
    def test_every_case_expects_status_2_and_a_cause(self):
        for c in cases(Path("/p/perftest"), Path("/out")):
            self.assertEqual(c.want_exit, 2, c.name)
            self.assertTrue(c.want_words, c.name)
            self.assertEqual(c.argv.count("/p/perftest"), 1, c.name)


if __name__ == "__main__":
    unittest.main()
