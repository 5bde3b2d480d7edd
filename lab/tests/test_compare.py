# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab compare: verdicts, the Markdown table against the JSON, the HTML."""

import json
import random
import statistics
import re
import tempfile
import unittest
from pathlib import Path

from odplab import compare
from odplab.common import LabError
from tests import goldens

EVENTS = ("none", "soft-dirty", "madvise-dontneed")


def _rep(p50_ns, faults, events=100, inval=16.0, rng=None):
    """A repetition of 100 ops whose primary source (the function
    profiler) counted faults per op and inval invalidations."""
    rng = rng or random.Random(1)
    q = sorted(p50_ns * (0.5 + i / 100) for i in range(101))
    return {
        "ops": 100, "elapsed_ns": 100 * p50_ns, "events": events,
        "event_time_ns_total": events * 2500.0, "registration_ns": 50e3,
        "wall_ns": 110 * p50_ns,
        "faults_per_op": faults, "ops_per_sec": 1e9 / p50_ns,
        "bytes_per_sec": 4096e9 / p50_ns,
        "latency": {"count": 100, "min_ns": q[0], "p50_ns": p50_ns,
                    "p90_ns": p50_ns * 1.3, "p99_ns": p50_ns * 1.9 +
                    rng.random(), "p999_ns": p50_ns * 2.5, "max_ns": q[-1],
                    "mean_ns": p50_ns, "stddev_ns": 1.0, "quantiles_ns": q},
        "counters": [{"source": "function-profiler", "available": True,
                      "unavailable_reason": "",
                      "values": {"page_invalidations": int(inval),
                                 "ib_umem_odp_map_dma_and_lock":
                                     round(faults * 100)}}],
    }


def _scenario(event, mr=1 << 20, op="read", pages=16, reg="odp"):
    name = (f"{op}/msg=4096/mr={mr}/pages={pages}/event={event}/period=1"
            + ("" if reg == "odp" else f"/reg={reg}"))
    return {"name": name, "op": op, "msg_size": 4096, "mr_size": mr,
            "pages": pages, "event": event,
            "event_facts": goldens.event_facts(event), "period": 1,
            "registration": reg, "background": "none", "seconds": 0,
            "ops": 100, "warmup_ops": 10,
            "repetitions": 5}


def report(p50_by_event, faults_by_event, reps=5, mrs=(1 << 20,), seed=1,
           variant="pristine", alternatives=None):
    """alternatives: {registration: {event: p50}} measured besides ODP,
    with no faults."""
    rng = random.Random(seed)
    results = []
    for mr in mrs:
        for event in EVENTS:
            base = p50_by_event[event] * (1 + mr / (64 << 20))
            results.append({
                "scenario": _scenario(event, mr), "error": "",
                "aggregates": {},
                "repetitions": [_rep(base * (1 + 0.01 * rng.random()),
                                     faults_by_event[event], rng=rng)
                                for _ in range(reps)]})
            for reg, p50s in (alternatives or {}).items():
                results.append({
                    "scenario": _scenario(event, mr, reg=reg), "error": "",
                    "aggregates": {},
                    "repetitions": [_rep(p50s[event], 0.0, rng=rng)
                                    for _ in range(reps)]})
    return {"schema_version": compare.SCHEMA_VERSION,
            "context": goldens.context(variant=variant),
            "results": results}


P50 = {"none": 40e3, "soft-dirty": 900e3, "madvise-dontneed": 950e3}
FAULTS_PRISTINE = {"none": 0.0, "soft-dirty": 16.0, "madvise-dontneed": 16.0}
FAULTS_PATCHED = {"none": 0.0, "soft-dirty": 0.0, "madvise-dontneed": 16.0}


def interleaved(rep, slow_rounds=(), factor=1.4):
    """rep as perftest's interleaved schedule writes it, with the machine
    `factor` times slower in `slow_rounds` (every scenario alike)."""
    rep["context"]["extra"]["schedule"] = "interleaved, seed 1"
    for result in rep["results"]:
        for r in slow_rounds:
            result["repetitions"][r]["latency"]["p50_ns"] *= factor
    return rep


GOLDEN = Path(__file__).parent / "golden"


