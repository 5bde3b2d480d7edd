# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab series check: which warnings count, which files it rebuilds,
and what it says at the end."""

import tempfile
import unittest
from pathlib import Path

from odplab import series

BASE = [
    "drivers/infiniband/sw/rxe/rxe_resp.c:100:5: warning: no previous "
    "prototype for 'f' [-Wmissing-prototypes]",
]


class Warnings(unittest.TestCase):
    def test_only_warnings_in_the_touched_files_count(self):
        log = "\n".join([
            "  CC      mm/hmm.o",
            "mm/hmm.c:10:2: warning: unused variable 'x' [-Wunused-variable]",
            "mm/gup.c:7:1: warning: unused variable 'y' [-Wunused-variable]",
            "mm/hmm.c: In function 'f':",
        ])
        self.assertEqual(series.warnings_in(log, ["mm/hmm.c"]), [
            "mm/hmm.c:10:2: warning: unused variable 'x' "
            "[-Wunused-variable]"])

    def test_a_warning_the_base_tree_has_is_forgiven_where_it_moved(self):
        moved = BASE[0].replace(":100:5:", ":130:5:")
        self.assertEqual(series.new_warnings([moved], BASE), [])

    def test_a_second_copy_of_a_base_warning_is_new(self):
        moved = BASE[0].replace(":100:5:", ":130:5:")
        self.assertEqual(series.new_warnings([BASE[0], moved], BASE),
                         [moved])

    def test_a_new_warning_is_reported(self):
        new = ("drivers/infiniband/sw/rxe/rxe_resp.c:9:3: warning: unused "
               "variable 'z' [-Wunused-variable]")
        self.assertEqual(series.new_warnings([new, BASE[0]], BASE), [new])


class Files(unittest.TestCase):
    def test_the_files_of_a_series_come_from_its_diff_headers(self):
        with tempfile.TemporaryDirectory() as d:
            p1 = Path(d) / "0001-a.patch"
            p1.write_text("Subject: a\n---\n"
                          "diff --git a/mm/hmm.c b/mm/hmm.c\n"
                          "diff --git a/include/linux/hmm.h "
                          "b/include/linux/hmm.h\n")
            p2 = Path(d) / "0002-b.patch"
            p2.write_text("diff --git a/mm/hmm.c b/mm/hmm.c\n"
                          "diff --git a/mm/new.c b/mm/new.c\n")
            names = series.files_of([p1, p2])
        self.assertEqual(names, ["include/linux/hmm.h", "mm/hmm.c",
                                 "mm/new.c"])
        self.assertEqual(series.touched_sources(names),
                         ["mm/hmm.c", "mm/new.c"])


class Report(unittest.TestCase):
    def test_a_failure_names_the_patch(self):
        results = [
            series.PrefixResult(1, Path("base-patches/0001-a.patch"), True,
                                True, 0.0),
            series.PrefixResult(2, Path("base-patches/0002-b.patch"), False,
                                False, 61.0, "make exit 2"),
        ]
        text = series.report(results, 5)
        self.assertIn("patch 2 of 5, 0002-b.patch", text)
        self.assertIn("make exit 2", text)

    def test_a_pass_counts_what_was_built(self):
        results = [
            series.PrefixResult(1, Path("a.patch"), True, True, 0.0),
            series.PrefixResult(2, Path("b.patch"), True, False, 50.0),
        ]
        self.assertIn("all 2 prefixes build", series.report(results, 2))
        self.assertIn("1 built now, 1 cached", series.report(results, 2))


if __name__ == "__main__":
    unittest.main()
