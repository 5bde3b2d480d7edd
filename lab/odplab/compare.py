# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""`odplab compare A.json B.json`: two perftest reports side by side.

Scenarios are matched by name. For each one the comparison shows, for A
(the baseline, usually pristine) and B (usually patched), the means over
repetitions of faults per op, invalidations per repetition, p50 / p99 /
p99.9 latency, time per memory event and throughput, B / A for each, and a
verdict on the p50 latency from the repetitions:

- a two-sided Mann-Whitney U test over the repetitions' p50 values (scipy,
  exact for small samples) gives p;
- with fewer repetitions on either side than the smallest number for which
  the test can reach p < alpha at all, the verdict is "unreliable", as
  google/benchmark's compare says for too few repetitions;
- the p values of all tested scenarios are adjusted for the false
  discovery rate (Benjamini-Hochberg, statsmodels) into q values;
- the difference is significant when q < alpha and the medians differ by
  more than the noise threshold; "slower" marks a regression of B.

A U test over repetitions of one boot cannot see what differs between two
boots. Under QEMU's TCG the guest runs slower by about 1.4x for stretches
of 10 to 30 s, now and then, in any boot (one boot of 40 interleaved
rounds: every scenario's p50 rose from about 1.9 ms to about 2.7 ms in
rounds 5 to 12 and fell back). A slow stretch in one boot and not the
other moves every scenario of the boot, by up to 72 % in four pairs, and
by a different share per scenario, since it covers some of each
scenario's repetitions. Two ways to see past it:

- Normalised (the verdict of an event scenario with a control): with the
  interleaved schedule, repetition r of every scenario runs in round r,
  in a shuffled order among the others'. Such a scenario is judged on the
  ratio, per round, of its p50 to the p50 of its control in the same
  round (the scenario of the same operation, sizes, pages and period
  without a memory event, whose hot path is the same on both kernels):
  the U test runs
  over these ratios, "change" is the change of their median, and the
  noise threshold is the fixed floor (--noise). A slow stretch scales a
  round's scenario and control alike; in those four pairs the changes
  stayed within 7 %.
- Otherwise (no control, or a contiguous schedule): the U test runs over
  the p50 values themselves and the threshold is the larger of the fixed
  floor and the control noise of the operation in this run: the largest
  p50 change among the operation's controls (an operation without a
  control takes the largest control noise of all). Per operation, because
  their noise differs: under TCG fetch-and-add's controls moved by up to
  51 % between two boots while READ's stayed within 2 %.

Control rows get the verdict "control". Comparing two runs of one kernel
as a check of the controls themselves turns both off (control=False).

