# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""How odplab test reads rdma-core's suite outcomes."""

import unittest

from odplab import testcmd


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


if __name__ == "__main__":
    unittest.main()
