# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab.tidy: a clean result is reused only while every byte it came
from is the same, and findings are never cached. A fake clang-tidy counts
its runs and finds something in any file whose text says BAD."""

import io
import json
import os
import stat
import tempfile
import textwrap
import unittest
from pathlib import Path

from odplab import tidy

FAKE_TIDY = textwrap.dedent("""\
    #!/bin/sh
    if [ "$1" = --version ]; then echo "fake tidy 1"; exit 0; fi
    for last; do :; done
    echo "$last" >> "$TIDY_LOG"
    if grep -q BAD "$last"; then echo "$last:1:1: error: BAD [fake]"; exit 1; fi
    exit 0
    """)


class Tidy(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        t = Path(self.tmp.name)
        self.root, self.build, self.store = t / "src", t / "build", t / "c"
        self.root.mkdir()
        self.build.mkdir()
        (self.root / ".clang-tidy").write_text("Checks: '-*'\n")
        (self.root / "a.h").write_text("int a();\n")
        (self.root / "a.cc").write_text('#include "a.h"\nint a() { return 1; }\n')
        (self.root / "b.cc").write_text("int b() { return 2; }\n")
        self.tidy = t / "fake-tidy"
        self.tidy.write_text(FAKE_TIDY)
        self.tidy.chmod(self.tidy.stat().st_mode | stat.S_IEXEC)
        self.log = t / "runs.log"
        os.environ["TIDY_LOG"] = str(self.log)
        self.write_db(["a.cc", "b.cc"])

    def tearDown(self):
        self.tmp.cleanup()

    def write_db(self, names):
        (self.build / "compile_commands.json").write_text(json.dumps([
            {"directory": str(self.build), "file": str(self.root / n),
             "command": f"c++ -I{self.root} -std=c++20 -o {n}.o -c "
                        f"{self.root / n}"} for n in names]))

    def run_tidy(self, names=("a.cc", "b.cc")):
        self.log.write_text("")
        out = io.StringIO()
        dirty = tidy.run([str(self.root / n) for n in names], self.build,
                         clang_tidy=str(self.tidy), jobs=2, store=self.store,
                         root=self.root, out=out)
        runs = sorted(Path(p).name for p in self.log.read_text().split())
        return dirty, runs, out.getvalue()

    def test_a_clean_file_is_checked_once(self):
        self.assertEqual(self.run_tidy()[:2], (0, ["a.cc", "b.cc"]))
        dirty, runs, out = self.run_tidy()
        self.assertEqual((dirty, runs), (0, []))
        self.assertIn("2 clean from the cache, 0 checked", out)

    def test_a_header_it_includes_changes_it(self):
        self.run_tidy()
        (self.root / "a.h").write_text("int a();\nint a2();\n")
        self.assertEqual(self.run_tidy()[:2], (0, ["a.cc"]))

    def test_findings_are_printed_and_never_cached(self):
        (self.root / "b.cc").write_text("int b() { return 2; }  // BAD\n")
        for expected_runs in (["a.cc", "b.cc"], ["b.cc"]):
            dirty, runs, out = self.run_tidy()
            self.assertEqual((dirty, runs), (1, expected_runs))
            self.assertIn("b.cc:1:1: error: BAD [fake]", out)

    def test_a_new_config_checks_everything_again(self):
        self.run_tidy()
        (self.root / ".clang-tidy").write_text("Checks: '-*,bugprone-*'\n")
        self.assertEqual(self.run_tidy()[:2], (0, ["a.cc", "b.cc"]))

    def test_a_file_no_target_compiles_is_a_finding(self):
        (self.root / "c.cc").write_text("int c();\n")
        dirty, runs, out = self.run_tidy(["c.cc"])
        self.assertEqual((dirty, runs), (1, []))
        self.assertIn("not in", out)
        self.assertIn("no target compiles it", out)


if __name__ == "__main__":
    unittest.main()