The model (compare()) is built once; the Markdown and HTML writers only
format it, so both show the same numbers.
"""

import html
import io
import json
import math
from dataclasses import dataclass, field
from math import comb
from pathlib import Path

from . import schema
from .common import LabError

# perftest's report schema this reads (perftest/report.h kSchemaVersion),
# from perftest/report.schema.json.
SCHEMA_VERSION = schema.schema_version()
ALPHA = 0.05
NOISE = 0.10


def min_repetitions(alpha=ALPHA):
    """The smallest n for which an exact two-sided U test of n against n
    values can give p < alpha (complete separation gives 2 / C(2n, n))."""
    n = 1
    while 2.0 / comb(2 * n, n) >= alpha:
        n += 1
    return n


def load_report(path):
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LabError(f"{path}: no such report") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LabError(f"{path}: not a readable perftest JSON report ({e}); "
                       "a run stopped while writing it leaves the previous "
                       "complete version, so this file was damaged "
                       "otherwise") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise LabError(f"{path}: schema_version {version!r}, this compare "
                       f"reads {SCHEMA_VERSION}; rerun perftest from this "
                       "tree to get a current report")
    schema.check_report(data, path)
    return data


def _mean(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return sum(values) / len(values) if values else None


def _median(values):
    s = sorted(v for v in values if v is not None and not math.isnan(v))
    if not s:
        return None
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2.0


def _primary(rep):
    """The repetition's primary counter source (counters[0]) when it is
    available, else None."""
    counters = rep.get("counters") or []
    if not counters or not counters[0].get("available"):
        return None
    return counters[0]


def _invalidations(rep):
    primary = _primary(rep)
    if primary is None:
        return None
    value = primary.get("values", {}).get("page_invalidations")
    return float(value) if value is not None else None


def _event_time(rep):
    if not rep.get("events"):
        return None
    return rep["event_time_ns_total"] / rep["events"]


# perftest --client's counters of its own device (perftest/remote.h).
REQUESTER_SOURCE = "requester_hw_counters"


def _requester_per_op(counter):
    """A requester counter per op (two nodes), or None where the report has
    no requester counters or the provider does not expose this one."""
    def extract(rep):
        for c in rep.get("counters", []):
            if c["source"] == REQUESTER_SOURCE and c.get("available"):
                value = c["values"].get(counter)
                if value is None or not rep.get("ops"):
                    return None
                return value / rep["ops"]
        return None
    return extract


# The per-repetition values each metric takes, in display order:
# key -> (label, unit, scale, decimals, extractor).
METRICS = {
    "faults_per_op": ("faults/op", "", 1.0, 2,
                      lambda r: r.get("faults_per_op")),
    "invalidations": ("invalidations", "", 1.0, 1, _invalidations),
    "p50_ns": ("p50", "us", 1e3, 2, lambda r: r["latency"]["p50_ns"]),
    "p99_ns": ("p99", "us", 1e3, 2, lambda r: r["latency"]["p99_ns"]),
    "p999_ns": ("p99.9", "us", 1e3, 2, lambda r: r["latency"]["p999_ns"]),
    "event_ns": ("event", "us", 1e3, 2, _event_time),
    "ops_per_sec": ("throughput", "kops/s", 1e3, 2,
                    lambda r: r.get("ops_per_sec")),
    # rxe's requester: requests sent again after the local ACK timeout,
    # and RNR NAKs received (each a retry after the responder's timer).
    "retransmits_per_op": ("retransmissions/op", "", 1.0, 3,
                           _requester_per_op("completer_retry_err")),
    "rnr_per_op": ("RNR NAKs/op", "", 1.0, 3,
                   _requester_per_op("rcvd_rnr_err")),
}
# The requester's retries, a table of their own where a report has them.
RETRY_COLUMNS = ("retransmits_per_op", "rnr_per_op")


def _invalidation_calls(values_by_source):
    """Calls of the MR's invalidation callback, from the first source that
    counts them."""
    for source, key in (("tracepoints", "page_invalidations_handled"),
                        ("hw_counters", "page_invalidations_handled"),
                        ("function-profiler", "rxe_ib_invalidate_range")):
        if key in values_by_source.get(source, {}):
            return values_by_source[source][key]
    return None


def per_second(result):
    """Means over the repetitions of what happened per second of wall time
    (a background scenario's window): {"faults": .., "invalidations": ..,
    "by_event": {notifier event: ..}}, by event where the tracepoints
    name it ("protection_page:calls"); keys without data are left out."""
    faults, calls, by_event = [], [], {}
    for rep in result.get("repetitions", []):
        if not rep.get("wall_ns"):
            continue
        secs = rep["wall_ns"] / 1e9
        count = fault_count(rep)
        if count is not None:
            faults.append(count / secs)
        values = {c["source"]: c["values"] for c in rep.get("counters", [])
                  if c.get("available")}
        n = _invalidation_calls(values)
        if n is not None:
            calls.append(n / secs)
        for key, v in values.get("tracepoints", {}).items():
            if key.endswith(":calls"):
                by_event.setdefault(key[:-len(":calls")], []).append(v / secs)
    out = {}
    if faults:
        out["faults"] = _mean(faults)
    if calls:
        out["invalidations"] = _mean(calls)
    if by_event:
        out["by_event"] = {k: _mean(v) for k, v in sorted(by_event.items())}
    return out


# The primary source's name for page faults (perftest/sources.cc: the
# function profiler counts calls of the fault function, once per page).
_FAULT_KEYS = {"hw_counters": "page_faults", "tracepoints": "page_faults",
               "function-profiler": "ib_umem_odp_map_dma_and_lock"}


def fault_count(rep):
    """The repetition's page faults as the integer that its primary source
    counted (perftest's CounterSources::Faults()), or None where the source
    is unavailable or does not count them. faults_per_op times ops is not
    this: the float quotient does not always multiply back to the count."""
    primary = _primary(rep)
    if primary is None:
        return None
    return primary.get("values", {}).get(_FAULT_KEYS.get(primary["source"]))


def timeline_rates(rep):
    """A background repetition's timeline as rates per interval between
    samples: [(end of the interval in s, faults/s, invalidation calls/s)],
    a rate None where the primary source does not count it; [] without a
    timeline or an available primary source."""
    primary = _primary(rep)
    if primary is None:
        return []
    source = primary["source"]
    key = _FAULT_KEYS.get(source)
    # (s, faults, calls) since the window's start, from its start on.
    totals = [(0.0, 0, 0)] + [
        (s["t_ns"] / 1e9, s["values"].get(key),
         _invalidation_calls({source: s["values"]}))
        for s in rep.get("timeline", [])]
    out = []
    prev = totals[0]
    for cur in totals[1:]:
        if cur[0] <= prev[0]:
            continue
        dt = cur[0] - prev[0]
        out.append((cur[0], *((None if now is None
                               else (now - (before or 0)) / dt)
                              for now, before in zip(cur[1:], prev[1:]))))
        prev = cur
    return out


def background_lines(comp):
    """A line per background scenario: faults and invalidations per second
    and latency, A -> B."""
    lines = []
    for r in comp.rows:
        sc = r.scenario
        if sc["background"] == "none" or r.errors:
            continue
        ra, rb = r.rates

        def pair(key, rates=(ra, rb)):
            return " -> ".join("-" if k.get(key) is None else
                               f"{k[key]:.1f}" for k in rates)
        events = ", ".join(f"{e} {v:.1f}" for e, v in
                           rb.get("by_event", {}).items())
        lines.append(
            f"  {sc['background']} ({sc['seconds']} s of {sc['op']} "
            f"{human_bytes(sc['msg_size'])} x {sc['pages']} pages, "
            f"{registration(sc)}): faults/s {pair('faults')}; invalidation "
            f"calls/s {pair('invalidations')}"
            + (f" ({comp.b_label}: {events})" if events else "")
            + f"; p50 {fmt('p50_ns', r.a['p50_ns'])} -> "
            f"{fmt('p50_ns', r.b['p50_ns'])} us, p99.9 "
            f"{fmt('p999_ns', r.a['p999_ns'])} -> "
            f"{fmt('p999_ns', r.b['p999_ns'])} us")
    return ["background activity: " + comp.a_label + " -> " + comp.b_label]\
        + lines if lines else []


def metric_values(result, key):
    """The metric's values, one per repetition that has it."""
    extract = METRICS[key][4]
    values = [extract(r) for r in result.get("repetitions", [])]
    return [float(v) for v in values if v is not None]


def fmt(key, value):
    """A metric's value as the tables print it ("-" when absent)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    _, _, scale, decimals, _ = METRICS[key]
    return f"{value / scale:.{decimals}f}"


def human_bytes(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def fmt_ratio(ratio):
    if ratio is None:
        return "-"
    return f"{ratio:.2f}"


@dataclass
class Row:
    name: str
    scenario: dict
    a: dict = field(default_factory=dict)   # metric -> mean or None
    b: dict = field(default_factory=dict)
    ratio: dict = field(default_factory=dict)
    n_a: int = 0
    n_b: int = 0
    p_value: float | None = None
    q_value: float | None = None  # p_value, Benjamini-Hochberg adjusted
    # median B / median A - 1 of the samples: of the p50, or of the
    # ratios to the control
    change: float | None = None
    verdict: str = ""
    errors: list = field(default_factory=list)
    # The values the U test compares: the repetitions' p50 of A and of B,
    # or, when `baseline` names a control, their per-round ratios to it.
    samples: tuple = ((), ())
    baseline: str = ""  # the control row the samples are normalised by
    # The repetitions' p50 of A and of B, as measured (never normalised).
    p50s: tuple = ((), ())
    # per_second() of A and of B.
    rates: tuple = ({}, {})


@dataclass
class Comparison:
    a_path: str
    b_path: str
    a_label: str
    b_label: str
    a_context: dict
    b_context: dict
    rows: list
    alpha: float
    noise: float           # the fixed floor
    min_reps: int
    # op -> (largest control |change| of that op, the control's name)
    controls: dict = field(default_factory=dict)

    @property
    def _largest_control(self):
        """(|change|, name) of the largest control of any op."""
        return max(self.controls.values()) if self.controls else (None, "")

    @property
    def control_noise(self):
        """The largest control |change| of any op, or None."""
        return self._largest_control[0]

    @property
    def control_name(self):
        """The control that set control_noise, or ""."""
        return self._largest_control[1]

    @property
    def threshold(self):
        """The largest noise threshold any verdict used."""
        return max(self.noise, self.control_noise or 0.0)

    def threshold_for(self, op):
        """The noise threshold of the scenarios of operation `op` that are
        not normalised by a control."""
        if op in self.controls:
            return max(self.noise, self.controls[op][0])
        return self.threshold

    def row_threshold(self, row):
        """The noise threshold row's verdict uses: the fixed floor for a
        row normalised by its control (the run's drift is divided out),
        else its operation's."""
        return self.noise if row.baseline else \
            self.threshold_for(row.scenario["op"])

    @property
    def normalised(self):
        """The rows judged on their ratio to a control."""
        return [r for r in self.rows if r.baseline]

    def regressions(self):
        return [r for r in self.rows if r.verdict == "slower"]


def _u_test(xs, ys):
    # Imported here so that odplab's other commands need no scipy.
    from scipy.stats import mannwhitneyu  # pylint: disable=import-outside-toplevel
    if len(set(xs) | set(ys)) == 1:
        return 1.0
    return float(mannwhitneyu(xs, ys, alternative="two-sided").pvalue)


def _u_tested(row, xs, ys, min_reps):
    """Sets row.p_value and row.change; returns the verdict when no test
    can be made ("missing", "unreliable (n<N)"), else None."""
    if not xs or not ys:
        return "missing"
    if min(len(xs), len(ys)) < min_reps:
        return f"unreliable (n<{min_reps})"
    row.p_value = _u_test(xs, ys)
    row.change = _median(ys) / _median(xs) - 1 if _median(xs) else None
    return None


def bh_adjust(p_values):
    """Benjamini-Hochberg adjusted p values (q values), in order: a
    comparison of many scenarios flags a difference when q < alpha, which
    keeps the expected share of false discoveries among the flags at
    alpha (statsmodels' multipletests; bookworm's scipy 1.10 lacks
    false_discovery_control)."""
    if not p_values:
        return []
    # Imported here so that odplab's other commands need no statsmodels.
    from statsmodels.stats.multitest import multipletests  # pylint: disable=import-outside-toplevel
    return [float(q) for q in multipletests(p_values, method="fdr_bh")[1]]


def _verdict(row, alpha, noise):
    if row.q_value >= alpha or row.change is None or abs(row.change) <= noise:
        return "same"
    return "slower" if row.change > 0 else "faster"


CONTROL_EVENT = "none"


def _is_control(row):
    """A scenario without a memory event or background activity: the hot
    path alone."""
    return (row.scenario["event"] == CONTROL_EVENT
            and row.scenario["background"] == "none")


def _family(scenario):
    """What a scenario shares with its control: all but the event."""
    return (scenario["op"], scenario["msg_size"], scenario["mr_size"],
            scenario["pages"], scenario["period"], registration(scenario),
            scenario["background"])


def interleaved(context):
    """True when repetition r of every scenario ran in round r (perftest's
    default schedule; a report's context.extra.schedule)."""
    schedule = context.get("extra", {}).get("schedule", "")
    return schedule.startswith("interleaved")


def _round_ratios(values, control):
    """values[r] / control[r] for the rounds both have."""
    return [v / c for v, c in zip(values, control) if c]


def _normalise(rows):
    """Gives each event row with a control of its family in both reports
    its per-round ratios to that control as samples."""
    controls = {_family(r.scenario): r for r in rows
                if _is_control(r) and not r.errors}
    for row in rows:
        ctl = controls.get(_family(row.scenario))
        if _is_control(row) or ctl is None or \
                row.errors or not all(ctl.samples):
            continue
        row.samples = tuple(_round_ratios(v, c)
                            for v, c in zip(row.samples, ctl.samples))
        row.n_a, row.n_b = len(row.samples[0]), len(row.samples[1])
        row.baseline = ctl.name


def _control_noise(rows):
    """{op: (largest |change| among its control rows, that row's name)}."""
    controls = {}
    for row in rows:
        if not _is_control(row) or row.errors:
            continue
        xs, ys = row.samples
        if xs and ys and _median(xs):
            change = (abs(_median(ys) / _median(xs) - 1), row.name)
            op = row.scenario["op"]
            controls[op] = max(controls.get(op, change), change)
    return controls


def accelerator(report):
    """The QEMU accelerator a report was made under ("kvm", "tcg", "none"
    for a host run), None when the report does not say."""
    return report["context"].get("extra", {}).get("accelerator")


def check_accelerators(a, b, a_path, b_path, allow=False):
    """Raises LabError when a and b were made under different accelerators:
    KVM and TCG latencies differ by an order of magnitude, so a verdict
    between them says nothing about the kernels."""
    xa, xb = accelerator(a), accelerator(b)
    if xa and xb and xa != xb and not allow:
        def under(x):
            return "no VM (the host's kernel)" if x == "none" else x.upper()
        raise LabError(
            f"{a_path} was measured under {under(xa)} and {b_path} under "
            f"{under(xb)}: their latencies are not comparable. Rerun both "
            "under one accelerator (odplab run|test|vm run --accel kvm|tcg), "
            "or pass --allow-accel-mismatch to compare them anyway")


def compare(a, b, a_path="A", b_path="B", a_label=None, b_label=None,
            alpha=ALPHA, noise=NOISE, control=True,
            allow_accel_mismatch=False):
    """The comparison of report dicts a and b (as load_report returns).

    control: raise the noise threshold to the control noise of the run
    (see the module doc). Reports made under different accelerators raise
    LabError unless allow_accel_mismatch."""
    check_accelerators(a, b, a_path, b_path, allow_accel_mismatch)
    by_name_b = {r["scenario"]["name"]: r for r in b["results"]}
    names = [r["scenario"]["name"] for r in a["results"]]
    names += [n for n in by_name_b if n not in set(names)]
    by_name_a = {r["scenario"]["name"]: r for r in a["results"]}
    min_reps = min_repetitions(alpha)
    rows = []
    for name in names:
        ra, rb = by_name_a.get(name), by_name_b.get(name)
        row = Row(name=name, scenario=(ra or rb)["scenario"])
        for side, res in (("A", ra), ("B", rb)):
            if res is None:
                row.errors.append(f"{side}: not in this report")
            elif res.get("error"):
                row.errors.append(f"{side}: {res['error']}")
        for key in METRICS:
            va = metric_values(ra, key) if ra else []
            vb = metric_values(rb, key) if rb else []
            row.a[key], row.b[key] = _mean(va), _mean(vb)
            row.ratio[key] = (row.b[key] / row.a[key]
                              if row.a[key] and row.b[key] is not None
                              else None)
        row.samples = (metric_values(ra, "p50_ns") if ra else [],
                       metric_values(rb, "p50_ns") if rb else [])
        row.p50s = row.samples
        row.rates = (per_second(ra) if ra else {},
                     per_second(rb) if rb else {})
        row.n_a, row.n_b = len(row.samples[0]), len(row.samples[1])
        rows.append(row)
    comp = Comparison(
        a_path=str(a_path), b_path=str(b_path),
        a_label=a_label or _label(a, "A"), b_label=b_label or _label(b, "B"),
        a_context=a["context"], b_context=b["context"], rows=rows,
        alpha=alpha, noise=noise, min_reps=min_reps)
    if control:
        comp.controls = _control_noise(rows)
        if interleaved(a["context"]) and interleaved(b["context"]):
            _normalise(rows)
    # Per row, the verdict when no test can be made, else None.
    untested = [_u_tested(row, *row.samples, min_reps) for row in rows]
    tested = [row for row, why in zip(rows, untested) if why is None]
    for row, q in zip(tested, bh_adjust([r.p_value for r in tested])):
        row.q_value = q
    for row, why in zip(rows, untested):
        row.verdict = why or _verdict(row, alpha, comp.row_threshold(row))
        if control and _is_control(row) and \
                row.verdict in ("same", "faster", "slower"):
            row.verdict = "control"
    return comp


def _label(report, default):
    return report["context"].get("extra", {}).get("variant") or default


def registration(scenario):
    """How the scenario's MR was registered (perftest's Registration)."""
    return scenario["registration"]


def _point(scenario):
    """The matrix point of a scenario without its registration."""
    return tuple(scenario[k] for k in ("op", "msg_size", "mr_size", "pages",
                                       "event", "period", "background"))


ALTERNATIVES = ("pinned", "odp-prefetch")


def alternatives(comp, row):
    """{registration: row} of the pinned and ODP + prefetch scenarios at
    row's matrix point, where the run measured them on both kernels."""
    point = _point(row.scenario)
    return {registration(r.scenario): r for r in comp.rows
            if not r.errors and registration(r.scenario) in ALTERNATIVES
            and _point(r.scenario) == point}


@dataclass
class Alternative:
    """One alternative to the candidate's ODP at a matrix point."""
    p50: float     # its median p50 over repetitions (ns)
    ratio: float | None  # candidate ODP / it (see against_alternatives)


def _ratio_to(context, values, yardstick):
    """values / yardstick of one report: the median over rounds of the
    per-round ratio where repetition r of both ran in round r (perftest's
    interleaved schedule, which also runs a point's registrations back to
    back), else the ratio of their medians."""
    if interleaved(context):
        return _median(_round_ratios(values, yardstick))
    num, den = _median(values), _median(yardstick)
    return num / den if num is not None and den else None


def against_alternatives(comp, row):
    """What the user would do instead, next to the candidate's ODP (row.b):
    {"pinned": Alternative, "odp-prefetch": Alternative}, each present
    where the run measured it on both kernels.

    - pinned: the pinned MR in the candidate's boot (the floor); the ratio
      is candidate ODP / pinned, per round (_ratio_to).
    - odp-prefetch: the baseline's ODP + prefetch, from the other boot.
      Where both boots measured the pinned MR, the ratio is (candidate ODP
      / its boot's pinned MR) / (baseline prefetch / its boot's pinned
      MR): the pinned MR runs the same code on both kernels and is the
      yardstick of each boot's speed. Else the ratio of the medians.

    The per-round ratio is why: a TCG guest runs 1.4x to 1.7x slower for
    stretches of 10 to 30 s now and then. Which repetitions of a scenario a
    stretch hits is luck, and with 5 repetitions 2 slow ones of ODP against
    4 of pinned moved the ratio of medians to x0.65 (results/run/
    20261205-193401). Both sides of a round's pair run within a second or
    two of each other, so a stretch moves them together."""
    out = {}
    alt = alternatives(comp, row)
    mine = row.p50s[1]
    pinned = alt.get("pinned")
    floor_b = _median(pinned.p50s[1]) if pinned else None
    if floor_b:
        out["pinned"] = Alternative(
            floor_b, _ratio_to(comp.b_context, mine, pinned.p50s[1]))
    pre = alt.get("odp-prefetch")
    theirs = _median(pre.p50s[0]) if pre else None
    if theirs:
        if floor_b and _median(pinned.p50s[0]):
            ours = out["pinned"].ratio
            base = _ratio_to(comp.a_context, pre.p50s[0], pinned.p50s[0])
            ratio = ours / base if ours is not None and base else None
        else:
            mid = _median(mine)
            ratio = mid / theirs if mid is not None else None
        out["odp-prefetch"] = Alternative(theirs, ratio)
    return out


def _by_point(context):
    """True when perftest also ran a point's registrations back to back
    in each round (perftest/round.h; since 5d1f0aa)."""
    schedule = context.get("extra", {}).get("schedule", "")
    return schedule.startswith("interleaved by point")


def alternatives_note(comp):
    """How the headline's ratios to the alternatives were taken, as
    _ratio_to() and against_alternatives() take them."""
    if not interleaved(comp.b_context):
        how = "the ratio of the medians (the schedule was not interleaved)"
    elif _by_point(comp.b_context):
        how = ("the median over rounds of each round's ratio (perftest runs "
               "a point's registrations back to back in every round)")
    else:
        how = ("the median over rounds of each round's ratio (in a round, "
               "not back to back: a report from before 5d1f0aa)")
    return (f"p50 in us, the median over repetitions of each repetition's "
            f"p50; the pinned MR is the floor, measured in the same boot as "
            f"the ODP it is set against. {comp.b_label} ODP / pinned is "
            f"{how}. {comp.b_label} ODP / {comp.a_label} ODP + prefetch "
            f"compares two boots: where both measured the pinned MR, each "
            f"side is first divided by the pinned MR of its own boot (which "
            f"assumes the pinned MR costs the same on both kernels: it runs "
            f"the same code), else it is the ratio of the medians. Targets "
            f"give how many rounds met the floor target alone, not a test.")


# What patched ODP should cost against the alternatives after an event
# that only write-protects (issue 17's target): at most this times the
# pinned floor of its boot, and less than the baseline's ODP + prefetch.
FLOOR_TARGET = 1.10


def target_lines(comp):
    """Per write-protect-only event of the headline: whether the
    candidate's ODP met FLOOR_TARGET against the pinned MR and beat the
    baseline's ODP + prefetch, with the ratios against_alternatives()
    takes. [] when the run measured no alternative."""
    lines = []
    for r in headline_rows(comp):
        if r.scenario["event"] == "none" or \
                not r.scenario["event_facts"]["write_protect_only"]:
            continue
        alt = against_alternatives(comp, r)
        parts = []
        if "pinned" in alt and alt["pinned"].ratio is not None:
            ratio = alt["pinned"].ratio
            rounds = ""
            if interleaved(comp.b_context):
                each = _round_ratios(r.p50s[1],
                                     alternatives(comp, r)["pinned"].p50s[1])
                within = sum(x <= FLOOR_TARGET for x in each)
                rounds = (f"; {within} of {len(each)} rounds within, "
                          f"x{fmt_ratio(min(each))}-x{fmt_ratio(max(each))}")
            parts.append(f"x{fmt_ratio(ratio)} of pinned ("
                         f"{'met' if ratio <= FLOOR_TARGET else 'NOT met'}: "
                         f"at most x{FLOOR_TARGET:.2f}{rounds})")
        if "odp-prefetch" in alt and alt["odp-prefetch"].ratio is not None:
            ratio = alt["odp-prefetch"].ratio
            parts.append(f"x{fmt_ratio(ratio)} of {comp.a_label} ODP + "
                         f"prefetch ({'met' if ratio < 1 else 'NOT met'}: "
                         "below x1.00)")
        if parts:
            lines.append(f"{r.scenario['event']}: {comp.b_label} ODP "
                         + "; ".join(parts))
    return lines


def headline_rows(comp):
    """One row per event for the headline scenario family: RDMA READ (or
    the first op), the most pages per op, the smallest MR and message,
    period 1 (or the smallest), ODP registration."""
    rows = [r for r in comp.rows if not r.errors
            and registration(r.scenario) == "odp"
            and r.scenario["background"] == "none"]
    if not rows:
        return []
    scs = [r.scenario for r in rows]
    ops = [s["op"] for s in scs]
    op = "read" if "read" in ops else ops[0]
    fam = [s for s in scs if s["op"] == op]
    pages = max(s["pages"] for s in fam)
    fam = [s for s in fam if s["pages"] == pages]
    mr = min(s["mr_size"] for s in fam)
    fam = [s for s in fam if s["mr_size"] == mr]
    msg = min(s["msg_size"] for s in fam)
    fam = [s for s in fam if s["msg_size"] == msg]
    period = min(s["period"] for s in fam)
    keep = {s["name"] for s in fam if s["period"] == period}
    return [r for r in rows if r.name in keep]


def headline_lines(comp):
    lines = []
    rows = headline_rows(comp)
    if not rows:
        return ["no ODP scenario finished on both kernels"]
    sc = rows[0].scenario
    lines.append(
        f"headline: {sc['op']} {human_bytes(sc['msg_size'])}, {sc['pages']} "
        f"pages per op, MR {human_bytes(sc['mr_size'])}, event every "
        f"{sc['period']} op(s); {comp.a_label} -> {comp.b_label}")
    width = max(len(r.scenario["event"]) for r in rows)
    for r in rows:
        lines.append(
            f"  {r.scenario['event']:<{width}}  faults/op "
            f"{fmt('faults_per_op', r.a['faults_per_op']):>6} -> "
            f"{fmt('faults_per_op', r.b['faults_per_op']):>6}   p50 "
            f"{fmt('p50_ns', r.a['p50_ns']):>9} -> "
            f"{fmt('p50_ns', r.b['p50_ns']):>9} us "
            f"(x{fmt_ratio(r.ratio['p50_ns'])}, {r.verdict})")
        alt = against_alternatives(comp, r)
        parts = []
        if "pinned" in alt:
            floor = alt["pinned"]
            parts.append(f"pinned MR {fmt('p50_ns', floor.p50)} us in the "
                         f"{comp.b_label} boot ({comp.b_label} ODP "
                         f"x{fmt_ratio(floor.ratio)})")
        if "odp-prefetch" in alt:
            pre = alt["odp-prefetch"]
            parts.append(f"{comp.a_label} ODP + prefetch "
                         f"{fmt('p50_ns', pre.p50)} us ({comp.b_label} ODP "
                         f"x{fmt_ratio(pre.ratio)})")
        if parts:
            lines.append(f"  {'':<{width}}  median p50: " + "; ".join(parts))
    return lines + background_lines(comp)


def headline_table(comp):
    """The headline as a table, one row per event: what each of the
    user's choices costs per op (the median over repetitions of each
    repetition's p50, as against_alternatives() takes them) and patched
    ODP's ratio to the two alternatives. (header, rows of str)."""
    a, b = comp.a_label, comp.b_label
    header = ["event", f"faults/op {a} ODP", f"faults/op {b} ODP",
              f"pinned MR ({b} boot)", f"{a} ODP", f"{a} ODP + prefetch",
              f"{b} ODP", f"{b} ODP / pinned",
              f"{b} ODP / {a} ODP + prefetch", "p50 verdict"]
    rows = []
    for r in headline_rows(comp):
        alt = against_alternatives(comp, r)
        none = Alternative(None, None)
        pinned = alt.get("pinned", none)
        pre = alt.get("odp-prefetch", none)
        rows.append([
            r.scenario["event"], fmt("faults_per_op", r.a["faults_per_op"]),
            fmt("faults_per_op", r.b["faults_per_op"]),
            fmt("p50_ns", pinned.p50), fmt("p50_ns", _median(r.p50s[0])),
            fmt("p50_ns", pre.p50), fmt("p50_ns", _median(r.p50s[1])),
            fmt_ratio(pinned.ratio), fmt_ratio(pre.ratio), r.verdict])
    return header, rows


# ---------------------------------------------------------------- Markdown

def _context_lines(label, ctx):
    series = ctx.get("patch_series") or {}
    if not ctx.get("kernel_release"):
        return [f"- **{label}**: no report context (no perftest report; "
                "a stopped run ends before this kernel)"]
    return [
        f"- **{label}**: kernel {ctx['kernel_release']} (config "
        f"sha256 {ctx.get('kernel_config_hash', '?')[:12]}), device "
        f"{ctx.get('device', '?')}, {ctx.get('cpu_model', '?')}, "
        f"accelerator {_accel_text(ctx)}, "
        f"{ctx.get('date', '?')}; patches: "
        + (", ".join(f"{n} ({h[:12]})" for n, h in sorted(series.items()))
           or "none")]


def _accel_text(ctx):
    extra = ctx.get("extra", {})
    name = extra.get("accelerator")
    if not name:
        return "not recorded"
    details = [f"-cpu {extra['qemu_cpu']}"] if extra.get("qemu_cpu") else []
    if extra.get("qemu_version"):
        details.append(f"QEMU {extra['qemu_version']}")
    return name.upper() + (f" ({', '.join(details)})" if details else "")


MD_COLUMNS = ("faults_per_op", "invalidations", "p50_ns", "p99_ns",
              "p999_ns", "event_ns", "ops_per_sec")


def md_header():
    cells = ["scenario"]
    for key in MD_COLUMNS:
        label, unit = METRICS[key][0], METRICS[key][1]
        suffix = f" {unit}" if unit else ""
        cells += [f"{label}{suffix} A", f"{label}{suffix} B", "B/A"]
    cells += ["p50/control B/A", "n A/B", "p (U)", "q (BH)", "p50 verdict"]
    return cells


def md_cells(row):
    cells = [row.name]
    for key in MD_COLUMNS:
        cells += [fmt(key, row.a[key]), fmt(key, row.b[key]),
                  fmt_ratio(row.ratio[key])]
    cells += [fmt_ratio(row.change + 1) if row.baseline and
              row.change is not None else "-",
              f"{row.n_a}/{row.n_b}",
              "-" if row.p_value is None else f"{row.p_value:.3f}",
              "-" if row.q_value is None else f"{row.q_value:.3f}",
              row.verdict if not row.errors else "; ".join(row.errors)]
    return cells


def retry_table(comp):
    """(header, rows) of the requester's retries per op on each kernel,
    for the scenarios of a run of two nodes; rows empty otherwise."""
    header = ["scenario"]
    for key in RETRY_COLUMNS:
        header += [f"{METRICS[key][0]} A", f"{METRICS[key][0]} B"]
    rows = []
    for r in comp.rows:
        if all(r.a.get(k) is None and r.b.get(k) is None
               for k in RETRY_COLUMNS):
            continue
        cells = [r.name]
        for key in RETRY_COLUMNS:
            cells += [fmt(key, r.a.get(key)), fmt(key, r.b.get(key))]
        rows.append(cells)
    return header, rows


RETRY_NOTE = ("Retries of the requester (perftest --client's own "
              "hw_counters), means over repetitions: retransmissions after "
              "its local ACK timeout (completer_retry_err) and RNR NAKs "
              "received (rcvd_rnr_err), per op.")


def _md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"
            for r in rows]
    return out


def _check_lines(checks):
    return [f"- {'PASS' if ok else 'FAIL'} {name}: {detail}"
            for name, ok, detail in checks]


def noise_line(comp):
    """How the noise thresholds came about, in one sentence."""
    events = [r for r in comp.rows if not _is_control(r)]
    normalised = comp.normalised
    if not normalised:
        return _unnormalised_noise_line(comp)
    moved = ("" if comp.control_noise is None else
             f"; the controls themselves moved at most "
             f"{comp.control_noise:.0%} between the runs")
    text = (f"the fixed floor {comp.noise:.0%} on the p50 of "
            f"{len(normalised)} of {len(events)} event scenarios divided, "
            "round by round, by the p50 of their control (same operation, "
            "sizes, pages and period, no memory event) in the same round, "
            "which cancels a drift of the machine within a run" + moved)
    if len(normalised) == len(events):
        return text
    return (f"{text}; for the others, not normalised: "
            f"{_unnormalised_noise_line(comp)}")


def _unnormalised_noise_line(comp):
    floor = f"the fixed floor {comp.noise:.0%}"
    if comp.control_noise is None:
        return (f"{comp.threshold:.0%}, {floor} (no control scenario "
                "without a memory event to measure the run's own noise)")
    if len(comp.controls) > 1:
        parts = []
        for op, (change, name) in sorted(comp.controls.items()):
            parts.append(f"{op} {comp.threshold_for(op):.0%} (controls moved "
                         f"at most {change:.0%}"
                         + (f", {name})" if change > comp.noise else ")"))
        return (f"per operation, the larger of {floor} and the largest p50 "
                "change of that operation's control scenarios without a "
                "memory event, which run the same code on both kernels: "
                + "; ".join(parts))
    if comp.control_noise <= comp.noise:
        return (f"{comp.threshold:.0%}, {floor}; the control scenarios "
                f"(no memory event) moved at most "
                f"{comp.control_noise:.0%} between the runs")
    return (f"{comp.threshold:.0%}, the largest p50 change among the "
            f"control scenarios without a memory event ({comp.control_name}"
            f"), which run the same code on both kernels, above {floor}")


def same_kernel_line(comp):
    """For two runs of one kernel, where every difference is noise: how
    many tested scenarios compare called different (the false-positive
    rate of its thresholds), and how many U tests alone would have."""
    tested = [r for r in comp.rows if r.verdict != "control"
              and r.p_value is not None]
    flagged = [r for r in tested if r.verdict in ("faster", "slower")]
    raw = [r for r in tested if r.p_value < comp.alpha]
    return (f"same kernel, two boots: {len(flagged)} of {len(tested)} "
            f"tested scenarios flagged (false-positive rate "
            f"{len(flagged) / max(1, len(tested)):.1%}); {len(raw)} had "
            f"p < {comp.alpha} before the BH adjustment; noise threshold "
            f"{noise_line(comp)}")


def chance_line(comp):
    """How many U tests came out significant before and after the false
    discovery rate control."""
    tested = sum(1 for r in comp.rows if r.p_value is not None)
    if not tested:
        return ("No scenario was U-tested (none has enough repetitions "
                "on both sides).")
    raw = sum(1 for r in comp.rows
              if r.p_value is not None and r.p_value < comp.alpha)
    kept = sum(1 for r in comp.rows
               if r.q_value is not None and r.q_value < comp.alpha)
    beyond = sum(1 for r in comp.rows if r.verdict in ("faster", "slower"))
    return (f"{tested} scenarios were U-tested: {raw} at p < {comp.alpha} "
            f"(chance alone gives about {tested * comp.alpha:.1f}), {kept} "
            f"of them at a false discovery rate of {comp.alpha} "
            f"(Benjamini-Hochberg q < {comp.alpha}), {beyond} of those "
            "beyond their noise threshold (faster or slower). The verdicts "
            "use q.")


def to_markdown(comp, reference=None, checks=None):
    lines = [f"# ODP per-event comparison: {comp.a_label} (A) vs "
             f"{comp.b_label} (B)", ""]
    lines += _context_lines(f"A = {comp.a_label}", comp.a_context)
    lines += _context_lines(f"B = {comp.b_label}", comp.b_context)
    lines += ["", "## Headline", "", "```"] + headline_lines(comp) + \
        ["```", ""]
    header, rows = headline_table(comp)
    if rows:
        lines += [alternatives_note(comp), ""]
        lines += _md_table(header, rows) + [""]
    targets = target_lines(comp)
    if targets:
        lines += ["Targets:", ""] + [f"- {t}" for t in targets] + [""]
    regs = comp.regressions()
    lines.append(f"Noise threshold: {noise_line(comp)}.")
    lines.append("")
    lines.append(chance_line(comp))
    lines.append("")
    apart = (f"more than {comp.threshold:.0%} apart"
             if len(comp.controls) < 2 and not comp.normalised
             else "further apart than their threshold")
    lines.append(f"Regressions (B slower on p50, BH-adjusted U test q < "
                 f"{comp.alpha} and "
                 f"{apart}): "
                 + (", ".join(r.name for r in regs) if regs else "none"))
    if checks:
        lines += ["", "## Checks", ""] + _check_lines(checks)
    lines += ["", "## Every scenario", "",
              "Means over repetitions. invalidations: valid pages "
              "dropped per repetition, from the report's primary counter "
              "source (none from the function profiler); "
              "event: per memory event. "
              "p50/control: the median over rounds of the p50 divided by "
              "the control's p50 in the same round, B over A. "
              f"Verdict: U test over the repetitions' p50, or their "
              f"ratios to the control where p50/control is given; "
              f"'unreliable' below {comp.min_reps} repetitions.", ""]
    lines += _md_table(md_header(), [md_cells(r) for r in comp.rows])
    header, rows = retry_table(comp)
    if rows:
        lines += ["", "## Retries", "", RETRY_NOTE, ""]
        lines += _md_table(header, rows)
    if reference:
        lines += ["", f"## Reference: {reference_title(reference)}", ""]
        lines += _md_table(REF_HEADER, reference_rows(reference))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------- the reference

REF_HEADER = ["tool", "bytes", "typical us A", "typical us B", "B/A",
              "p99 us A", "p99 us B", "rounds A/B", "valid"]

# A typical latency this close to one scheduler tick, or above it, is the
# tick: both ends of ib_write_lat and ib_send_lat busy-poll, and on a
# 2-vCPU guest the side that waits runs once the other's slice ends.
TICK_SHARE = 0.9


def tick_problem(ref, typical_us):
    """Why a reference tool's typical is the scheduler's tick and not an
    RDMA latency, or "" (also when the guest did not say its HZ)."""
    hz = (ref or {}).get("context", {}).get("kernel_hz", "")
    if typical_us is None or not str(hz).isdigit() or int(hz) == 0:
        return ""
    tick_us = 1e6 / int(hz)
    if typical_us < TICK_SHARE * tick_us:
        return ""
    return (f"invalid: typical {typical_us:.0f} us is the scheduler tick "
            f"(HZ {hz}: {tick_us:.0f} us), not RDMA")


def _ref_stats(ref, tool):
    runs = [r for r in (ref or {}).get("runs", [])
            if r["tool"] == tool and not r["warmup"] and "reference" in r]
    return (_median([r["reference"]["t_typical_us"] for r in runs]),
            _median([r["reference"]["p99_us"] for r in runs]), len(runs))


def reference_title(reference):
    """"perftest 25.01.0+0.80 with --odp": the version the guest's context
    names (reflat.py records it), or "(version not recorded)"."""
    versions = sorted({(ref or {}).get("context", {}).get(
        "reference_perftest", "") for ref in reference.values()} - {""})
    return f"perftest {' / '.join(versions) or '(version not recorded)'} " \
        "with --odp"


def reference_rows(reference):
    """reference: {"A": reference.json dict or None, "B": ...}; the median
    over measured rounds of each tool's typical and p99."""
    a, b = reference.get("A"), reference.get("B")
    tools = []
    for ref in (a, b):
        for r in (ref or {}).get("runs", []):
            if r["tool"] not in tools:
                tools.append(r["tool"])
    rows = []
    for tool in tools:
        ta, pa, na = _ref_stats(a, tool)
        tb, pb, nb = _ref_stats(b, tool)
        size = ((a or b) or {}).get("size", "?")
        problems = [f"{side}: {p}" for side, p in
                    (("A", tick_problem(a, ta)), ("B", tick_problem(b, tb)))
                    if p]
        rows.append([tool, str(size),
                     "-" if ta is None else f"{ta:.2f}",
                     "-" if tb is None else f"{tb:.2f}",
                     fmt_ratio(tb / ta if ta and tb is not None else None),
                     "-" if pa is None else f"{pa:.2f}",
                     "-" if pb is None else f"{pb:.2f}", f"{na}/{nb}",
                     "; ".join(problems) or "yes"])
    return rows


# -------------------------------------------------------------- the plots

def _svg(fig):
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _mean_cdf(result):
    """The mean over repetitions of each quantile (Vincentized CDF), in
    us; None when no repetition has quantiles."""
    curves = [r["latency"].get("quantiles_ns") or []
              for r in (result or {}).get("repetitions", [])]
    curves = [c for c in curves if c]
    if not curves:
        return None
    n = min(len(c) for c in curves)
    return [sum(c[i] for c in curves) / len(curves) / 1e3 for i in range(n)]


def _cdf_curves(comp, row, results_a, results_b):
    """(label, result, line style) of each registration measured at row's
    point: ODP on both kernels, then the alternatives on each."""
    curves = [(f"{comp.a_label} ODP", results_a.get(row.name), "-"),
              (f"{comp.b_label} ODP", results_b.get(row.name), "--")]
    for reg, alt in alternatives(comp, row).items():
        curves += [(f"{comp.a_label} {reg}", results_a.get(alt.name), "-."),
                   (f"{comp.b_label} {reg}", results_b.get(alt.name), ":")]
    return curves


def plot_cdfs(comp, results_a, results_b, plt):
    rows = headline_rows(comp)
    if not rows:
        return None
    cols = min(3, len(rows))
    nrows = (len(rows) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.0 * nrows),
                             squeeze=False)
    for ax, row in zip(axes.flat, rows):
        for label, res, style in _cdf_curves(comp, row, results_a,
                                             results_b):
            cdf = _mean_cdf(res)
            if cdf:
                ys = [i / (len(cdf) - 1) for i in range(len(cdf))]
                ax.plot(cdf, ys, style, label=label)
        ax.set_xscale("log")
        ax.set_title(row.scenario["event"], fontsize=10)
        ax.set_xlabel("latency (us)")
        ax.set_ylabel("fraction of ops")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(rows):]:
        ax.set_visible(False)
    fig.suptitle("Latency CDF per event and registration (headline "
                 "scenarios)", y=1.02)
    return _svg(fig)


