# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest on each compared kernel: for every event perftest has, a
16-page RDMA READ and WRITE right after it fault exactly what the event's
facts in the report (from ibodp::MemoryEvent) expect of the kernel."""

import functools
import json
import subprocess

from .. import accel, compare, expect, guestjob, rdmauser
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


def _perftest(odplab, variant, name, args, timeout):
    """perftest in the variant's guest with khugepaged asleep (the context
    says so), its report in the job's perftest.json."""
    return odplab.job(variant, name, [
        KHUGEPAGED_ASLEEP, PERFTEST, "--context=" + KHUGEPAGED_CONTEXT,
        *args, f"--output={guestjob.path_in(name, 'perftest.json')}"],
        timeout)


def perftest_job(odplab, variant):
    return _perftest(odplab, variant, f"perftest-{variant}", [
        "--preset=quick", "--ops=" + ",".join(OPS), "--msg-sizes=4K",
        "--mr-sizes=2M", f"--pages={PAGES}", "--events=" + ",".join(events()),
        "--registration=odp", "--backgrounds=none", "--iterations=20",
        "--warmup=20", f"--repetitions={compare.min_repetitions()}"], 1500)


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
    assert extra.get("qemu_version") == accel.release(
        vm_record["qemu_version"]), (
        extra.get("qemu_version"), vm_record["qemu_version"])


def test_context_names_the_labs_rdma_core(odplab, variant):
    """perftest loaded libibverbs from the lab's rdma-core build, which the
    guest's environment names, not the host's older one."""
    _, report = report_of(odplab, variant)
    extra = report["context"]["extra"]
    lib = rdmauser.ensure_guest_userspace().lib
    assert extra.get("libibverbs", "").startswith(f"{lib}/libibverbs.so."), (
        f"perftest loaded {extra.get('libibverbs')}, not {lib}/libibverbs.so")
    assert extra.get("rdma_core") == rdmauser.RDMA_CORE.version


ALT_OPS = 20


def alternatives_job(odplab, variant):
    """A READ after madvise(DONTNEED), which drops the pages on every
    kernel, on a pinned MR and on ODP with prefetch."""
    return _perftest(odplab, variant, f"perftest-alternatives-{variant}", [
        "--ops=read", "--msg-sizes=4K", "--mr-sizes=1M", f"--pages={PAGES}",
        "--events=madvise-dontneed", "--periods=1",
        "--registration=pinned,odp-prefetch", "--backgrounds=none",
        f"--iterations={ALT_OPS}", "--warmup=20", "--repetitions=2"], 900)


def alternative(odplab, variant, registration):
    job = alternatives_job(odplab, variant)
    path = job.out / "perftest.json"
    assert path.exists(), f"perftest wrote no report: {job.result.message}"
    rows = [r for r in _load(path)["results"]
            if r["scenario"]["registration"] == registration]
    assert len(rows) == 1, f"{len(rows)} {registration} scenarios"
    assert not rows[0]["error"], rows[0]["error"]
    return job, rows[0]


def test_pinned_mr_never_faults(odplab, variant):
    job, row = alternative(odplab, variant, "pinned")
    assert job.clean, job.result.message
    got = [rep["faults_per_op"] for rep in row["repetitions"]]
    assert got == [0.0, 0.0], f"a pinned MR faulted: {got} faults per op"
    assert all(rep["registration_ns"] > 0 for rep in row["repetitions"])


def test_prefetch_maps_what_the_op_reads(odplab, variant):
    """ibv_advise_mr runs on rxe through the lab's rdma-core: where the
    kernel has rxe's ODP counters, every page the op reads was prefetched
    after the event and none faulted."""
    _, row = alternative(odplab, variant, "odp-prefetch")
    for rep in row["repetitions"]:
        hw = next(c for c in rep["counters"] if c["source"] == "hw_counters")
        if variant == "pristine":
            # Without rxe-patches/ 0002 there are no rxe ODP counters.
            assert not hw["available"], hw["values"]
            continue
        assert hw["available"], hw["unavailable_reason"]
        assert (hw["values"]["page_prefetch"],
                hw["values"]["page_faults"]) == (PAGES * ALT_OPS, 0), (
            f"prefetched and faulted pages: {hw['values']}")


BG_SECONDS = 5


