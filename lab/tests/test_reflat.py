# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Reading perftest's ib_*_lat output and pairing it with ibodp's."""

import os
import tempfile
import unittest
from unittest import mock

from odplab import compare, reflat
from odplab.reflat import RefError, agreement, floors, parse_lat_output

# The shape perftest 4.5's ib_read_lat prints (tabs and spaces as it does).
LAT_OUTPUT = """\
 local address: LID 0000 QPN 0x0011 PSN 0xcf4fb3 OUT 0x80 RKey 0x0003f5
---------------------------------------------------------------------------
 #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    \
t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% percentile[usec]
 2       3000          36.72          3927.49      43.24    \t       63.95  \
     \t210.16 \t\t171.67  \t\t3659.60
---------------------------------------------------------------------------
"""


def run(op, rnd, typical, p50=None):
    r = {"op": op, "round": rnd, "warmup": rnd == 0,
         "reference": {"t_typical_us": typical}}
    if p50 is not None:
        r["perftest"] = {"p50_us": p50}
    return r


class ParseLatOutput(unittest.TestCase):
    def test_reads_every_column(self):
        row = parse_lat_output(LAT_OUTPUT)
        self.assertEqual(row["bytes"], 2)
        self.assertEqual(row["iterations"], 3000)
        self.assertAlmostEqual(row["t_min_us"], 36.72)
        self.assertAlmostEqual(row["t_max_us"], 3927.49)
        self.assertAlmostEqual(row["t_typical_us"], 43.24)
        self.assertAlmostEqual(row["t_avg_us"], 63.95)
        self.assertAlmostEqual(row["t_stdev_us"], 210.16)
        self.assertAlmostEqual(row["p99_us"], 171.67)
        self.assertAlmostEqual(row["p999_us"], 3659.60)

    def test_failure_output_names_its_tail(self):
        with self.assertRaisesRegex(RefError, "Couldn't connect"):
            parse_lat_output("header\nCouldn't connect to localhost:18516\n")


class Agreement(unittest.TestCase):
    def test_median_ratio_leaves_out_the_warmup_round(self):
        result = {"runs": [run("read", 0, 80.0, 40.0), run("read", 1, 40.0,
                                                            44.0),
                           run("read", 2, 50.0, 50.0),
                           run("read", 3, 40.0, 38.0)]}
        median, ratios = agreement(result)
        self.assertEqual(ratios, [1.1, 1.0, 0.95])
        self.assertAlmostEqual(median, 1.0)

    def test_even_count_takes_the_mean_of_the_middle_two(self):
        result = {"runs": [run("read", 1, 10.0, 11.0),
                           run("read", 2, 10.0, 12.0)]}
        self.assertAlmostEqual(agreement(result)[0], 1.15)

    def test_min_compares_perftest_min_with_t_min(self):
        result = {"runs": [
            {"op": "read", "round": r, "warmup": r == 0,
             "reference": {"t_typical_us": 23.0, "t_min_us": 22.0},
             "perftest": {"p50_us": 34.0, "min_us": m}}
            for r, m in ((0, 40.0), (1, 23.1), (2, 24.2), (3, 22.0))]}
        median, ratios = agreement(result, stat="min")
        self.assertEqual([round(x, 3) for x in ratios], [1.05, 1.1, 1.0])
        self.assertAlmostEqual(median, 1.05)
        self.assertAlmostEqual(agreement(result)[0], 34.0 / 23.0)

    def test_report_without_min_gives_none_for_min(self):
        result = {"runs": [run("read", 1, 10.0, 11.0)]}
        self.assertEqual(agreement(result, stat="min"), (None, []))

    def test_no_paired_round_gives_none(self):
        result = {"runs": [run("read", 1, 10.0), run("write", 1, 10.0, 9.0)]}
        self.assertEqual(agreement(result), (None, []))


def min_run(rnd, t_min, pt_min):
    return {"op": "read", "round": rnd, "warmup": rnd == 0,
            "reference": {"t_typical_us": 23.0, "t_min_us": t_min},
            "perftest": {"p50_us": 33.0, "min_us": pt_min}}


class Floors(unittest.TestCase):
    def test_least_minimum_of_each_tool_over_the_measured_rounds(self):
        # The warm-up round's 15 us would be the least: it is left out.
        result = {"runs": [min_run(0, 30.0, 15.0), min_run(1, 22.0, 25.8),
                           min_run(2, 21.4, 20.9), min_run(3, 19.3, 26.6)]}
        mine, theirs, ratio = floors(result)
        self.assertEqual((mine, theirs), (20.9, 19.3))
        self.assertAlmostEqual(ratio, 20.9 / 19.3)

    def test_slow_mode_rounds_move_the_median_but_not_the_floor(self):
        # The CI run of 03a842e: per-round minimum ratios 1.045, 1.337,
        # 1.244 (median 1.244, out of 15 %), floor ratio 1.109.
        result = {"runs": [min_run(1, 20.50, 21.42), min_run(2, 19.31, 25.82),
                           min_run(3, 21.37, 26.58)]}
        median, _ = agreement(result, stat="min")
        self.assertGreater(median, 1.15)
        self.assertAlmostEqual(floors(result)[2], 21.42 / 19.31)

    def test_a_perftest_slower_in_every_round_stays_slower(self):
        result = {"runs": [min_run(r, 20.0 + r, 24.0 + r) for r in (1, 2, 3)]}
        self.assertAlmostEqual(floors(result)[2], 25.0 / 21.0)

    def test_no_round_with_both_minima_gives_none(self):
        self.assertIsNone(floors({"runs": [run("read", 1, 10.0, 11.0)]}))
        self.assertIsNone(floors({"runs": [min_run(0, 20.0, 20.0)]}))