class Normalised(unittest.TestCase):
    def test_each_registration_is_divided_by_its_own_control(self):
        pinned = {e: 30e3 for e in EVENTS}
        a = interleaved(report(P50, FAULTS_PRISTINE, seed=1,
                               alternatives={"pinned": pinned}))
        b = interleaved(report(P50, FAULTS_PATCHED, seed=2,
                               alternatives={"pinned": pinned}))
        comp = compare.compare(a, b)
        base = {r.name: r.baseline for r in comp.normalised}
        none = "read/msg=4096/mr=1048576/pages=16/event=none/period=1"
        self.assertEqual(base[none.replace("none", "soft-dirty")], none)
        self.assertEqual(
            base[none.replace("none", "soft-dirty") + "/reg=pinned"],
            none + "/reg=pinned")

    def test_slow_rounds_in_one_run_are_divided_out(self):
        a = interleaved(report(P50, FAULTS_PRISTINE, seed=1))
        b = interleaved(report(P50, FAULTS_PRISTINE, seed=2), (0, 1, 2))
        comp = compare.compare(a, b)
        verdicts = {r.scenario["event"]: r.verdict for r in comp.rows}
        self.assertEqual(verdicts, {"none": "control", "soft-dirty": "same",
                                    "madvise-dontneed": "same"})
        self.assertEqual([r.baseline for r in comp.normalised],
                         [comp.rows[0].name] * 2)
        self.assertIn("2 of 2 event scenarios divided",
                      compare.noise_line(comp))
        for row in comp.normalised:
            self.assertLess(abs(row.change), 0.02)
        # Without the schedule that puts repetition r in round r, the same
        # numbers are judged raw, and the slow rounds are in the median.
        b["context"]["extra"]["schedule"] = "contiguous"
        comp = compare.compare(a, b)
        self.assertEqual(comp.normalised, [])
        for row in comp.rows:
            self.assertAlmostEqual(row.change, 0.4, delta=0.02)

    def test_a_change_beyond_the_floor_is_found_despite_the_drift(self):
        a = interleaved(report(P50, FAULTS_PRISTINE, seed=1))
        b = interleaved(report({**P50, "soft-dirty": P50["none"] * 1.05},
                               FAULTS_PATCHED, seed=2), (3, 4))
        comp = compare.compare(a, b)
        row = next(r for r in comp.rows
                   if r.scenario["event"] == "soft-dirty")
        self.assertEqual(row.verdict, "faster")
        self.assertAlmostEqual(row.change, 40 * 1.05 / 900 - 1, delta=0.02)
        self.assertEqual(comp.row_threshold(row), comp.noise)
        cells = compare.md_cells(row)
        self.assertEqual(cells[-5], compare.fmt_ratio(row.change + 1))

    def test_two_real_boots_of_one_kernel_are_same(self):
        """Two TCG boots of the pristine kernel (lab/tests/golden/README):
        boot 1 ran slow for most of its rounds. The median p50 of every
        event scenario moved by 31 to 36 %, its ratio to the control of
        the same round by at most 7 %."""
        a, b = (compare.load_report(GOLDEN / f"same-pristine-boot{n}.json")
                for n in (1, 2))
        comp = compare.compare(a, b)
        self.assertEqual(len(comp.normalised), 6)
        self.assertEqual([r.name for r in comp.rows
                          if r.verdict in ("faster", "slower")], [])
        for row in comp.normalised:
            self.assertLess(abs(row.change), 0.07)
        raw = compare.compare(a, b, control=False)
        events = [r for r in raw.rows if r.scenario["event"] != "none"]
        self.assertEqual(len(events), 6)
        for row in events:
            self.assertGreater(abs(row.change), 0.30)


class MinRepetitions(unittest.TestCase):
    def test_exact_u_test_floor(self):
        # 2 / C(6, 3) = 0.1, 2 / C(8, 4) = 0.029.
        self.assertEqual(compare.min_repetitions(0.05), 4)
        self.assertEqual(compare.min_repetitions(0.01), 5)


