# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest on each compared kernel: for every event perftest has, a
16-page RDMA READ and WRITE right after it fault exactly what the event's
facts in the report (from ibodp::MemoryEvent) expect of the kernel."""

import functools
import json
import subprocess

from .. import compare, expect, guestjob
from ..userspace import KHUGEPAGED_ASLEEP, KHUGEPAGED_CONTEXT, PERFTEST

PAGES = 16
OPS = ("read", "write")


@functools.lru_cache(maxsize=1)
def events():
    """perftest's own list of its events (--list_events --json)."""
    proc = subprocess.run([str(PERFTEST), "--list_events", "--json"],
                          capture_output=True, text=True, check=True)
    return [e["name"] for e in json.loads(proc.stdout)]


def pytest_generate_tests(metafunc):
    if "event" in metafunc.fixturenames:
        metafunc.parametrize("event", events())
    if "op" in metafunc.fixturenames:
        metafunc.parametrize("op", OPS)


def perftest_job(odplab, variant):
    name = f"perftest-{variant}"
    return odplab.job(variant, name, [
        KHUGEPAGED_ASLEEP, PERFTEST, "--preset=quick",
        "--context=" + KHUGEPAGED_CONTEXT, "--ops=" + ",".join(OPS),
        "--msg-sizes=4K", "--mr-sizes=2M", f"--pages={PAGES}",
        "--events=" + ",".join(events()), "--iterations=20", "--warmup=20",
        f"--repetitions={compare.min_repetitions()}",
        f"--output={guestjob.path_in(name, 'perftest.json')}"], 1500)


@functools.lru_cache(maxsize=None)
def _load(path):
    """Each job's report read and checked against the schema once, not
    once per check."""
    return compare.load_report(path)


def report_of(odplab, variant):
    job = perftest_job(odplab, variant)
    path = job.out / "perftest.json"
    assert path.exists(), f"perftest wrote no report: {job.result.message}"
    return job, _load(path)


def test_run_clean(odplab, variant):
    job = perftest_job(odplab, variant)
    assert job.clean, job.result.message


def test_context_names_the_accelerator(odplab, variant):
    job, report = report_of(odplab, variant)
    vm_record = json.loads((job.out / "vm.json").read_text())
    extra = report["context"]["extra"]
    assert (extra.get("accelerator"), extra.get("qemu_cpu")) == (
        vm_record["accelerator"], vm_record["qemu_cpu"])


def test_faults_per_op(odplab, variant, event, op):
    _, report = report_of(odplab, variant)
    rows = [r for r in report["results"]
            if r["scenario"]["event"] == event and r["scenario"]["op"] == op]
    assert len(rows) == 1, f"{len(rows)} scenarios of {op} after {event}"
    facts = rows[0]["scenario"]["event_facts"]
    problem = expect.fault_count_problems(rows[0],
                                          expect.keeps_pages(variant))
    assert not problem, (
        f"{op} after {event} ({facts['notifier_event']}, write-protect only "
        f"{facts['write_protect_only']}) on {variant}: {problem}")
    # Where a repetition has two sources of one fact, they agree.
    problems = [p for rep in rows[0]["repetitions"]
                for p in expect.counter_disagreements(rep)]
    assert not problems, f"{op} after {event} on {variant}: {problems}"
