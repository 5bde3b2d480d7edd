# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The lab's reading of the storm's summary.json, on summaries that the
storm itself wrote in lab guests (tests/golden/, with the commands that
made them in tests/golden/README.md)."""

import copy
import json
import unittest
from pathlib import Path

from odplab import storm as testcmd

GOLDEN = Path(__file__).parent / "golden"


def golden(name):
    return json.loads((GOLDEN / name).read_text())


class PlantedVerdict(unittest.TestCase):
    def setUp(self):
        self.planted = golden("storm-planted.json")
        self.pristine = golden("storm-pristine.json")

    def test_the_planted_run_is_caught(self):
        caught, detail = testcmd.planted_verdict(1, [], self.planted)
        self.assertTrue(caught, detail)
        self.assertIn("not-soft-dirty failures", detail)

    def test_a_passing_run_is_not(self):
        caught, detail = testcmd.planted_verdict(0, [], self.pristine)
        self.assertFalse(caught)
        self.assertIn("no longer catches", detail)

    def test_another_kind_of_failure_is_not(self):
        data = copy.deepcopy(self.planted)
        data["failures_by_kind"]["lost-write"] = 3
        caught, detail = testcmd.planted_verdict(1, [], data)
        self.assertFalse(caught)
        self.assertIn("'lost-write': 3", detail)

    def test_a_splat_is_not(self):
        caught, detail = testcmd.planted_verdict(
            1, [("console.log", [(7, "WARNING", "WARNING: at x")])],
            self.planted)
        self.assertFalse(caught)
        self.assertIn("splat", detail)

    def test_no_summary_is_not(self):
        caught, detail = testcmd.planted_verdict(2, [], None)
        self.assertFalse(caught)
        self.assertIn("no summary.json", detail)

    def test_an_exit_other_than_1_is_not(self):
        caught, detail = testcmd.planted_verdict(2, [], self.planted)
        self.assertFalse(caught)
        self.assertIn("exited 2", detail)


class Summary(unittest.TestCase):
    def test_each_kind_of_failure_is_a_key(self):
        for name in ("storm-planted.json", "storm-pristine.json"):
            data = golden(name)
            self.assertEqual(data["schema_version"], 2)
            self.assertEqual(data["failures"],
                             sum(data["failures_by_kind"].values()), name)
            self.assertIn(testcmd.PLANTED_FAILURE, data["failures_by_kind"])

    def test_the_line_names_every_event_that_ran(self):
        data = golden("storm-pristine.json")
        line = testcmd.line(data)
        for event, n in data["events"].items():
            self.assertIn(f"{event} {n}", line)
        self.assertIn(f"{data['huge_pages_made']} huge pages made", line)
        self.assertIn(f"({data['ops']['file_writes']} into the file zone)",
                      line)


if __name__ == "__main__":
    unittest.main()
