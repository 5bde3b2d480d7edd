# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The expectations `odplab test` holds perftest's reports to."""

import unittest

from odplab.testcmd import PERF_PAGES, _counters_agree, _expected_faults


def counters(source, available, **values):
    return {"source": source, "available": available, "values": values,
            "unavailable_reason": "" if available else "why"}


class ExpectedFaults(unittest.TestCase):
    def test_no_event_faults_nothing_on_either_kernel(self):
        self.assertEqual(_expected_faults("pristine", "none"), 0)
        self.assertEqual(_expected_faults("patched", "none"), 0)

    def test_write_protecting_events_fault_only_on_pristine(self):
        for event in ("soft-dirty", "mprotect-ro", "fork"):
            self.assertEqual(_expected_faults("pristine", event), PERF_PAGES)
            self.assertEqual(_expected_faults("patched", event), 0)

    def test_dropping_events_fault_on_both(self):
        for event in ("madvise-dontneed", "munmap-remap"):
            self.assertEqual(_expected_faults("pristine", event), PERF_PAGES)
            self.assertEqual(_expected_faults("patched", event), PERF_PAGES)


class CountersAgree(unittest.TestCase):
    def test_pairs_hw_faults_with_profiler_hits(self):
        rep = {"counters": [
            counters("hw_counters", True, page_faults=16),
            counters("function-profiler", True,
                     ib_umem_odp_map_dma_and_lock=15)]}
        self.assertEqual(_counters_agree(rep), (16, 15))

    def test_no_pair_when_a_source_is_unavailable(self):
        rep = {"counters": [
            counters("function-profiler", True,
                     ib_umem_odp_map_dma_and_lock=16),
            counters("hw_counters", False)]}
        self.assertIsNone(_counters_agree(rep))


if __name__ == "__main__":
    unittest.main()