class Verdicts(unittest.TestCase):
    def test_same_kernel_twice_is_same(self):
        a = report(P50, FAULTS_PRISTINE, seed=1)
        b = report(P50, FAULTS_PRISTINE, seed=2)
        comp = compare.compare(a, b, control=False)
        self.assertEqual({r.verdict for r in comp.rows}, {"same"})
        self.assertEqual(comp.regressions(), [])

    def test_faster_and_slower_beyond_noise(self):
        a = report(P50, FAULTS_PRISTINE)
        b = report({"none": 60e3, "soft-dirty": 100e3,
                    "madvise-dontneed": 1250e3}, FAULTS_PATCHED, seed=3)
        verdicts = {r.scenario["event"]: r.verdict
                    for r in compare.compare(a, b, control=False).rows}
        self.assertEqual(verdicts, {"none": "slower", "soft-dirty": "faster",
                                    "madvise-dontneed": "slower"})

    def test_control_noise_raises_the_threshold(self):
        # The no-event control moves by +50 %: a +32 % move of an event
        # scenario is within what the two runs differ by anyway.
        a = report(P50, FAULTS_PRISTINE)
        b = report({"none": 60e3, "soft-dirty": 100e3,
                    "madvise-dontneed": 1250e3}, FAULTS_PATCHED, seed=3)
        comp = compare.compare(a, b)
        verdicts = {r.scenario["event"]: r.verdict for r in comp.rows}
        self.assertEqual(verdicts, {"none": "control", "soft-dirty": "faster",
                                    "madvise-dontneed": "same"})
        self.assertAlmostEqual(comp.control_noise, 0.5, delta=0.02)
        self.assertEqual(comp.threshold, comp.control_noise)
        self.assertIn("event=none", comp.control_name)
        self.assertEqual(comp.regressions(), [])
        md = compare.to_markdown(comp)
        self.assertIn(f"Noise threshold: {comp.threshold:.0%}, the largest",
                      md)

    def test_each_operation_has_its_own_control_noise(self):
        # READ's control is quiet, fetch-and-add's moves by +50 %: a +30 %
        # move of READ after soft-dirty is a regression, the same move of
        # fetch-and-add is within its noise.
        def two_ops(fa_none, event_scale, seed):
            rep = report(P50, FAULTS_PRISTINE, seed=seed)
            fa = report({**P50, "none": P50["none"] * fa_none},
                        FAULTS_PRISTINE, seed=seed + 10)
            for r in fa["results"]:
                ev = r["scenario"]["event"]
                r["scenario"] = _scenario(ev, op="fetch-add")
            for r in rep["results"] + fa["results"]:
                if r["scenario"]["event"] == "soft-dirty":
                    for x in r["repetitions"]:
                        x["latency"]["p50_ns"] *= event_scale
            rep["results"] += fa["results"]
            return rep
        comp = compare.compare(two_ops(1.0, 1.0, 1), two_ops(1.5, 1.3, 2))
        verdicts = {(r.scenario["op"], r.scenario["event"]): r.verdict
                    for r in comp.rows}
        self.assertEqual(verdicts[("read", "soft-dirty")], "slower")
        self.assertEqual(verdicts[("fetch-add", "soft-dirty")], "same")
        self.assertEqual(comp.threshold_for("read"), 0.10)
        self.assertAlmostEqual(comp.threshold_for("fetch-add"), 0.5,
                               delta=0.02)
        self.assertAlmostEqual(comp.threshold_for("write"), comp.threshold)
        line = compare.noise_line(comp)
        self.assertIn("per operation", line)
        self.assertIn("fetch-add 5", line)
        self.assertIn("read 10%", line)
        self.assertIn("further apart than their threshold",
                      compare.to_markdown(comp))

    def test_chance_line_counts_tested_significant_and_flagged(self):
        a = report(P50, FAULTS_PRISTINE)
        b = report({"none": 60e3, "soft-dirty": 100e3,
                    "madvise-dontneed": 1250e3}, FAULTS_PATCHED, seed=3)
        line = compare.chance_line(compare.compare(a, b, control=False))
        self.assertIn("3 scenarios were U-tested: 3 at p < 0.05", line)
        self.assertIn("chance alone gives about 0.2", line)  # 3 x 0.05
        self.assertIn("3 of them at a false discovery rate", line)
        self.assertIn("3 of those beyond", line)

    def test_same_kernel_line_counts_flagged_among_tested(self):
        a = report(P50, FAULTS_PRISTINE)
        b = report({"none": 60e3, "soft-dirty": 100e3,
                    "madvise-dontneed": 1250e3}, FAULTS_PATCHED, seed=3)
        line = compare.same_kernel_line(compare.compare(a, b, control=False))
        self.assertIn("3 of 3 tested scenarios flagged (false-positive rate "
                      "100.0%); 3 had p < 0.05", line)
        line = compare.same_kernel_line(compare.compare(
            report(P50, FAULTS_PRISTINE, seed=1),
            report(P50, FAULTS_PRISTINE, seed=2)))
        # The control row (no event) is not counted as a test.
        self.assertIn("0 of 2 tested scenarios flagged", line)

    def test_bh_adjusted_p_values(self):
        q = compare.bh_adjust([0.01, 0.04, 0.03, 0.5])
        for got, want in zip(q, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5]):
            self.assertAlmostEqual(got, want)
        self.assertEqual(compare.bh_adjust([]), [])

    def test_one_separated_scenario_of_many_is_not_a_discovery(self):
        """With 4 repetitions the smallest p is 2 / C(8, 4) = 0.029: among
        12 U tests one such p is what chance gives, and BH keeps it
        'same' where the raw p would have flagged it."""
        mrs = (1 << 20, 2 << 20, 4 << 20, 8 << 20)
        a = report(P50, FAULTS_PRISTINE, reps=4, mrs=mrs, seed=1)
        b = report(P50, FAULTS_PRISTINE, reps=4, mrs=mrs, seed=1)
        for rep in b["results"][4]["repetitions"]:
            rep["latency"]["p50_ns"] *= 1.5
        comp = compare.compare(a, b, control=False)
        row = comp.rows[4]
        self.assertLess(row.p_value, 0.05)
        self.assertGreater(row.q_value, 0.05)
        self.assertEqual(row.verdict, "same")

    def test_quiet_controls_keep_the_floor(self):
        a = report(P50, FAULTS_PRISTINE, seed=1)
        b = report(P50, FAULTS_PRISTINE, seed=2)
        comp = compare.compare(a, b, noise=0.10)
        self.assertLess(comp.control_noise, 0.02)
        self.assertEqual(comp.threshold, 0.10)
        self.assertIn("the fixed floor 10%", compare.noise_line(comp))

    def test_without_controls_the_floor_is_said(self):
        a = report(P50, FAULTS_PRISTINE)
        b = report(P50, FAULTS_PATCHED)
        for r in (a, b):
            r["results"] = [x for x in r["results"]
                            if x["scenario"]["event"] != "none"]
        comp = compare.compare(a, b)
        self.assertIsNone(comp.control_noise)
        self.assertIn("no control scenario", compare.noise_line(comp))

    def test_significant_but_within_noise_is_same(self):
        a = report(P50, FAULTS_PRISTINE)
        b = report({k: v * 1.05 for k, v in P50.items()}, FAULTS_PRISTINE)
        rows = compare.compare(a, b, noise=0.10, control=False).rows
        self.assertTrue(all(r.p_value < 0.05 for r in rows))
        self.assertEqual({r.verdict for r in rows}, {"same"})

    def test_too_few_repetitions_is_unreliable(self):
        a = report(P50, FAULTS_PRISTINE, reps=3)
        b = report({k: v * 3 for k, v in P50.items()}, FAULTS_PRISTINE,
                   reps=3)
        self.assertEqual({r.verdict for r in compare.compare(a, b).rows},
                         {"unreliable (n<4)"})

    def test_scenario_missing_on_one_side(self):
        a = report(P50, FAULTS_PRISTINE)
        b = report(P50, FAULTS_PATCHED)
        b["results"].pop()
        row = compare.compare(a, b).rows[-1]
        self.assertEqual(row.verdict, "missing")
        self.assertIn("B: not in this report", row.errors)


