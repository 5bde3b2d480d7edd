# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Checks of a comparison report: what the patches promise per event, the
Markdown table against the JSON it came from, and the HTML page rendered
by headless Chromium."""

import re
import shutil
import subprocess
from pathlib import Path

from . import expect

CHROMIUM = "chromium-headless-shell"

def expectation_checks(comp, keeps=(False, True)):
    """[(name, ok, detail)] for the comparison's RDMA READ and WRITE rows
    at period 1: each kernel's faults per op are what the report's event
    facts make of it (expect.py). `keeps` says, for A and B, whether that
    kernel keeps ODP pages on write-protect-only events: A pristine and B
    patched by default; (False, False) for two boots of pristine."""
    checks = []
    for row in comp.rows:
        sc = row.scenario
        if sc["op"] not in ("read", "write") or row.errors or \
                sc["period"] != 1:
            continue
        a, b = row.a["faults_per_op"], row.b["faults_per_op"]
        want_a = expect.expected_faults(sc, keeps=keeps[0])
        want_b = expect.expected_faults(sc, keeps=keeps[1])
        if want_a is None or want_b is None:
            continue
        facts = sc["event_facts"]
        reg = "" if sc["registration"] == "odp" else \
            f", {sc['registration']} MR"
        checks.append((
            f"{sc['op']} after {sc['event']} ({facts['notifier_event']}"
            f"{', write-protect only' if facts['write_protect_only'] else ''}"
            f"; {expect.pages_per_op(sc)} pages, MR {sc['mr_size']} B{reg}): "
            f"{comp.a_label} "
            f"{want_a} faults/op, {comp.b_label} {want_b}",
            a == want_a and b == want_b,
            f"{comp.a_label} {a}, {comp.b_label} {b}"))
    checks += clock_checks(comp)
    return checks


# Clocksources whose resolution is the scheduler tick (perftest/context.h).
TICK_CLOCKS = ("jiffies", "refined-jiffies")


def clock_checks(comp):
    """Each report's clocksource resolves latencies (not the 4 ms tick)."""
    checks = []
    for label, ctx in ((comp.a_label, comp.a_context),
                       (comp.b_label, comp.b_context)):
        extra = ctx.get("extra", {})
        clock = extra.get("clocksource")
        if clock is None:
            continue  # a report with no finished scenario
        checks.append((
            f"{label}: latencies timed with a fine clock", clock not in
            TICK_CLOCKS, f"clocksource {clock}, CPU(s) "
            f"{extra.get('online_cpus')} online, perftest on CPU(s) "
            f"{extra.get('cpu_affinity')}"))
    return checks


def _md_rows(markdown):
    rows = {}
    section = markdown.split("## Every scenario", 1)
    if len(section) < 2:
        return rows
    for line in section[1].split("\n## ", 1)[0].splitlines():
        if line.startswith("| ") and "/event=" in line:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0]] = cells
    return rows


def _json_mean(result, path, per=None):
    vals = []
    for rep in (result or {}).get("repetitions", []):
        v = rep
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        if v is None:
            continue
        if per:
            if not rep.get(per):
                continue
            v = v / rep[per]
        vals.append(float(v))
    return sum(vals) / len(vals) if vals else None


# Markdown column of the A value -> (JSON path, divide by, scale, decimals);
# B is the next column. Recomputed from the raw repetitions here, apart
# from compare's own model.
_COLUMNS = {
    1: (("faults_per_op",), None, 1.0, 2),
    7: (("latency", "p50_ns"), None, 1e3, 2),
    10: (("latency", "p99_ns"), None, 1e3, 2),
    13: (("latency", "p999_ns"), None, 1e3, 2),
    16: (("event_time_ns_total",), "events", 1e3, 2),
    19: (("ops_per_sec",), None, 1e3, 2),
}


def markdown_mismatches(markdown, report_a, report_b):
    """Every cell of the Markdown table that differs from the JSON
    reports' numbers; empty when the table matches."""
    rows = _md_rows(markdown)
    problems = []
    by_b = {r["scenario"]["name"]: r for r in report_b["results"]}
    names = [r["scenario"]["name"] for r in report_a["results"]]
    for name in names + [n for n in by_b if n not in names]:
        if name not in rows:
            problems.append(f"{name}: not in the Markdown table")
    for ra in report_a["results"]:
        name = ra["scenario"]["name"]
        cells = rows.get(name)
        if not cells:
            continue
        for col, (path, per, scale, dec) in _COLUMNS.items():
            for off, res in ((0, ra), (1, by_b.get(name))):
                v = _json_mean(res, path, per)
                want = "-" if v is None else f"{v / scale:.{dec}f}"
                if cells[col + off] != want:
                    problems.append(f"{name} column {col + off}: table "
                                    f"'{cells[col + off]}', JSON {want}")
    return problems


def render_html(html_path, png_path, timeout=120):
    """Renders html_path in headless Chromium: (ok, detail). ok needs a
    zero exit, a screenshot that is not blank, and every plot of the page
    in the rendered DOM as an <svg> with drawing in it."""
    binary = shutil.which(CHROMIUM)
    if binary is None:
        return False, (f"{CHROMIUM} not found: apt-get install "
                       f"{CHROMIUM} (./odplab setup does it as root)")
    html_path, png_path = Path(html_path).resolve(), Path(png_path)
    base = [binary, "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--window-size=1400,2600"]
    png_path.unlink(missing_ok=True)
    shot = subprocess.run(base + [f"--screenshot={png_path}",
                                  html_path.as_uri()],
                          capture_output=True, text=True, timeout=timeout,
                          check=False)
    dom = subprocess.run(base + ["--dump-dom", html_path.as_uri()],
                         capture_output=True, text=True, timeout=timeout,
                         check=False)
    if shot.returncode or dom.returncode or not png_path.exists():
        return False, (f"chromium exited {shot.returncode}/{dom.returncode}"
                       f": {(shot.stderr + dom.stderr)[-800:]}")
    figures = html_path.read_text().count("<figure class=\"plot\">")
    svgs = re.findall(r"<figure class=\"plot\">.*?</figure>", dom.stdout,
                      re.S)
    drawn = [s for s in svgs if "<svg" in s and "<path" in s]
    ink = _ink_fraction(png_path)
    ok = figures > 0 and len(drawn) == figures and ink > 0.01
    return ok, (f"{len(drawn)} of {figures} plots rendered as SVG with "
                f"paths; {ink:.1%} of the screenshot's pixels are not "
                f"white ({png_path})")


def _ink_fraction(png_path):
    import matplotlib.image as mpimg  # pylint: disable=import-outside-toplevel
    img = mpimg.imread(str(png_path))
    rgb = img[..., :3]
    return float((rgb.min(axis=-1) < 0.9).mean())
