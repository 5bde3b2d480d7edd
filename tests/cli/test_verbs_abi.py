#!/usr/bin/env python3
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The binaries the lab runs in its guests need no libibverbs symbol of a
private version (IBVERBS_PRIVATE_<n>): rdma-core renames that version in
every release, so such a binary built against the host's rdma-core 44 would
not load with the guests' 65.0. Usage: test_verbs_abi.py BINARY... [-v]"""

import subprocess
import sys
import unittest

BINARIES = [a for a in sys.argv[1:] if not a.startswith("-")]


def private_symbols(binary):
    """The dynamic symbols `binary` imports under a private version."""
    out = subprocess.run(["objdump", "-T", binary], capture_output=True,
                         text=True, check=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines()
                  if "IBVERBS_PRIVATE" in line and "*UND*" in line)


class VerbsAbi(unittest.TestCase):
    def test_no_private_libibverbs_symbols(self):
        self.assertTrue(BINARIES, "name the binaries to check")
        for binary in BINARIES:
            with self.subTest(binary=binary):
                self.assertEqual(
                    private_symbols(binary), [],
                    f"{binary} links libibverbs' private symbols: look "
                    "them up with dlsym() at run time (see "
                    "ibodp/src/prefetch.cc)")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + [a for a in sys.argv[1:]
                                        if a.startswith("-")])