def plot_faults(comp, plt):
    rows = headline_rows(comp)
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows)), 3.6))
    xs = range(len(rows))
    for off, label, side in ((-0.2, comp.a_label, "a"),
                             (0.2, comp.b_label, "b")):
        vals = [getattr(r, side)["faults_per_op"] for r in rows]
        bars = ax.bar([x + off for x in xs], [v if v is not None else 0
                                              for v in vals], width=0.4,
                      label=label)
        ax.bar_label(bars, labels=[fmt("faults_per_op", v) for v in vals],
                     fontsize=7)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([r.scenario["event"] for r in rows], rotation=30,
                       ha="right")
    ax.set_ylabel("page faults per op")
    ax.set_title("Faults per op per event (headline scenarios)")
    ax.legend()
    ax.grid(True, axis="y", alpha=0.3)
    return _svg(fig)


def plot_timelines(comp, results_a, results_b, plt):
    """Faults and invalidation calls per second over each background
    scenario's window, every repetition of both kernels; None without a
    background scenario that has a timeline."""
    rows = [r for r in comp.rows if not r.errors
            and r.scenario["background"] != "none"
            and any(timeline_rates(rep)
                    for res in (results_a.get(r.name), results_b.get(r.name))
                    for rep in (res or {}).get("repetitions", []))]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 1, figsize=(7, 3.2 * len(rows)),
                             squeeze=False)
    for ax, row in zip(axes.flat, rows):
        for color, label, res in (("C0", comp.a_label,
                                   results_a.get(row.name)),
                                  ("C1", comp.b_label,
                                   results_b.get(row.name))):
            for i, rep in enumerate((res or {}).get("repetitions", [])):
                rates = timeline_rates(rep)
                for col, style, what in ((1, "-", "faults/s"),
                                         (2, ":", "invalidation calls/s")):
                    pts = [(p[0], p[col]) for p in rates
                           if p[col] is not None]
                    if pts:
                        ax.plot(*zip(*pts), style, color=color, alpha=0.7,
                                label=f"{label} {what}" if i == 0 else None)
        sc = row.scenario
        ax.set_title(f"{sc['background']}: {sc['op']} "
                     f"{human_bytes(sc['msg_size'])} x {sc['pages']} pages, "
                     f"{registration(sc)}", fontsize=10)
        ax.set_xlabel("seconds into the window")
        ax.set_ylabel("per second")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Faults and invalidations per second over time "
                 "(background scenarios)", y=1.02)
    return _svg(fig)


