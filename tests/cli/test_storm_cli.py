# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The storm's bad-flag errors on the host: each exits with status 2 and
one line naming the flag and the fix, before any device is opened.

Usage: python3 test_storm_cli.py PATH/TO/ibodp_storm
"""

import os
import subprocess
import sys
import unittest

STORM = None

# (flags, words the error message must contain)
BAD_FLAGS = [
    (["--workers=0"], ["--workers must be at least 1"]),
    (["--huge_pages=100"], ["--huge_pages 100", "not a multiple of 512"]),
    (["--workers=9", "--write_pages=4", "--huge_pages=0"],
     ["--write_pages 4", "--huge_pages 0", "fewer than --workers 9"]),
    (["--seconds=0"], ["--seconds must be at least 1"]),
    (["--timeout_ms=0"], ["--timeout_ms must be at least 1"]),
    (["--summary_json=/nonexistent/dir/s.json"],
     ["--summary_json: cannot create /nonexistent/dir/s.json"]),
    (["--file_dir=/nonexistent/dir"],
     ["the file zone's directory /nonexistent/dir", "No such file"]),
    (["--file_dir=/dev/shm"], ["/dev/shm is on tmpfs", "--file_dir"]),
]

# The file zone's directory comes from the environment when --file_dir is
# not given: none there is an error too.
NO_FILE_DIR = (["--file_pages=4"],
               ["--file_pages 4 needs a directory", "IBODP_WRITEBACK_DIR"])


class BadFlags(unittest.TestCase):
    def test_each_bad_value_exits_2_naming_the_cause(self):
        for flags, words in BAD_FLAGS:
            with self.subTest(flags=flags):
                proc = subprocess.run([STORM] + flags, capture_output=True,
                                      text=True, timeout=60, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                for word in words:
                    self.assertIn(word, proc.stderr)
                self.assertEqual(proc.stderr.count("\n"), 1,
                                 "one line, no stack trace: " + proc.stderr)

    def test_a_file_zone_without_a_directory_exits_2_naming_the_fix(self):
        flags, words = NO_FILE_DIR
        env = {k: v for k, v in os.environ.items()
               if k != "IBODP_WRITEBACK_DIR"}
        proc = subprocess.run([STORM] + flags, capture_output=True,
                              text=True, timeout=60, check=False, env=env)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        for word in words:
            self.assertIn(word, proc.stderr)


if __name__ == "__main__":
    STORM = os.path.abspath(sys.argv.pop(1))
    unittest.main()