def background_job(odplab, variant):
    """For BG_SECONDS each: READs of a MAP_SHARED ext4 file MR while
    perftest's writer thread dirties it and the flusher writes it back;
    READs of an anonymous MR while ksmd merges its identical pages and
    perftest's writer breaks the merges; READs of an anonymous MR on the
    far node while NUMA balancing scans with a 100 ms period and
    perftest's reader thread pulls the pages to its node; READs of an
    anonymous MR in base pages at the start of a 2 MiB huge page while
    khugepaged scans every 100 ms (the wrapper's asleep khugepaged is
    woken for the window and put back to sleep after); READs of an
    anonymous MR in a memory cgroup that perftest's writer pushes over its
    memory.high."""
    return _perftest(odplab, variant, f"perftest-background-{variant}", [
        "--ops=read", "--msg-sizes=4K", "--mr-sizes=1M", f"--pages={PAGES}",
        "--backgrounds=writeback,ksm,numa-balancing,khugepaged,memcg-reclaim",
        f"--seconds={BG_SECONDS}",
        "--registration=odp", "--warmup=20", "--repetitions=2"], 900)


def _background_row(odplab, variant, background):
    job = background_job(odplab, variant)
    assert job.clean, job.result.message
    rows = [r for r in _load(job.out / "perftest.json")["results"]
            if r["scenario"]["background"] == background]
    assert len(rows) == 1 and not rows[0]["error"], rows
    return rows[0]


def _check_clears_again_and_again(row, activity):
    """An activity that replaces or unmaps the MR's pages, with
    MMU_NOTIFY_CLEAR only (where the tracepoints name the events), again
    and again: at least 2 x the MR's pages invalidated in the window, and
    faults on every kernel, kept pages or not."""
    rates = compare.per_second(row)
    mr_pages = row["scenario"]["mr_size"] // 4096
    assert rates.get("invalidations", 0) * BG_SECONDS >= 2 * mr_pages, (
        f"fewer than 2 x {mr_pages} invalidations in {BG_SECONDS} s of "
        f"{activity}: {rates}")
    assert rates.get("faults", 0) > 0, rates
    for rep in row["repetitions"]:
        assert _invalidation_events(rep) in (None, {"clear"}), (
            rep["counters"])


def test_ksm_in_the_background(odplab, variant):
    """ksmd replaces the MR's pages (MMU_NOTIFY_CLEAR): the device
    re-faults on every kernel, kept pages or not."""
    row = _background_row(odplab, variant, "ksm")
    _check_clears_again_and_again(row, "KSM")
    for rep in row["repetitions"]:
        _check_timeline(rep, faults="most seconds")


def _tracepoints(rep):
    return next((c["values"] for c in rep["counters"]
                 if c["source"] == "tracepoints" and c["available"]), None)


def test_numa_balancing_in_the_background(odplab, variant):
    """A scan that reaches the MR hints its PTEs
    (MMU_NOTIFY_PROTECTION_VMA), and the reader's hinting faults migrate
    the pages from the far node (MMU_NOTIFY_CLEAR, from
    try_to_migrate_one()). Where the kernel drops pages on every event the
    device re-faults after every hint; where it keeps them read-only across
    hints, only after a page's migration: every fault follows a drop by
    CLEAR, and some page did migrate."""
    row = _background_row(odplab, variant, "numa-balancing")
    mr_pages = row["scenario"]["mr_size"] // 4096
    keeps = expect.keeps_pages(variant)
    for rep in row["repetitions"]:
        faults = compare.fault_count(rep)
        assert faults is not None, rep["counters"]
        trace = _tracepoints(rep)
        if keeps:
            # The patched kernel has the tracepoints: their absence fails.
            assert trace is not None, rep["counters"]
            assert trace.get("protection_vma:calls", 0) > 0, (
                f"no NUMA hint of the MR in {BG_SECONDS} s: {trace}")
            assert (trace["protection_vma:dropped"],
                    trace["protection_vma:kept"] > 0) == (0, True), trace
            migrated = trace.get("clear:dropped", 0)
            assert 0 < faults <= migrated, (
                f"{faults} faults against {migrated} pages dropped by "
                f"migration: a fault that no migration explains, or no "
                f"page migrated: {trace}")
        else:
            assert faults >= 2 * mr_pages, (
                f"{faults} faults in {BG_SECONDS} s of NUMA balancing: "
                f"fewer than 2 x {mr_pages} where every hint drops the "
                f"pages")
        # A scan skips a VMA that the scanning thread (perftest's, which
        # polls) has not touched for a few scan sequences
        # (vma_is_accessed()), so a second can pass without a hint.
        _check_timeline(rep, faults=None if keeps else "most seconds",
                        every_second=False)


def _invalidation_events(rep):
    """The notifier events that invalidated the MR in the repetition, from
    the tracepoints; None on a kernel without them."""
    trace = _tracepoints(rep)
    if trace is None:
        return None
    return {k.split(":")[0] for k, v in trace.items()
            if k.endswith(":calls") and v}


