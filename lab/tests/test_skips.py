# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The skip policy (skips.py) and the reading of gtest's XML reports, on
reports GoogleTest wrote (tests/golden/, README there)."""

import unittest
from pathlib import Path

from odplab import guestjob, skips

GOLDEN = Path(__file__).parent / "golden"


class GtestXml(unittest.TestCase):
    def test_pass_and_skip_with_its_reason(self):
        cases = guestjob.gtest_xml(GOLDEN / "gtest-pass-skip.xml")
        self.assertEqual(cases["Events.UnknownNameListsKnownOnes"].verdict,
                         "PASSED")
        skip = cases["Events.SoftDirtyClearsThePagemapBit"]
        self.assertEqual(skip.verdict, "SKIPPED")
        self.assertEqual(skip.message, "a freshly written page is not "
                         "soft-dirty: this kernel has no CONFIG_MEM_SOFT_DIRTY")

    def test_failure_with_its_message(self):
        case = guestjob.gtest_xml(GOLDEN / "gtest-fail.xml")[
            "OdpSemantics.MprotectNoneRefusesRead"]
        self.assertEqual(case.verdict, "FAILED")
        self.assertIn("no RDMA device found", case.message)

    def test_a_cut_short_report_is_none(self):
        text = (GOLDEN / "gtest-fail.xml").read_text()
        with self.subTest("missing"):
            self.assertIsNone(guestjob.gtest_xml(GOLDEN / "no-such.xml"))
        cut = GOLDEN.parent / "cut.xml.tmp"
        try:
            cut.write_text(text[: len(text) // 2])
            self.assertIsNone(guestjob.gtest_xml(cut))
        finally:
            cut.unlink()


class Policy(unittest.TestCase):
    def test_a_listed_skip_with_its_reason_is_expected(self):
        allowed = skips.expected(
            "pristine", "OdpCounters.NoEvent", "rxe0 has no page_faults in "
            "/sys/class/infiniband/rxe0/ports/1/hw_counters: ...")
        self.assertIsNotNone(allowed)
        self.assertIn("rxe-patches/ 0002", allowed.why)

    def test_the_same_skip_on_patched_is_not(self):
        """patched carries the counter patch: its counters must be there."""
        self.assertIsNone(skips.expected(
            "patched", "OdpCounters.NoEvent", "rxe0 has no page_faults in"))

    def test_a_listed_test_skipping_for_another_reason_is_not(self):
        self.assertIsNone(skips.expected(
            "pristine", "OdpCounters.NoEvent", "no RDMA device"))

    def test_an_unlisted_test_is_not_and_the_message_names_it(self):
        self.assertIsNone(skips.expected("patched", "OdpFaults.SoftDirty",
                                         "profiler unavailable"))
        msg = skips.unexpected_message("patched", "OdpFaults.SoftDirty",
                                       "profiler unavailable")
        self.assertIn("OdpFaults.SoftDirty", msg)
        self.assertIn("skips.py", msg)


if __name__ == "__main__":
    unittest.main()
