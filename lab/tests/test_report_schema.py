# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest's report schema against the golden report the C++ writer's
test keeps, and the lab's fault-count expectations read from it."""

import json
import tempfile
import unittest
from pathlib import Path

from odplab import compare, expect, schema
from odplab.common import LabError
from tests import goldens


class GoldenAgainstSchema(unittest.TestCase):
    def test_the_golden_report_is_valid(self):
        self.assertEqual(schema.report_errors(goldens.golden()), [])

    def test_compare_reads_the_golden_report(self):
        data = compare.load_report(goldens.GOLDEN_REPORT)
        self.assertEqual(data["schema_version"], compare.SCHEMA_VERSION)

    def test_a_broken_field_is_named(self):
        cases = (
            (lambda d: d["results"][3]["scenario"].__setitem__("pages", -1),
             "results[3].scenario.pages"),
            (lambda d: d["results"][0]["scenario"].pop("event_facts"),
             "results[0].scenario: 'event_facts' is a required property"),
            (lambda d: d["results"][1]["scenario"]["event_facts"]
             .__setitem__("notifier_event", "MMU_NOTIFY_SOMETHING"),
             "results[1].scenario.event_facts.notifier_event"),
            (lambda d: d["results"][0]["repetitions"][0]["counters"][1]
             .__setitem__("unavailable_reason", ""),
             "results[0].repetitions[0].counters[1].unavailable_reason"),
            (lambda d: d.__setitem__("extra_top", 1),
             "'extra_top' was unexpected"),
        )
        for mutate, where in cases:
            data = goldens.golden()
            mutate(data)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "r.json"
                path.write_text(json.dumps(data))
                with self.assertRaises(LabError) as cm:
                    compare.load_report(path)
            self.assertIn(where, str(cm.exception))


class FaultExpectationsFromTheReport(unittest.TestCase):
    """The golden report's fault counts are what a kernel that keeps pages
    shows (GoldenReport() in tests/unit/perftest_report_test.cc)."""

    def problems(self, data, keeps):
        return {r["scenario"]["name"]: p for r in data["results"]
                if (p := expect.fault_count_problems(r, keeps))}

    def test_the_golden_counts_are_a_keeping_kernels(self):
        self.assertEqual(self.problems(goldens.golden(), keeps=True), {})

    def test_a_dropping_kernel_is_held_to_faulting_every_read(self):
        data = goldens.golden()
        wp_only = [e for e in goldens.events() if e != "none" and
                   goldens.event_facts(e)["write_protect_only"]]
        self.assertGreaterEqual(len(wp_only), 5, wp_only)
        failed = self.problems(data, keeps=False)
        self.assertEqual(sorted(failed), sorted(
            r["scenario"]["name"] for r in data["results"]
            if r["scenario"]["op"] == "read"
            and r["scenario"]["registration"] == "odp"
            and r["scenario"]["event"] in wp_only))

    def test_a_pinned_mr_never_faults_and_prefetch_has_no_count(self):
        data = goldens.golden()
        alt = [r for r in data["results"]
               if r["scenario"]["registration"] != "odp"]
        self.assertEqual(sorted(r["scenario"]["registration"] for r in alt),
                         ["odp-prefetch", "pinned"])
        for r in alt:
            r["repetitions"][0]["faults_per_op"] = 3.0
        failed = {n for n in self.problems(data, keeps=True)}
        self.assertEqual(failed, {r["scenario"]["name"] for r in alt
                                  if r["scenario"]["registration"] ==
                                  "pinned"})

    def test_a_changed_classification_changes_the_expectation(self):
        data = goldens.golden()
        for r in data["results"]:
            if r["scenario"]["event"] == "mprotect-ro":
                r["scenario"]["event_facts"]["write_protect_only"] = False
        failed = self.problems(data, keeps=True)
        self.assertEqual(list(failed), [
            "read/msg=4096/mr=1048576/pages=16/event=mprotect-ro/period=1"])

    def test_a_failed_scenario_is_a_problem(self):
        data = goldens.golden()
        data["results"][0]["error"] = "ibv_post_send: Invalid argument"
        self.assertIn("failed", expect.fault_count_problems(
            data["results"][0], keeps=True))


def _sources(hw=None, trace=None, prof=None):
    """A repetition's counters: each source given is available."""
    out = []
    for name, values in (("hw_counters", hw), ("tracepoints", trace),
                         ("function-profiler", prof)):
        out.append({"source": name, "available": values is not None,
                    "values": values or {}})
    return {"counters": out}


class CounterDisagreements(unittest.TestCase):
    HW = {"page_faults": 12, "page_prefetch": 4, "page_invalidations": 16,
          "page_write_protections": 0, "page_invalidations_handled": 1}
    TRACE = {"page_faults": 16, "page_faults_handled": 13, "snapshots": 1,
             "page_invalidations": 16, "page_write_protections": 0,
             "page_invalidations_handled": 1}
    PROF = {"ib_umem_odp_map_dma_and_lock": 14,
            "rxe_ib_invalidate_range": 1}

    def test_sources_that_agree(self):
        self.assertEqual(expect.counter_disagreements(
            _sources(self.HW, self.TRACE, self.PROF)), [])

    def test_each_disagreement_is_named(self):
        trace = dict(self.TRACE, page_write_protections=3, snapshots=0)
        problems = expect.counter_disagreements(
            _sources(self.HW, trace, self.PROF))
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("valid pages kept", problems[0])
        self.assertIn("fault calls", problems[1])

    def test_prefetches_count_as_faults_in_the_trace(self):
        hw = dict(self.HW, page_prefetch=0)
        problems = expect.counter_disagreements(_sources(hw, self.TRACE))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("pages faulted", problems[0])

    def test_a_source_alone_is_not_compared(self):
        self.assertEqual(expect.counter_disagreements(
            _sources(prof=self.PROF)), [])

    def test_a_missing_counter_is_a_problem_not_a_pass(self):
        trace = dict(self.TRACE)
        del trace["page_invalidations"]
        self.assertIn("missing", expect.counter_disagreements(
            _sources(self.HW, trace))[0])


if __name__ == "__main__":
    unittest.main()
