# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Skip reasons recovered from a guest's GoogleTest console output."""

import unittest

from odplab.testcmd import skip_reasons

CONSOLE = """\
[ RUN      ] OdpCounters.NoEvent
[   15.671507] dummy0 speed is unknown, defaulting to 1000
/tmp/x/tests/guest/counters_test.cc:75: Skipped
rxe0 has no page_faults in /sys/class/infiniband/rxe0/ports/1/hw_counters:
the kernel lacks the ibodp rxe counter patch
[  SKIPPED ] OdpCounters.NoEvent (773 ms)
[ RUN      ] OdpFaults.NoEventNoFault
[       OK ] OdpFaults.NoEventNoFault (10 ms)
"""


class SkipReasons(unittest.TestCase):
    def test_message_lines_without_kernel_messages(self):
        self.assertEqual(skip_reasons(CONSOLE), {
            "OdpCounters.NoEvent":
                "rxe0 has no page_faults in "
                "/sys/class/infiniband/rxe0/ports/1/hw_counters: the kernel "
                "lacks the ibodp rxe counter patch"})

    def test_passing_tests_have_no_reason(self):
        self.assertNotIn("OdpFaults.NoEventNoFault", skip_reasons(CONSOLE))


if __name__ == "__main__":
    unittest.main()
