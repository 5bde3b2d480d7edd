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

    def test_a_build_only_variant_names_the_prefixes_it_built(self):
        results = [series.PrefixResult(i, Path(f"{i}.patch"), True, i < 4,
                                       0.0 if i < 4 else 40.0)
                   for i in range(1, 6)]
        text = series.report(results, 5, start=4)
        self.assertIn("prefixes 4 to 5 build", text)
        self.assertIn("2 built now, 0 cached", text)
        self.assertIn("1 to 3 are the patched series'", text)


class BuildOnly(unittest.TestCase):
    def test_mlx5_checks_only_its_own_patches_in_its_own_config(self):
        from odplab import kconfig, kernel, patches
        self.assertEqual(kernel.BUILD_ONLY["mlx5"], "mlx5")
        self.assertIn(kconfig.CONFIG_DIR / "mlx5.config",
                      kconfig.fragments("mlx5"))
        shared = patches.series_of(patches.BASE_DIRS + ["kernel-patches"])
        self.assertEqual(kernel.own_patches_start("mlx5"), len(shared) + 1)
        mine = kernel.variant_patches("mlx5")[len(shared):]
        self.assertTrue(mine, "mlx5-patches/ has no patch")
        self.assertTrue(all(p.parent.name == "mlx5-patches" for p in mine))

    def test_a_booted_variant_checks_every_prefix(self):
        from odplab import kernel
        self.assertEqual(kernel.own_patches_start("patched"), 1)


if __name__ == "__main__":
    unittest.main()