def test_khugepaged_in_the_background(odplab, variant):
    """khugepaged collapses the 2 MiB huge page that the MR starts
    (MMU_NOTIFY_CLEAR over the 2 MiB): the device re-faults each of the
    MR's pages on every kernel, kept pages or not."""
    row = _background_row(odplab, variant, "khugepaged")
    mr_pages = row["scenario"]["mr_size"] // 4096
    for rep in row["repetitions"]:
        faults = compare.fault_count(rep)
        assert faults is not None, rep["counters"]
        assert faults >= mr_pages, (
            f"{faults} faults in {BG_SECONDS} s: fewer than the {mr_pages} "
            f"pages that one collapse drops")
        events = _invalidation_events(rep)
        assert events in (None, {"clear"}), rep["counters"]
        if events is not None:
            assert _tracepoints(rep)["clear:dropped"] >= mr_pages, (
                rep["counters"])
        _check_timeline(rep, faults=None, every_second=False)


def test_memcg_reclaim_in_the_background(odplab, variant):
    """Reclaim of the cgroup over its memory.high swaps out the MR's pages
    (MMU_NOTIFY_CLEAR from try_to_unmap_one()) again and again: the device
    re-faults them from swap on every kernel, kept pages or not."""
    row = _background_row(odplab, variant, "memcg-reclaim")
    _check_clears_again_and_again(row, "reclaim")
    for rep in row["repetitions"]:
        # The writer's pass over its buffer and the swap traffic it makes
        # come in bursts: a second can pass without a swap-out of the MR.
        _check_timeline(rep, faults="most seconds", every_second=False)


def test_writeback_in_the_background(odplab, variant):
    """Writeback write-protects the MR's pages in the window (the patched
    kernel's tracepoints name the event); the device re-faults only where
    the kernel drops pages on write-protection."""
    row = _background_row(odplab, variant, "writeback")
    rates = compare.per_second(row)
    assert all(rep["wall_ns"] >= BG_SECONDS * 1e9
               for rep in row["repetitions"])
    # Sustained, not the one writeback of the bytes perftest wrote at set-up:
    # the writer re-dirties every page every 100 ms and the flusher cleans
    # them every 0.5 s, so the MR's pages are cleaned many times over.
    mr_pages = row["scenario"]["mr_size"] // 4096
    assert rates.get("invalidations", 0) * BG_SECONDS >= 2 * mr_pages, (
        f"fewer than 2 x {mr_pages} invalidations in {BG_SECONDS} s of "
        f"writeback: {rates}")
    if expect.keeps_pages(variant):
        assert rates["by_event"].get("protection_page", 0) > 0, rates
        assert rates["faults"] == 0, rates
    else:
        assert rates["faults"] > 0, rates
    for rep in row["repetitions"]:
        _check_timeline(rep, faults="none" if expect.keeps_pages(variant)
                        else "most seconds")


# perftest samples the timeline between two ops once a second has passed
# since the last sample; an op or a counter read that the kernel delays
# (KASAN, the background's own page faults on perftest's CPU) delays it.
MAX_SAMPLE_GAP_S = 2.5


def _check_timeline(rep, faults, every_second=True):
    """Samples about every second over the whole window, and the
    background's invalidations in every interval of a second or more but
    maybe the first (the flusher's first pass comes up to 0.5 s in): what
    the report's plot of faults per second over time draws. `faults`:
    "none" in any interval, in "most seconds", or None (not checked);
    every_second=False leaves out the check of invalidations per second."""
    rates = compare.timeline_rates(rep)
    starts = [0.0] + [t for t, _, _ in rates[:-1]]
    gaps = [t - start for start, (t, _, _) in zip(starts, rates)]
    assert rates and rates[-1][0] >= BG_SECONDS, rep["timeline"]
    assert max(gaps) <= MAX_SAMPLE_GAP_S, (
        f"a gap of {max(gaps):.2f} s between samples: {rep['timeline']}")
    quiet = [t for start, (t, _, calls) in zip(starts[1:], rates[1:])
             if t - start >= 0.9 and not calls]
    assert not (quiet and every_second), (
        f"no invalidation in the second up to {quiet} s: {rates}")
    per_interval = [f for _, f, _ in rates]
    if faults == "none":
        assert not any(per_interval), rates
    elif faults == "most seconds":
        assert all(f is not None for f in per_interval), rates
        assert sum(f > 0 for f in per_interval) >= BG_SECONDS // 2, rates


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