def plot_mr_sizes(comp, plt):
    """p50 against MR size for each event of the headline family with the
    MR size left free; None when the run has one MR size."""
    head = headline_rows(comp)
    if not head:
        return None
    sc0 = head[0].scenario
    fam = [r for r in comp.rows if not r.errors and all(
        r.scenario[k] == sc0[k] for k in ("op", "msg_size", "pages",
                                          "period", "registration"))]
    sizes = sorted({r.scenario["mr_size"] for r in fam})
    if len(sizes) < 2:
        return None
    events = list(dict.fromkeys(r.scenario["event"] for r in fam))
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, event in enumerate(events):
        pts = sorted(((r.scenario["mr_size"], r) for r in fam
                      if r.scenario["event"] == event), key=lambda p: p[0])
        color = f"C{i % 10}"
        for side, style in (("a", "-"), ("b", "--")):
            xs = [s for s, r in pts if getattr(r, side)["p50_ns"]]
            ys = [getattr(r, side)["p50_ns"] / 1e3 for _, r in pts
                  if getattr(r, side)["p50_ns"]]
            ax.plot(xs, ys, style, marker="o", color=color,
                    label=f"{event} ({comp.a_label if side == 'a' else comp.b_label})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("MR size (bytes)")
    ax.set_ylabel("p50 latency (us)")
    ax.set_title("p50 latency against MR size")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _svg(fig)


# ------------------------------------------------------------------- HTML

_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:100em}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #bbb;padding:2px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}
tr.slower td{background:#fdd}tr.faster td{background:#dfd}
pre{background:#f4f4f4;padding:.6em}figure{margin:1em 0}"""


def _html_table(header, rows, classes=None):
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>"
                                   for h in header) + "</tr>"]
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>"
                                          for c in r) + "</tr>")
    return "\n".join(out) + "</table>"


