# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest's bad-input errors on the host: each bad flag value exits with
status 2 and a message naming the flag and the fix, before any device is
opened (so these run where there is no RDMA device).

Usage: python3 test_perftest_cli.py PATH/TO/perftest
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

PERFTEST = None

# (flags, words the error message must contain)
BAD_FLAGS = [
    (["--events=bogus"], ["--events", "unknown event 'bogus'", "soft-dirty"]),
    (["--ops=frob"], ["--ops", "unknown operation 'frob'", "fetch-add"]),
    (["--msg_sizes=0"], ["--msg-sizes", "at least 1 byte"]),
    (["--mr_sizes=0"], ["--mr-sizes", "at least 1 byte"]),
    (["--mr_sizes=4Q"], ["--mr-sizes", "'4Q'"]),
    (["--mr_sizes=100T"], ["100 TiB", "MemAvailable", "smaller --mr-sizes"]),
    (["--pages=0"], ["--pages", "at least 1"]),
    (["--periods=0"], ["--periods", "at least 1"]),
    (["--preset=huge"], ["--preset", "unknown preset 'huge'"]),
    (["--counters=kprobe"], ["--counters", "unknown source 'kprobe'"]),
    (["--timeout_ms=0"], ["--timeout_ms", "milliseconds"]),
    (["--msg_sizes=8K", "--mr_sizes=4K"], ["--msg-sizes 8 KiB",
                                           "--mr-sizes has 4 KiB"]),
    (["--pages=1000", "--mr_sizes=4K"], ["--pages 1000",
                                         "--mr-sizes has 4 KiB"]),
    (["--output=/nonexistent/dir/x.json"], ["/nonexistent/dir",
                                            "does not exist"]),
    (["--context=foo"], ["--context", "'foo' is not KEY=VALUE"]),
    (["--patch_series=foo"], ["--patch-series", "'foo'"]),
    (["--cpu=-5"], ["--cpu -5", "-1 for no pinning"]),
]


def run(flags):
    with tempfile.TemporaryDirectory() as tmp:
        return subprocess.run([PERFTEST] + flags, capture_output=True,
                              text=True, cwd=tmp, timeout=60, check=False)


class BadFlags(unittest.TestCase):
    def test_each_bad_value_exits_2_naming_the_cause(self):
        for flags, words in BAD_FLAGS:
            with self.subTest(flags=flags):
                proc = run(flags)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                for word in words:
                    self.assertIn(word, proc.stderr)
                self.assertEqual(proc.stderr.count("\n"), 1,
                                 "one line, no stack trace: " + proc.stderr)

    def test_bad_bench_cpu_from_the_environment(self):
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [PERFTEST, "--dry_run"], capture_output=True, text=True,
                cwd=tmp, timeout=60, check=False,
                env={**os.environ, "IBODP_BENCH_CPU": "0x"})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("$IBODP_BENCH_CPU '0x' is not a CPU number", proc.stderr)

    def test_unknown_flag_is_refused(self):
        proc = run(["--bogus_flag"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("unknown command line flag 'bogus_flag'", proc.stderr)

    def test_dry_run_lists_the_scenarios_without_a_device(self):
        proc = run(["--preset=quick", "--dry_run"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[-1], "23 scenarios")
        for background in ("writeback", "ksm", "numa-balancing", "khugepaged",
                           "memcg-reclaim"):
            self.assertIn("read/msg=4096/mr=1048576/pages=16/event=none/"
                          f"period=1/background={background}/seconds=10",
                          lines)
        for reg in ("", "/reg=pinned", "/reg=odp-prefetch"):
            self.assertIn(
                "read/msg=4096/mr=1048576/pages=16/event=fork/period=1" + reg,
                lines)

    def test_dry_run_still_rejects_bad_flags(self):
        proc = run(["--dry_run", "--events=bogus"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown event 'bogus'", proc.stderr)

    def test_list_events_names_each_notifier_event(self):
        proc = run(["--list_events"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 17)
        self.assertIn("soft-dirty (MMU_NOTIFY_SOFT_DIRTY)", lines)
        self.assertIn("pagemap-wp (MMU_NOTIFY_PROTECTION_VMA)", lines)
        self.assertIn("pageout (MMU_NOTIFY_CLEAR)", lines)
        self.assertIn("migrate (MMU_NOTIFY_CLEAR)", lines)
        self.assertIn("thp-collapse (MMU_NOTIFY_CLEAR)", lines)
        self.assertIn("thp-split (MMU_NOTIFY_CLEAR)", lines)
        self.assertIn("ksm (MMU_NOTIFY_CLEAR)", lines)

    def test_list_events_json_states_each_events_facts(self):
        proc = run(["--list_events", "--json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        events = {e["name"]: e for e in json.loads(proc.stdout)}
        self.assertEqual(len(events), 17)
        self.assertEqual(events["soft-dirty"], {
            "name": "soft-dirty", "notifier_event": "MMU_NOTIFY_SOFT_DIRTY",
            "write_protect_only": True, "preserves_contents": True})
        self.assertFalse(events["mprotect-none"]["write_protect_only"])
        self.assertFalse(events["madvise-dontneed"]["preserves_contents"])
        self.assertEqual(events["ksm"], {
            "name": "ksm", "notifier_event": "MMU_NOTIFY_CLEAR",
            "write_protect_only": False, "preserves_contents": True})

    def test_a_thp_event_without_a_2m_mr_is_refused(self):
        proc = run(["--preset=quick", "--events=thp-split", "--dry_run"])
        self.assertEqual(proc.returncode, 2)
        self.assertIn("event thp-split needs an MR of whole 2 MiB huge pages",
                      proc.stderr)
        self.assertIn("add one (e.g. --mr-sizes=2M)", proc.stderr)

    def test_a_thp_event_leaves_out_the_mr_sizes_it_cannot_use(self):
        proc = run(["--preset=quick", "--events=none,thp-collapse",
                    "--mr-sizes=1M,4M", "--registration=odp",
                    "--backgrounds=none", "--dry_run", "--json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = json.loads(proc.stdout)["scenarios"]
        self.assertEqual(names, [
            "read/msg=4096/mr=1048576/pages=16/event=none/period=1",
            "read/msg=4096/mr=4194304/pages=16/event=none/period=1",
            "read/msg=4096/mr=4194304/pages=16/event=thp-collapse/period=1"])

    def test_a_pinned_mr_leaves_out_events_that_move_its_pages(self):
        proc = run(["--events=fork,migrate", "--registration=odp,pinned",
                    "--backgrounds=none", "--dry_run", "--json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = json.loads(proc.stdout)["scenarios"]
        point = "read/msg=4096/mr=1048576/pages=16/event="
        self.assertEqual(names, [point + "fork/period=1",
                                 point + "fork/period=1/reg=pinned",
                                 point + "migrate/period=1"])
        self.assertIn("left out " + point + "migrate/period=1/reg=pinned: "
                      "event migrate moves", proc.stderr)

    def test_dry_run_json_lists_the_scenario_names(self):
        proc = run(["--preset=quick", "--dry_run", "--json"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = json.loads(proc.stdout)["scenarios"]
        self.assertIn(
            "read/msg=4096/mr=1048576/pages=16/event=fork/period=1", names)
        self.assertEqual(len(names), len(set(names)))


if __name__ == "__main__":
    PERFTEST = os.path.abspath(sys.argv.pop(1))
    unittest.main()