def _md_rows(markdown):
    """The 'Every scenario' table as {scenario: [cells]}."""
    section = markdown.split("## Every scenario", 1)[1]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and "/event=" in line:
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0]] = cells
    return rows


class MarkdownMatchesJson(unittest.TestCase):
    def test_every_cell_from_the_repetitions(self):
        a = report(P50, FAULTS_PRISTINE, mrs=(1 << 20, 64 << 20))
        b = report({k: v / 2 for k, v in P50.items()}, FAULTS_PATCHED,
                   mrs=(1 << 20, 64 << 20), seed=5)
        md = compare.to_markdown(compare.compare(a, b, a_label="pristine",
                                                 b_label="patched"))
        rows = _md_rows(md)
        self.assertEqual(len(rows), len(a["results"]))
        for ra, rb in zip(a["results"], b["results"]):
            cells = rows[ra["scenario"]["name"]]
            # Recomputed here from the JSON, not through compare's model.
            for col, path, scale, dec in (
                    (1, ("faults_per_op",), 1, 2),
                    (7, ("latency", "p50_ns"), 1e3, 2),
                    (10, ("latency", "p99_ns"), 1e3, 2),
                    (13, ("latency", "p999_ns"), 1e3, 2)):
                for side, res in ((0, ra), (1, rb)):
                    vals = []
                    for rep in res["repetitions"]:
                        v = rep
                        for key in path:
                            v = v[key]
                        vals.append(v)
                    want = f"{sum(vals) / len(vals) / scale:.{dec}f}"
                    self.assertEqual(cells[col + side], want,
                                     f"{ra['scenario']['name']} col {col}")
            ev = [r["event_time_ns_total"] / r["events"]
                  for r in ra["repetitions"]]
            self.assertEqual(cells[16], f"{sum(ev) / len(ev) / 1e3:.2f}")

    def test_header_and_rows_have_the_same_width(self):
        md = compare.to_markdown(compare.compare(
            report(P50, FAULTS_PRISTINE), report(P50, FAULTS_PATCHED)))
        table = [line for line in md.splitlines()
                 if line.startswith("| ")
                 and ("scenario" in line or "/event=" in line)]
        self.assertGreater(len(table), 1, "the header and at least one row")
        widths = {line.count(" | ") for line in table}
        self.assertEqual(len(widths), 1, table)

    def test_headline_is_read_16_pages_one_row_per_event(self):
        comp = compare.compare(report(P50, FAULTS_PRISTINE),
                               report(P50, FAULTS_PATCHED))
        lines = compare.headline_lines(comp)
        self.assertEqual(len(lines), 1 + len(EVENTS))
        self.assertRegex(lines[2], r"soft-dirty\s+faults/op\s+16\.00 ->\s+"
                         r"0\.00")

    def test_headline_sets_patched_odp_against_pinned_and_prefetch(self):
        # The patched boot's pinned MR at 800 us, pristine's at 400 us and
        # its ODP + prefetch at 1200 us (3x its pinned MR): patched ODP
        # (900 us, 1.125x its pinned MR) is x1.12 of pinned and x0.375 of
        # prefetch, each boot measured against its own pinned MR.
        pinned_a = {e: 400e3 for e in EVENTS}
        pinned_b = {e: 800e3 for e in EVENTS}
        prefetch_a = {e: 1200e3 for e in EVENTS}
        prefetch_b = {e: 1e3 for e in EVENTS}
        comp = compare.compare(
            report(P50, FAULTS_PRISTINE, alternatives={
                "pinned": pinned_a, "odp-prefetch": prefetch_a}),
            report(P50, FAULTS_PATCHED, alternatives={
                "pinned": pinned_b, "odp-prefetch": prefetch_b}),
            a_label="pristine", b_label="patched")
        rows = compare.headline_rows(comp)
        self.assertEqual([r.scenario["registration"] for r in rows],
                         ["odp"] * len(EVENTS))
        soft = next(r for r in rows if r.scenario["event"] == "soft-dirty")
        alt = compare.against_alternatives(comp, soft)
        self.assertAlmostEqual(alt["pinned"].p50, 800e3)
        self.assertAlmostEqual(alt["odp-prefetch"].p50, 1200e3)
        self.assertAlmostEqual(alt["pinned"].ratio,
                               statistics.median(soft.p50s[1]) / 800e3)
        self.assertAlmostEqual(alt["odp-prefetch"].ratio,
                               alt["pinned"].ratio / 3.0)
        lines = compare.headline_lines(comp)
        self.assertEqual(len(lines), 1 + 2 * len(EVENTS))
        self.assertIn("median p50: pinned MR 800", lines[4])
        self.assertIn("pristine ODP + prefetch 1200", lines[4])
        header, table = compare.headline_table(comp)
        self.assertEqual(len(table), len(EVENTS))
        cells = dict(zip(header, next(t for t in table
                                      if t[0] == "soft-dirty")))
        self.assertEqual(cells["faults/op pristine ODP"], "16.00")
        self.assertEqual(cells["faults/op patched ODP"], "0.00")
        self.assertEqual(cells["pinned MR (patched boot)"], "800.00")
        self.assertEqual(cells["pristine ODP + prefetch"], "1200.00")
        self.assertEqual(cells["patched ODP / pinned"],
                         f"{alt['pinned'].ratio:.2f}")
        self.assertEqual(cells["patched ODP / pristine ODP + prefetch"],
                         f"{alt['odp-prefetch'].ratio:.2f}")
        markdown = compare.to_markdown(comp)
        self.assertIn("| " + " | ".join(header) + " |", markdown)
        self.assertIn("the ratio of the medians", markdown)


