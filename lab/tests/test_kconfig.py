# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The fragment check that turns a silently dropped option into an error."""

import unittest

from odplab.kconfig import BASE_FRAGMENT, missing_options, parse_fragment


class Fragment(unittest.TestCase):
    def test_parse(self):
        wanted = parse_fragment("# comment\nCONFIG_A=y\nCONFIG_B=\"x\"\n"
                                "# CONFIG_C is not set\n\n")
        self.assertEqual(wanted, {"CONFIG_A": "y", "CONFIG_B": '"x"',
                                  "CONFIG_C": "n"})

    def test_missing(self):
        wanted = {"CONFIG_A": "y", "CONFIG_B": "y", "CONFIG_C": "n",
                  "CONFIG_D": "m"}
        final = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=y\n"
        self.assertEqual(missing_options(wanted, final),
                         [("CONFIG_B", "y", "n"), ("CONFIG_D", "m", "y")])

    def test_repo_fragment_asks_for_odp_and_rxe(self):
        wanted = parse_fragment(BASE_FRAGMENT.read_text())
        for sym in ("CONFIG_INFINIBAND_ON_DEMAND_PAGING", "CONFIG_RDMA_RXE",
                    "CONFIG_MEM_SOFT_DIRTY", "CONFIG_DUMMY",
                    "CONFIG_9P_FS", "CONFIG_MAGIC_SYSRQ"):
            self.assertEqual(wanted.get(sym), "y", sym)


if __name__ == "__main__":
    unittest.main()
