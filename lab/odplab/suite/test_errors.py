# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest's error paths in each guest: exit 2 naming the cause."""

from .. import errcheck, guestjob
from .plugin import of
from ..userspace import PERFTEST


def pytest_generate_tests(metafunc):
    if "variant_case" in metafunc.fixturenames:
        plugin = of(metafunc.config)
        pairs = [(v, c.name) for v in plugin.variants for c in selected(v)]
        metafunc.parametrize("variant_case", pairs,
                             ids=[f"{v}-{n}" for v, n in pairs])


def selected(variant):
    out = guestjob.out_dir(f"errors-{variant}")
    return [c for c in errcheck.cases(PERFTEST, out) if variant in c.variants]


def errors_job(odplab, variant):
    name = f"errors-{variant}"
    cases_path = guestjob.path_in(name, "cases.json")
    results_path = guestjob.path_in(name, "results.json")
    return odplab.job(variant, name, [
        "python3", errcheck.RUNCASES, cases_path, results_path], 600,
        prepare=lambda out: errcheck.write_cases(cases_path,
                                                 selected(variant)))


def test_cases_ran_clean(odplab, variant):
    job = errors_job(odplab, variant)
    assert job.clean, job.result.message


def test_error_case(odplab, variant_case):
    variant, case_name = variant_case
    case = next(c for c in selected(variant) if c.name == case_name)
    job = errors_job(odplab, variant)
    results = {x["name"]: x for x in (job.json("results.json") or [])}
    ok, detail = errcheck.judge(case, results.get(
        case.name, {"setup_error": "the guest recorded no result"}))
    assert ok, f"exit {case.want_exit} naming the cause: {detail}"
