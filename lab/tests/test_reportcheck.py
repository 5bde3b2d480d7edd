# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""reportcheck: the per-event promises and the Markdown-vs-JSON check."""

import unittest

from odplab import compare, expect, reportcheck
from tests.test_compare import (FAULTS_PATCHED, FAULTS_PRISTINE, P50, _scenario,
                                report)


class ExpectedFaults(unittest.TestCase):
    def test_a_message_faults_every_page_it_spans(self):
        """A 1 MiB WRITE after MADV_DONTNEED faults its 256 pages, a READ
        of 16 slots of 4 KiB after soft-dirty 16 pages or none."""
        big = _scenario("madvise-dontneed", mr=64 << 20, op="write", pages=1)
        big["msg_size"] = 1 << 20
        self.assertEqual(expect.expected_faults(big, keeps=True), 256)
        small = _scenario("soft-dirty")
        self.assertEqual(expect.expected_faults(small, keeps=False), 16)
        self.assertEqual(expect.expected_faults(small, keeps=True), 0)
        odd = dict(small, msg_size=4097, pages=2)
        self.assertEqual(expect.pages_per_op(odd), 4)


class Expectations(unittest.TestCase):
    def test_kept_and_dropped_events(self):
        comp = compare.compare(report(P50, FAULTS_PRISTINE),
                               report(P50, FAULTS_PATCHED))
        checks = reportcheck.expectation_checks(comp)
        self.assertEqual(len(checks), 3)  # none, soft-dirty, dontneed
        self.assertTrue(all(ok for _, ok, _ in checks), checks)

    def test_a_wrong_classification_in_the_report_fails(self):
        """What events.cc states reaches the check through the report: a
        soft-dirty stated as dropping pages expects patched to fault."""
        a, b = report(P50, FAULTS_PRISTINE), report(P50, FAULTS_PATCHED)
        for r in a["results"] + b["results"]:
            if r["scenario"]["event"] == "soft-dirty":
                r["scenario"]["event_facts"]["write_protect_only"] = False
        failed = [n for n, ok, _ in reportcheck.expectation_checks(
            compare.compare(a, b)) if not ok]
        self.assertEqual(len(failed), 1, failed)
        self.assertIn("soft-dirty", failed[0])

    def test_a_patched_kernel_that_still_faults_fails(self):
        comp = compare.compare(report(P50, FAULTS_PRISTINE),
                               report(P50, FAULTS_PRISTINE))
        failed = [n for n, ok, _ in reportcheck.expectation_checks(comp)
                  if not ok]
        self.assertEqual(len(failed), 1)
        self.assertIn("soft-dirty", failed[0])

    def test_two_boots_of_pristine_expect_pristine_on_both_sides(self):
        """odplab run --same-kernel pristine: both reports must fault on
        every page; a side that kept pages fails."""
        comp = compare.compare(report(P50, FAULTS_PRISTINE),
                               report(P50, FAULTS_PRISTINE))
        same = reportcheck.expectation_checks(comp, keeps=(False, False))
        self.assertTrue(all(ok for _, ok, _ in same), same)
        comp = compare.compare(report(P50, FAULTS_PRISTINE),
                               report(P50, FAULTS_PATCHED))
        failed = [n for n, ok, _ in reportcheck.expectation_checks(
            comp, keeps=(False, False)) if not ok]
        self.assertEqual(len(failed), 1, failed)
        self.assertIn("soft-dirty", failed[0])


class Clock(unittest.TestCase):
    def test_a_jiffies_clock_fails_and_tsc_passes(self):
        a, b = report(P50, FAULTS_PRISTINE), report(P50, FAULTS_PATCHED)
        a["context"]["extra"].update(clocksource="refined-jiffies",
                                     online_cpus="0", cpu_affinity="0")
        b["context"]["extra"].update(clocksource="tsc", online_cpus="0-1",
                                     cpu_affinity="0")
        checks = reportcheck.clock_checks(compare.compare(a, b))
        self.assertEqual([ok for _, ok, _ in checks], [False, True])
        self.assertIn("clocksource refined-jiffies", checks[0][2])


class MarkdownAgainstJson(unittest.TestCase):
    def setUp(self):
        self.a = report(P50, FAULTS_PRISTINE, mrs=(1 << 20, 64 << 20))
        self.b = report(P50, FAULTS_PATCHED, mrs=(1 << 20, 64 << 20))
        self.md = compare.to_markdown(compare.compare(self.a, self.b))

    def test_matches(self):
        self.assertEqual(
            reportcheck.markdown_mismatches(self.md, self.a, self.b), [])

    def test_a_changed_cell_is_found(self):
        name = self.a["results"][1]["scenario"]["name"]
        line = next(x for x in self.md.splitlines() if f"| {name} |" in x)
        bad = line.replace("| 16.00 |", "| 15.00 |", 1)
        problems = reportcheck.markdown_mismatches(
            self.md.replace(line, bad), self.a, self.b)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("column 1: table '15.00', JSON 16.00", problems[0])

    def test_a_missing_row_is_found(self):
        name = self.a["results"][0]["scenario"]["name"]
        md = "\n".join(x for x in self.md.splitlines()
                       if f"| {name} |" not in x)
        self.assertEqual(reportcheck.markdown_mismatches(md, self.a, self.b),
                         [f"{name}: not in the Markdown table"])


if __name__ == "__main__":
    unittest.main()