def _set_p50s(rep, name_end, p50s):
    result = next(r for r in rep["results"]
                  if r["scenario"]["name"].endswith(name_end))
    for r, p50 in zip(result["repetitions"], p50s):
        r["latency"]["p50_ns"] = p50


SOFT = "soft-dirty/period=1"


class Alternatives(unittest.TestCase):
    # The patched boot of results/run/20261205-193401, soft-dirty READ:
    # ODP and the pinned MR ran in different parts of each round, and TCG's
    # slow stretches hit 2 of ODP's repetitions and 4 of pinned's.
    ODP = (1973e3, 1973e3, 3120e3, 3039e3, 2028e3)
    PINNED = (1976e3, 2923e3, 3132e3, 3098e3, 3210e3)

    def _comp(self, schedule):
        flat = {e: 2000e3 for e in EVENTS}
        a = report(flat, FAULTS_PRISTINE, alternatives={"pinned": flat})
        b = report(flat, FAULTS_PATCHED, alternatives={"pinned": flat})
        _set_p50s(b, SOFT, self.ODP)
        _set_p50s(b, SOFT + "/reg=pinned", self.PINNED)
        for rep in (a, b):
            rep["context"]["extra"]["schedule"] = schedule
        comp = compare.compare(a, b)
        row = next(r for r in compare.headline_rows(comp)
                   if r.scenario["event"] == "soft-dirty")
        return compare.against_alternatives(comp, row)["pinned"]

    def test_floor_ratio_is_per_round_where_rounds_pair_the_runs(self):
        floor = self._comp("interleaved by point, seed 1")
        self.assertAlmostEqual(floor.p50, 3098e3)
        self.assertAlmostEqual(floor.ratio, 3039 / 3098, places=4)

    def test_floor_ratio_is_of_medians_without_rounds(self):
        floor = self._comp("contiguous")
        self.assertAlmostEqual(floor.ratio, 2028 / 3098, places=4)

    def test_prefetch_ratio_divides_each_boot_by_its_pinned_mr(self):
        # Pristine's boot fast: pinned 2000 us, ODP + prefetch 2200 us. The
        # patched boot slow (x1.5) in rounds 1, 2 and 3, ODP and pinned
        # alike: patched ODP is x1.00 of its pinned MR, so x1/1.1 of
        # prefetch, where the ratio of the medians would say x1.36.
        flat = {e: 2000e3 for e in EVENTS}
        alts = {"pinned": flat, "odp-prefetch": {e: 2200e3 for e in EVENTS}}
        a = report(flat, FAULTS_PRISTINE, alternatives=alts)
        b = report(flat, FAULTS_PATCHED, alternatives=alts)
        slow = (2000e3, 3000e3, 3000e3, 3000e3, 2000e3)
        _set_p50s(b, SOFT, slow)
        _set_p50s(b, SOFT + "/reg=pinned", slow)
        for rep in (a, b):
            rep["context"]["extra"]["schedule"] = "interleaved by point, seed 1"
        comp = compare.compare(a, b)
        row = next(r for r in compare.headline_rows(comp)
                   if r.scenario["event"] == "soft-dirty")
        alt = compare.against_alternatives(comp, row)
        self.assertAlmostEqual(alt["pinned"].ratio, 1.0)
        self.assertAlmostEqual(alt["odp-prefetch"].p50, 2200e3)
        self.assertAlmostEqual(alt["odp-prefetch"].ratio, 1 / 1.1)
        self.assertIn("the median over rounds of each round's ratio",
                      compare.to_markdown(comp))
        self.assertEqual(compare.target_lines(comp), [
            "soft-dirty: pristine ODP x1.00 of pinned (met: at most x1.10; "
            "5 of 5 rounds within, x1.00-x1.00); x0.91 of pristine ODP + "
            "prefetch (met: below x1.00)"])
        # A report from before registrations ran back to back is paired by
        # round all the same, and the note says they were not adjacent.
        b["context"]["extra"]["schedule"] = "interleaved, seed 1"
        self.assertIn("not back to back", compare.to_markdown(
            compare.compare(a, b)))

    def test_targets_say_not_met(self):
        flat = {e: 2000e3 for e in EVENTS}
        alts = {"pinned": flat, "odp-prefetch": {e: 2200e3 for e in EVENTS}}
        a = report(flat, FAULTS_PRISTINE, alternatives=alts)
        b = report(flat, FAULTS_PATCHED, alternatives=alts)
        _set_p50s(b, SOFT, [2400e3] * 5)
        comp = compare.compare(a, b)
        (line,) = compare.target_lines(comp)
        self.assertIn("x1.20 of pinned (NOT met: at most x1.10)", line)
        self.assertIn("x1.09 of pristine ODP + prefetch (NOT met", line)
        self.assertIn("- " + line, compare.to_markdown(comp))


