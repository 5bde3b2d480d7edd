# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""rdma-core's pyverbs test suite in the guests: its outcome file, the
EOPNOTSUPP errors it reports instead of skipping, and the verdict on tests
that pristine passes and patched does not."""

import errno

from .common import PROJECT_ROOT

SUITE = PROJECT_ROOT / "lab" / "guest" / "pyverbs_suite.py"

# A test pristine passes and patched does not in the suite run is run
# again, alone, RERUNS times in one fresh boot of each kernel. More than
# MAX_RERUN such tests is no race: they count as lost without reruns.
RERUNS = 8
MAX_RERUN = 10
# One-sided Fisher exact test: patched passes less often than pristine.
ALPHA = 0.05


def unsupported(outcome):
    """The reason when an error is the device refusing a feature
    (PyverbsRDMAError with errno EOPNOTSUPP), which rdma-core's suite
    reports as an error in a few places instead of skipping; None
    otherwise. pyverbs_suite.py records the exception's type and errno."""
    exc = outcome.get("exception") or {}
    if outcome["outcome"] != "error" or \
            exc.get("type") != "PyverbsRDMAError" or \
            exc.get("errno") != errno.EOPNOTSUPP:
        return None
    return (f"the device does not support it: {exc.get('message', '')} "
            "(the suite reports this EOPNOTSUPP as an error)")


def rerun_verdict(base_passes, cand_passes, runs):
    """(lost, p): whether patched passed significantly less often than
    pristine in the same number of reruns, and the p value of that."""
    # Imported here so that odplab's other commands need no scipy.
    from scipy.stats import fisher_exact  # pylint: disable=import-outside-toplevel
    table = [[base_passes, runs - base_passes],
             [cand_passes, runs - cand_passes]]
    p = float(fisher_exact(table, alternative="greater").pvalue)
    return p < ALPHA, p


def judge(base, cand, rerun):
    """(ok, detail, notes) on whether patched passes every test pristine
    passes. base, cand: {test: outcome} of the suite runs; rerun(variant,
    tests) -> {test: passes in RERUNS runs} or None when it did not run. A
    test only the suite run lost counts as lost when the reruns show
    patched passing it significantly less often, and as flaky, in the
    notes, when not."""
    on_patched = {t: cand.get(t, {}).get("outcome", "missing")
                  for t, o in sorted(base.items()) if o["outcome"] == "pass"}
    lost = {t: o for t, o in on_patched.items() if o != "pass"}
    if not lost:
        return True, f"{len(on_patched)} tests", []
    if len(lost) > MAX_RERUN:
        return False, "; ".join(f"{t}: {o}" for t, o in
                                list(lost.items())[:10]), []
    reruns = {v: rerun(v, list(lost)) for v in ("pristine", "patched")}
    if None in reruns.values():
        return False, ("the reruns did not run; in the suite run: " +
                       "; ".join(f"{t}: {o}" for t, o in lost.items())), []
    convicted, flaky = [], []
    for t, outcome in lost.items():
        b, c = reruns["pristine"][t], reruns["patched"][t]
        is_lost, p = rerun_verdict(b, c, RERUNS)
        line = (f"{t}: {outcome} on patched in the suite run; reruns passed "
                f"{b}/{RERUNS} on pristine, {c}/{RERUNS} on patched "
                f"(one-sided Fisher p {p:.3g})")
        (convicted if is_lost else flaky).append(line)
    notes = [f"pyverbs flaky, not counted as lost: {line}" for line in flaky]
    return not convicted, "; ".join(convicted), notes