if __name__ == "__main__":
    unittest.main()


class TickBound(unittest.TestCase):
    def test_a_typical_of_one_tick_is_marked_invalid(self):
        def ref(typical_by_tool, hz="250"):
            return {"size": 2, "context": {"kernel_hz": hz}, "runs": [
                {"tool": tool, "warmup": False,
                 "reference": {"t_typical_us": t, "p99_us": t}}
                for tool, t in typical_by_tool.items()]}
        rows = compare.reference_rows({
            "A": ref({"ib_read_lat": 23.0, "ib_write_lat": 4003.0}),
            "B": ref({"ib_read_lat": 24.0, "ib_write_lat": 3990.0})})
        valid = {r[0]: r[-1] for r in rows}
        self.assertEqual(valid["ib_read_lat"], "yes")
        self.assertIn("A: invalid: typical 4003 us is the scheduler tick "
                      "(HZ 250: 4000 us)", valid["ib_write_lat"])
        self.assertIn("B: invalid", valid["ib_write_lat"])
        # Without the guest's HZ nothing can be said.
        rows = compare.reference_rows({"A": ref({"ib_write_lat": 4003.0},
                                                hz=""), "B": None})
        self.assertEqual(rows[0][-1], "yes")


class RunRemote(unittest.TestCase):
    """One end of an ib_*_lat run across two nodes, against a fake tool in
    PATH that fails its first tries as a client whose server is not up yet
    does, or never ends."""

    def setUp(self):
        d = self.enterContext(tempfile.TemporaryDirectory())
        self.tries = os.path.join(d, "tries")
        self.args = os.path.join(d, "args")
        tool = os.path.join(d, "ib_read_lat")
        with open(tool, "w", encoding="ascii") as f:
            f.write(f"""#!/bin/sh
echo "$@" > {self.args}
n=$(cat {self.tries} 2>/dev/null || echo 0)
echo $((n + 1)) > {self.tries}
case "$FAKE" in
hang) echo "waiting for client"; exec sleep 30 ;;
crash) echo "Segmentation fault"; exit 139 ;;
fail1) echo "Failed to exchange data between server and clients"; exit 1 ;;
esac
if [ "$n" -lt "${{FAIL:-0}}" ]; then
  echo "Couldn't connect to peer"; exit 1
fi
printf '%s' "$ROW"
""")
        os.chmod(tool, 0o755)
        self.enterContext(mock.patch.dict(os.environ, {
            "PATH": d + os.pathsep + os.environ["PATH"], "ROW": LAT_OUTPUT,
            "FAIL": "0", "FAKE": ""}))
        self.enterContext(mock.patch.object(reflat.time, "sleep"))

    def test_the_tools_exchange_over_tcp_not_rdma_cm(self):
        cmd = reflat.remote_command("ib_read_lat", "rxe0", 2, 100, 18520)
        self.assertNotIn("-R", cmd)
        self.assertEqual(cmd[cmd.index("-x") + 1], "0")
        self.assertIn("--ipv6-addr", cmd)

    def test_a_client_counts_the_tries_that_found_no_server(self):
        os.environ["FAIL"] = "2"
        row, _, failed = reflat.run_remote("ib_read_lat", "rxe0", 2, 100,
                                           18520, 10, "fe80::1%eth0")
        self.assertEqual(failed, 2)
        self.assertEqual(row["iterations"], 3000)
        with open(self.args, encoding="ascii") as f:
            self.assertTrue(f.read().strip().endswith("-p 18520 fe80::1%eth0"))

    def assert_one_try(self, pattern):
        with self.assertRaisesRegex(RefError, pattern):
            reflat.run_remote("ib_read_lat", "rxe0", 2, 100, 18520, 10,
                              "fe80::1%eth0")
        with open(self.tries, encoding="ascii") as f:
            self.assertEqual(f.read().strip(), "1")

    # A client that reached its server and failed is not tried again: the
    # server's one accept() is spent, and later tries would only find no
    # server and hide this try's output.
    def test_a_client_that_crashed_is_not_retried(self):
        os.environ["FAKE"] = "crash"
        self.assert_one_try("(?s)exited with 139 after 0 tries.*"
                            "Segmentation fault")

    def test_a_client_that_failed_with_1_after_connecting_is_not_retried(
            self):
        os.environ["FAKE"] = "fail1"
        self.assert_one_try("(?s)exited with 1 after 0 tries.*"
                            "Failed to exchange data")

    def test_a_server_that_does_not_end_names_what_it_printed(self):
        os.environ["FAKE"] = "hang"
        with self.assertRaisesRegex(RefError, "(?s)did not end in 1 s.*"
                                    "waiting for client"):
            reflat.run_remote("ib_read_lat", "rxe0", 2, 100, 18520, 1, None)