def to_html(comp, results_a, results_b, reference=None, checks=None):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("svg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    plt.rcParams["svg.fonttype"] = "none"
    # (title, SVG or None, why a run has no such plot)
    no_headline = "no ODP event scenario finished on both kernels"
    figures = [("Latency CDF per event and registration",
                plot_cdfs(comp, results_a, results_b, plt), no_headline),
               ("Faults per op per event", plot_faults(comp, plt),
                no_headline),
               ("Latency against MR size", plot_mr_sizes(comp, plt),
                "the run measured one MR size"),
               ("Faults per second over time (background scenarios)",
                plot_timelines(comp, results_a, results_b, plt),
                "no background scenario with a timeline (schema 5)")]
    plt.close("all")
    parts = [
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">",
        f"<title>ODP comparison: {html.escape(comp.a_label)} vs "
        f"{html.escape(comp.b_label)}</title><style>{_CSS}</style></head>"
        "<body>",
        f"<h1>ODP per-event comparison: {html.escape(comp.a_label)} (A) vs "
        f"{html.escape(comp.b_label)} (B)</h1><ul>"]
    for label, ctx in ((f"A = {comp.a_label}", comp.a_context),
                       (f"B = {comp.b_label}", comp.b_context)):
        parts.append("<li>" + html.escape(
            _context_lines(label, ctx)[0][2:].replace("**", "")) + "</li>")
    parts.append("</ul><h2>Headline</h2><pre>" + html.escape(
        "\n".join(headline_lines(comp))) + "</pre>")
    header, rows = headline_table(comp)
    if rows:
        parts.append("<p>" + html.escape(alternatives_note(comp)) + "</p>"
                     + _html_table(header, rows))
    targets = target_lines(comp)
    if targets:
        parts.append("<p>Targets:</p><ul>" + "".join(
            f"<li>{html.escape(t)}</li>" for t in targets) + "</ul>")
    parts.append("<p>Noise threshold: " + html.escape(noise_line(comp))
                 + ". " + html.escape(chance_line(comp)) + "</p>")
    if checks:
        parts.append("<h2>Checks</h2><ul>" + "".join(
            f"<li>{html.escape(line[2:])}</li>"
            for line in _check_lines(checks)) + "</ul>")
    for title, svg, why in figures:
        if svg:
            parts.append(f"<figure class=\"plot\"><figcaption>"
                         f"{html.escape(title)}</figcaption>{svg}</figure>")
        else:
            parts.append(f"<p>{html.escape(title)}: not in this run "
                         f"({html.escape(why)}).</p>")
    parts.append("<h2>Every scenario</h2>")
    parts.append(_html_table(md_header(), [md_cells(r) for r in comp.rows],
                             [r.verdict if r.verdict in ("slower", "faster")
                              else "" for r in comp.rows]))
    header, rows = retry_table(comp)
    if rows:
        parts.append("<h2>Retries</h2><p>" + html.escape(RETRY_NOTE)
                     + "</p>" + _html_table(header, rows))
    if reference:
        parts.append(f"<h2>Reference: "
                     f"{html.escape(reference_title(reference))}</h2>")
        parts.append(_html_table(REF_HEADER, reference_rows(reference)))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def results_by_name(report):
    return {r["scenario"]["name"]: r for r in report["results"]}


def write_outputs(a_path, b_path, out_dir, a_label=None, b_label=None,
                  reference=None, noise=NOISE, alpha=ALPHA, control=True,
                  allow_accel_mismatch=False):
    """Reads both reports and writes compare.md and compare.html into
    out_dir; returns the Comparison."""
    a, b = load_report(a_path), load_report(b_path)
    comp = compare(a, b, a_path, b_path, a_label, b_label, alpha=alpha,
                   noise=noise, control=control,
                   allow_accel_mismatch=allow_accel_mismatch)
    write_comparison_files(comp, a, b, out_dir, reference)
    return comp


def write_comparison_files(comp, a, b, out_dir, reference=None,
                           checks=None):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(out_dir / "compare.md",
                  to_markdown(comp, reference, checks))
    _atomic_write(out_dir / "compare.html",
                  to_html(comp, results_by_name(a), results_by_name(b),
                          reference, checks))


def _atomic_write(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
