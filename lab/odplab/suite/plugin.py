# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The pytest plugin behind `odplab test`: the kernel source and the
variants the checks are parametrised over, one shared runner of guest
jobs, the skip policy, the time of each stage and the closing line."""

import time
from collections import defaultdict

import pytest

from .. import guestjob, skips
from ..common import info


class OdplabPlugin:
    """Registered by `odplab test` with pytest.main(plugins=[...])."""

    def __init__(self, source, variants, stage_times=None):
        self.source = source
        self.variants = list(variants)
        self.jobs = {}
        self.notes = []
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.stage_times = dict(stage_times or {})
        self._module_times = defaultdict(float)
        self.failures = []

    # ---- Guest jobs, each run once. ----

    def job(self, variant, name, argv, timeout, echo=True, prepare=None):
        """The job NAME on VARIANT, run the first time a check asks (see
        guestjob.run_job)."""
        return self._once("guest job", variant, name,
                          lambda: guestjob.run_job(
                              self.source, variant, argv, name, timeout,
                              echo=echo, prepare=prepare))

    def nodes_job(self, variant, name, argv, timeout, echo=True):
        """The two-guest job NAME on VARIANT, run once (see
        guestjob.run_nodes_job)."""
        return self._once("two-guest job", variant, name,
                          lambda: guestjob.run_nodes_job(
                              self.source, variant, argv, name, timeout,
                              echo=echo))

    def _once(self, what, variant, name, run):
        key = (variant, name)
        if key not in self.jobs:
            info(f"{what} {name} on the {variant} kernel "
                 f"({guestjob.TEST_FLAVOUR[variant]} flavour)")
            self.jobs[key] = run()
        return self.jobs[key]

    # ---- Fixtures and parametrisation. ----

    @pytest.fixture(scope="session")
    def odplab(self):
        return self

    def pytest_generate_tests(self, metafunc):
        if "variant" in metafunc.fixturenames:
            wanted = getattr(metafunc.module, "VARIANTS", None)
            variants = [v for v in self.variants
                        if wanted is None or v in wanted]
            metafunc.parametrize("variant", variants)

    # ---- Counting, stage times, the closing line. ----

    def pytest_runtest_logreport(self, report):
        self._module_times[report.nodeid.split("::")[0]] += report.duration
        if report.when == "call" or report.outcome != "passed":
            if report.when == "teardown" and report.outcome == "skipped":
                return
            if hasattr(report, "wasxfail") and report.skipped:
                outcome = "passed"   # a strict expected failure held
            else:
                outcome = report.outcome
            self.counts[outcome] += 1
            if outcome == "failed":
                self.failures.append(report.nodeid)

    def print_summary(self):
        print("time per stage:", flush=True)
        for stage, secs in self.stage_times.items():
            print(f"  {secs:8.1f} s  {stage}")
        for module, secs in self._module_times.items():
            print(f"  {secs:8.1f} s  {module.rsplit('/', 1)[-1]}")
        for f in self.failures:
            print(f"FAILED {f}")
        for n in self.notes:
            print(f"note: {n}")


def of(config):
    """The OdplabPlugin of a pytest run."""
    return next(p for p in config.pluginmanager.get_plugins()
                if isinstance(p, OdplabPlugin))


def check_skip(where, test, reason):
    """A sub-result that skipped: pytest.skip when the skip is expected
    (lab/odplab/skips.py), a failure naming the test otherwise."""
    allowed = skips.expected(where, test, reason)
    if allowed is None:
        pytest.fail(skips.unexpected_message(where, test, reason),
                    pytrace=False)
    pytest.skip(f"{reason} [expected: {allowed.why}]")


class Stopwatch:
    """Times a stage that runs before pytest (packages, build, kernels)."""

    def __init__(self):
        self.times = {}

    def run(self, name, fn, *args, **kwargs):
        t0 = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            self.times[name] = time.monotonic() - t0