class Background(unittest.TestCase):
    def test_rates_per_second_of_wall_time_by_notifier_event(self):
        def bg(faults_per_op, calls, variant):
            rep = report(P50, FAULTS_PATCHED, variant=variant)
            sc = _scenario("none")
            sc.update(background="writeback", seconds=10,
                      name=sc["name"] + "/background=writeback/seconds=10")
            reps = [_rep(1e6, faults_per_op) for _ in range(5)]
            for r in reps:
                r["wall_ns"] = 10e9
                r["counters"].append({
                    "source": "tracepoints", "available": True,
                    "unavailable_reason": "",
                    "values": {"page_invalidations_handled": calls,
                               "protection_page:calls": calls}})
            rep["results"].append({"scenario": sc, "error": "",
                                   "aggregates": {}, "repetitions": reps})
            return rep
        comp = compare.compare(bg(16.0, 20, "pristine"),
                               bg(0.0, 20, "patched"),
                               a_label="pristine", b_label="patched")
        row = next(r for r in comp.rows
                   if r.scenario["background"] == "writeback")
        # 100 ops of 16 faults in 10 s; 20 invalidations in 10 s.
        self.assertEqual(row.rates[0], {
            "faults": 160.0, "invalidations": 2.0,
            "by_event": {"protection_page": 2.0}})
        self.assertEqual(row.rates[1]["faults"], 0.0)
        self.assertNotEqual(row.verdict, "control")
        self.assertNotIn(row, compare.headline_rows(comp))
        lines = compare.headline_lines(comp)
        self.assertIn("background activity: pristine -> patched", lines)
        self.assertIn("writeback (10 s of read 4 KiB x 16 pages, odp): "
                      "faults/s 160.0 -> 0.0; invalidation calls/s "
                      "2.0 -> 2.0 (patched: protection_page 2.0)",
                      lines[-1])


