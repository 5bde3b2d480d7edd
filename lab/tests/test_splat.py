# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Splat detection over real-looking kernel logs."""

import unittest

from odplab.splat import find_splats

CLEAN = """\
[    0.000000] Linux version 7.3.4-ibodp-b0ed7fd3 (odplab@ibodp)
[    7.875018] dummy0 speed is unknown, defaulting to 1000
[    8.100000] rxe0: qp#17 make_send_cqe: non-flush error status = 10
[    8.200000] sysrq: Resetting
"""


class FindSplats(unittest.TestCase):
    def test_clean_log_has_none(self):
        self.assertEqual(find_splats(CLEAN), [])

    def kinds(self, text):
        return [kind for _, kind, _ in find_splats(text)]

    def test_warning(self):
        log = ("[   12.1] ------------[ cut here ]------------\n"
               "[   12.1] WARNING: CPU: 1 PID: 80 at mm/hmm.c:123 "
               "hmm_range_fault+0x1/0x2\n")
        self.assertEqual(self.kinds(log), ["WARNING", "WARNING"])

    def test_bug_and_oops(self):
        log = ("[ 3.0] BUG: kernel NULL pointer dereference, address: 0\n"
               "[ 3.0] Oops: 0000 [#1] SMP\n")
        self.assertEqual(self.kinds(log), ["BUG", "Oops"])

    def test_lockdep(self):
        log = ("[ 5.0] WARNING: possible circular locking dependency "
               "detected\n")
        self.assertEqual(self.kinds(log), ["WARNING"])
        log = "[ 5.0] inconsistent lock state\n"
        self.assertEqual(self.kinds(log), ["lockdep"])

    def test_hung_task_and_kasan(self):
        log = ("[ 130.0] INFO: task kworker/0:1:33 blocked for more than "
               "60 seconds.\n"
               "[ 9.0] BUG: KASAN: slab-use-after-free in rxe_odp_mr_copy\n")
        self.assertEqual(self.kinds(log), ["hung task", "BUG"])

    def test_panic(self):
        log = "[ 9.0] Kernel panic - not syncing: sysrq triggered crash\n"
        self.assertEqual(self.kinds(log), ["panic"])

    def test_line_numbers_and_crlf(self):
        found = find_splats("ok\r\nok\r\n[ 1.0] WARNING: CPU: 0 PID: 1\r\n")
        self.assertEqual(found[0][0], 3)
        self.assertFalse(found[0][2].endswith("\r"))


class IsFatal(unittest.TestCase):
    def test_fatal_and_not(self):
        from odplab.splat import is_fatal
        self.assertTrue(is_fatal("[ 13.9] Oops: Oops: 0011 [#1] SMP"))
        self.assertTrue(is_fatal("[ 1.0] BUG: unable to handle page fault"))
        self.assertFalse(is_fatal("[ 1.0] WARNING: CPU: 0 PID: 1 at x"))
        self.assertFalse(is_fatal("[ 1.0] dummy0 speed is unknown"))



class ConsoleWithProgramOutput(unittest.TestCase):
    CONSOLE = ("[ 26.86] dummy0 speed is unknown, defaulting to 1000\n"
               "WARNING: Logging before InitGoogleLogging() is written to "
               "STDERR\n"
               "BUG: in my program\n"
               "[ 27.00] WARNING: CPU: 1 PID: 93 at mm/gup.c:1 x+0x1/0x2\n")

    def test_only_timestamped_lines_count_on_a_console(self):
        found = find_splats(self.CONSOLE, timestamped_only=True)
        self.assertEqual([(n, k) for n, k, _ in found], [(4, "WARNING")])

    def test_a_kernel_log_counts_every_line(self):
        self.assertEqual(len(find_splats(self.CONSOLE)), 3)

    def test_program_output_is_never_fatal(self):
        from odplab.splat import is_fatal  # pylint: disable=import-outside-toplevel
        self.assertFalse(is_fatal("BUG: in my program"))


if __name__ == "__main__":
    unittest.main()