def _with_timeline(variant, faults_per_s, calls_per_s):
    """A report with one 3-second writeback scenario whose primary source
    (hw_counters) counted faults_per_s[i] and calls_per_s[i] in second
    i + 1."""
    rep = report(P50, FAULTS_PATCHED, variant=variant)
    sc = _scenario("none")
    sc.update(background="writeback", seconds=3,
              name=sc["name"] + "/background=writeback/seconds=3")
    r = _rep(1e6, sum(faults_per_s) / 300)
    r["wall_ns"] = 3e9
    r["counters"] = [{"source": "hw_counters", "available": True,
                      "unavailable_reason": "", "values": {}}]
    faults = calls = 0
    r["timeline"] = []
    for i, (f, c) in enumerate(zip(faults_per_s, calls_per_s)):
        faults, calls = faults + f, calls + c
        r["timeline"].append({
            "t_ns": (i + 1) * 1e9, "ops": (i + 1) * 100,
            "values": {"page_faults": faults,
                       "page_invalidations_handled": calls}})
    rep["results"].append({"scenario": sc, "error": "", "aggregates": {},
                           "repetitions": [r] * 5})
    return rep


class Retries(unittest.TestCase):
    def test_a_table_of_the_requesters_retries_only_for_two_nodes(self):
        a, b = report(P50, FAULTS_PRISTINE), report(P50, FAULTS_PATCHED)
        self.assertEqual(compare.retry_table(compare.compare(a, b))[1], [])
        self.assertNotIn("## Retries",
                         compare.to_markdown(compare.compare(a, b)))
        for rep_, retries in ((a, 5), (b, 0)):
            for rep in rep_["results"][0]["repetitions"]:
                rep["counters"].append({
                    "source": "requester_hw_counters", "available": True,
                    "unavailable_reason": "",
                    "values": {"completer_retry_err": retries,
                               "rcvd_rnr_err": 0, "sent_pkts": 1600}})
        comp = compare.compare(a, b)
        header, rows = compare.retry_table(comp)
        self.assertEqual(header[1:], [
            "retransmissions/op A", "retransmissions/op B",
            "RNR NAKs/op A", "RNR NAKs/op B"])
        # 5 retransmissions in 100 ops on A, none on B.
        self.assertEqual(rows, [[a["results"][0]["scenario"]["name"],
                                 "0.050", "0.000", "0.000", "0.000"]])
        self.assertIn("## Retries", compare.to_markdown(comp))


class FaultCount(unittest.TestCase):
    def test_the_count_of_the_primary_source_not_a_float_product(self):
        # 256 faults in 49 ops: (256 / 49) * 49 is 255.99999999999997.
        r = _rep(1e6, 0.0)
        r.update(ops=49, faults_per_op=256 / 49)
        r["counters"][0]["values"]["ib_umem_odp_map_dma_and_lock"] = 256
        self.assertEqual(compare.fault_count(r), 256)
        r["counters"][0]["source"] = "hw_counters"
        self.assertIsNone(compare.fault_count(r))
        r["counters"][0]["values"]["page_faults"] = 7
        self.assertEqual(compare.fault_count(r), 7)
        r["counters"][0]["available"] = False
        self.assertIsNone(compare.fault_count(r))
        r["counters"] = []
        self.assertIsNone(compare.fault_count(r))


class Timeline(unittest.TestCase):
    def test_rates_per_interval_of_the_primary_source(self):
        rep = _with_timeline("pristine", (160, 0, 480), (10, 0, 30))
        bg = rep["results"][-1]["repetitions"][0]
        self.assertEqual(compare.timeline_rates(bg), [
            (1.0, 160.0, 10.0), (2.0, 0.0, 0.0), (3.0, 480.0, 30.0)])
        bg["counters"][0]["source"] = "function-profiler"
        self.assertEqual([(t, f) for t, f, _ in compare.timeline_rates(bg)],
                         [(1.0, None), (2.0, None), (3.0, None)])
        bg["counters"][0]["available"] = False
        self.assertEqual(compare.timeline_rates(bg), [])

    def test_html_plots_each_background_scenario_over_time(self):
        a = _with_timeline("pristine", (160, 160, 160), (10, 10, 10))
        b = _with_timeline("patched", (0, 0, 0), (10, 10, 10))
        comp = compare.compare(a, b, a_label="pristine", b_label="patched")
        page = compare.to_html(comp, compare.results_by_name(a),
                               compare.results_by_name(b))
        self.assertIn("<figcaption>Faults per second over time (background "
                      "scenarios)</figcaption>", page)
        self.assertIn("patched invalidation calls/s", page)
        plain = compare.to_html(
            compare.compare(report(P50, FAULTS_PRISTINE),
                            report(P50, FAULTS_PATCHED)), {}, {})
        self.assertIn("Faults per second over time (background scenarios): "
                      "not in this run", plain)


class Html(unittest.TestCase):
    def test_three_inline_svg_plots_with_two_mr_sizes(self):
        alt = {"pinned": {e: 30e3 for e in EVENTS}}
        a = report(P50, FAULTS_PRISTINE, mrs=(1 << 20, 64 << 20),
                   alternatives=alt)
        b = report(P50, FAULTS_PATCHED, mrs=(1 << 20, 64 << 20),
                   alternatives=alt)
        page = compare.to_html(compare.compare(a, b),
                               compare.results_by_name(a),
                               compare.results_by_name(b))
        self.assertEqual(page.count("<figure class=\"plot\">"), 3)
        self.assertEqual(len(re.findall(r"<svg[\s>]", page)), 3)
        self.assertNotIn("src=\"http", page)
        self.assertNotIn("<script", page)

    def test_cdf_per_registration_names_each_measured_choice(self):
        alt = {"pinned": {e: 30e3 for e in EVENTS},
               "odp-prefetch": {e: 40e3 for e in EVENTS}}
        a = report(P50, FAULTS_PRISTINE, alternatives=alt)
        b = report(P50, FAULTS_PATCHED, alternatives=alt)
        comp = compare.compare(a, b, a_label="pristine", b_label="patched")
        row = compare.headline_rows(comp)[0]
        curves = compare._cdf_curves(  # pylint: disable=protected-access
            comp, row, compare.results_by_name(a), compare.results_by_name(b))
        self.assertEqual(
            [label for label, _, _ in curves],
            ["pristine ODP", "patched ODP", "pristine pinned",
             "patched pinned", "pristine odp-prefetch",
             "patched odp-prefetch"])
        self.assertTrue(all(res is not None for _, res, _ in curves))
        page = compare.to_html(comp, compare.results_by_name(a),
                               compare.results_by_name(b))
        self.assertIn("patched odp-prefetch", page)

    def test_one_mr_size_says_why_there_is_no_size_plot(self):
        a, b = report(P50, FAULTS_PRISTINE), report(P50, FAULTS_PATCHED)
        page = compare.to_html(compare.compare(a, b),
                               compare.results_by_name(a),
                               compare.results_by_name(b))
        self.assertEqual(page.count("<figure class=\"plot\">"), 2)
        self.assertIn("Latency against MR size: not in this run (the run "
                      "measured one MR size)", page)


class LoadErrors(unittest.TestCase):
    def test_named_causes(self):
        with tempfile.TemporaryDirectory() as d:
            missing = Path(d) / "none.json"
            with self.assertRaisesRegex(LabError, "no such report"):
                compare.load_report(missing)
            bad = Path(d) / "bad.json"
            bad.write_text("{\"schema_version\": 2, ")
            with self.assertRaisesRegex(LabError, "not a readable"):
                compare.load_report(bad)
            old = Path(d) / "old.json"
            old.write_text(json.dumps({"schema_version": 1, "context": {},
                                       "results": []}))
            with self.assertRaisesRegex(LabError, "schema_version 1"):
                compare.load_report(old)


def _under(rep, accelerator, cpu="qemu64"):
    rep["context"]["extra"].update({"accelerator": accelerator,
                                    "qemu_cpu": cpu})
    return rep


class Accelerators(unittest.TestCase):
    """KVM and TCG latencies differ by an order of magnitude: compare
    refuses to set one against the other unless told to."""

    def test_kvm_against_tcg_is_refused(self):
        a = _under(report(P50, FAULTS_PRISTINE), "kvm", "host")
        b = _under(report(P50, FAULTS_PATCHED, variant="patched"), "tcg")
        with self.assertRaises(LabError) as e:
            compare.compare(a, b, "a.json", "b.json")
        self.assertIn("a.json was measured under KVM and b.json under TCG",
                      str(e.exception))
        self.assertIn("--allow-accel-mismatch", str(e.exception))

    def test_told_to_it_compares_and_says_under_what(self):
        a = _under(report(P50, FAULTS_PRISTINE), "kvm", "host")
        b = _under(report(P50, FAULTS_PATCHED, variant="patched"), "tcg")
        comp = compare.compare(a, b, allow_accel_mismatch=True)
        md = compare.to_markdown(comp)
        self.assertIn("accelerator KVM (-cpu host)", md)
        self.assertIn("accelerator TCG (-cpu qemu64)", md)

    def test_the_header_names_the_qemu_version(self):
        a = _under(report(P50, FAULTS_PRISTINE), "tcg")
        b = _under(report(P50, FAULTS_PATCHED, variant="patched"), "tcg")
        for rep in (a, b):
            rep["context"]["extra"]["qemu_version"] = "10.0.2"
        md = compare.to_markdown(compare.compare(a, b))
        self.assertIn("accelerator TCG (-cpu qemu64, QEMU 10.0.2)", md)

    def test_same_accelerator_compares(self):
        a = _under(report(P50, FAULTS_PRISTINE), "tcg")
        b = _under(report(P50, FAULTS_PATCHED, variant="patched"), "tcg")
        self.assertEqual(len(compare.compare(a, b).rows), len(EVENTS))

    def test_unrecorded_is_said_not_refused(self):
        a = report(P50, FAULTS_PRISTINE)
        b = _under(report(P50, FAULTS_PATCHED, variant="patched"), "tcg")
        md = compare.to_markdown(compare.compare(a, b))
        self.assertIn("accelerator not recorded", md)


if __name__ == "__main__":
    unittest.main()
