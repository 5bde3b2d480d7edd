# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""`odplab test`: host unit tests, lab self-checks and in-guest tests."""

import collections
import copy
import json
import re
import subprocess
from dataclasses import dataclass, field

from . import kernel as kernel_mod
from . import accel, compare, errcheck, patches, reflat, reportcheck
from .common import PROJECT_ROOT, info, results_dir, step
from .userspace import BUILD_DIR, GUEST_TESTS, PERFTEST, STORM, build_userspace
from .vm import EXIT_GUEST_DIED, EXIT_TIMEOUT, VmOptions, run_in_vm


# The perftest check: RDMA READs touching PERF_PAGES pages per op, the
# event before every op. Events that only write-protect (as
# ibodp::MemoryEvent::WriteProtectOnly() says) fault no page on a kernel
# that keeps pages; the others fault every page on both kernels.
PERF_PAGES = 16
PERF_KEEP_EVENTS = ("soft-dirty", "mprotect-ro", "fork")
PERF_DROP_EVENTS = ("madvise-dontneed", "munmap-remap", "pageout", "migrate")


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)
    skips: list = field(default_factory=list)
    # What a passing check decided and the summary must still say.
    notes: list = field(default_factory=list)

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            info(f"PASS {name}")
        else:
            self.failed += 1
            self.failures.append(f"{name}: {detail}")
            info(f"FAIL {name}: {detail}")


def host_tests(tally):
    step("host unit tests (ctest)")
    proc = subprocess.run(["ctest", "--test-dir", str(BUILD_DIR),
                           "--output-on-failure", "-j2"], capture_output=True,
                          text=True, check=False)
    print(proc.stdout[-6000:], end="", flush=True)
    m = re.search(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)",
                  proc.stdout)
    if not m:
        tally.check("ctest", False, "no ctest summary line:\n"
                    + proc.stderr[-2000:])
        return
    failed, total = int(m.group(2)), int(m.group(3))
    # ctest counts a skipped test as passed; report it as skipped.
    skipped = re.findall(r"^\s*\d+ - (.+?) \(Skipped\)$", proc.stdout,
                         re.MULTILINE)
    for name in skipped:
        tally.skipped += 1
        tally.skips.append(f"host: {name} (its output says why: ctest "
                           f"--test-dir {BUILD_DIR} -R '{name}' -V)")
    tally.passed += total - failed - len(skipped)
    tally.failed += failed
    if failed:
        tally.failures.append(f"ctest: {failed} of {total} host tests failed")


# What the in-guest fault-count tests expect of each kernel: whether it
# keeps ODP pages on write-protecting events (tests/guest/faults_test.cc).
EXPECT_KEEP = {"vanilla": "0", "pristine": "0", "patched": "1",
               "planted": "1"}


# The kernels the in-guest tests run on: the patched one with lockdep,
# DEBUG_VM (lab/config/debug.config) and KASAN (kasan.config), since it
# keeps mappings the pristine one drops. Benchmarks use the default flavour
# of both.
TEST_FLAVOUR = {"vanilla": "default", "pristine": "default",
                "patched": "kasan", "planted": "default"}

# What the boot log of a debug flavour shows when its checkers are live.
LIVE_CHECKERS = {"debug": [("lockdep", "Lock dependency validator")]}
LIVE_CHECKERS["kasan"] = LIVE_CHECKERS["debug"] + [
    ("KASAN", "KernelAddressSanitizer initialized")]


def _vm(source, variant, argv, out_name, timeout, echo=True):
    kern = kernel_mod.ensure_kernel(source, variant, TEST_FLAVOUR[variant])
    out = results_dir() / "test" / out_name
    opts = VmOptions(timeout=timeout, boot_timeout=min(timeout, 180.0),
                     echo=echo,
                     env={"IBODP_EXPECT_KEEP": EXPECT_KEEP[variant]})
    return run_in_vm(kern, argv, variant, out_dir=out, opts=opts)


def series_checks(source, tally):
    """checkpatch --strict on every patch, with the base tree's script."""
    step("patch series: scripts/checkpatch.pl --strict")
    script = source.repo / "scripts" / "checkpatch.pl"
    for patch in patches.series_of(patches.BASE_DIRS + patches.PROPOSAL_DIRS):
        proc = subprocess.run(
            # The lab's tree is a release tarball without git history, in
            # which checkpatch cannot look a Fixes: commit up.
            ["perl", str(script), "--strict", "--terse", "--no-summary",
             "--show-types", "--ignore", "UNKNOWN_COMMIT_ID", str(patch)],
            cwd=source.repo,
            capture_output=True, text=True, check=False)
        out = (proc.stdout + proc.stderr).strip()
        tally.check(f"checkpatch {patch.parent.name}/{patch.name}",
                    proc.returncode == 0 and not out, out[-1500:])


def lab_selftests(source, tally):
    """The VM runner itself: exit status, failure, panic, timeout."""
    step("lab self-checks on the pristine kernel")
    r = _vm(source, "pristine", ["true"], "selftest-true", 300)
    tally.check("vm run -- true exits 0", r.exit_code == 0, r.message)
    r = _vm(source, "pristine", ["sh", "-c", "exit 7"], "selftest-exit7", 300)
    tally.check("vm run -- exit 7 carries status 7 back", r.exit_code == 7,
                f"got {r.exit_code}: {r.message}")
    r = _vm(source, "pristine", ["sh", "-c", "echo c > /proc/sysrq-trigger"],
            "selftest-panic", 300, echo=False)
    tally.check("a guest panic fails the run with the console tail",
                r.exit_code == EXIT_GUEST_DIED and "Kernel panic" in r.message,
                f"got {r.exit_code}: {r.message[-500:]}")
    r = _vm(source, "pristine", ["sleep", "600"], "selftest-timeout", 60,
            echo=False)
    tally.check("a hung guest command ends at the timeout",
                r.exit_code == EXIT_TIMEOUT, f"got {r.exit_code}")


def skip_reasons(console):
    """Why each GoogleTest test skipped, from its console output: the lines
    after "FILE:LINE: Skipped" up to "[  SKIPPED ] NAME" (gtest's JSON
    output leaves the message out), kernel messages left out."""
    reasons, current, lines, grab = {}, None, [], False
    for line in console.splitlines():
        run = re.match(r"\[ RUN      \] (\S+)", line)
        done = re.match(r"\[  SKIPPED \] (\S+) \(", line)
        if run:
            current, lines, grab = run.group(1), [], False
        elif done and done.group(1) == current:
            reasons[current] = " ".join(lines).strip()
            current, grab = None, False
        elif current and line.endswith(": Skipped"):
            grab = True
        elif grab and not re.match(r"\[\s*\d+\.\d+\]", line):
            lines.append(line.strip())
    return reasons


def guest_tests(source, variant, tally):
    step(f"in-guest tests on the {variant} kernel ({TEST_FLAVOUR[variant]} "
         "flavour)")
    out_json = results_dir() / "test" / f"guest-{variant}" / "gtest.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.unlink(missing_ok=True)
    r = _vm(source, variant, [str(GUEST_TESTS), "--gtest_color=no",
                              "--gtest_filter=-" + ":".join(KNOWN_UNFIXED),
                              f"--gtest_output=json:{out_json}"],
            f"guest-{variant}", 900)
    if not out_json.exists():
        tally.check(f"{variant}: guest tests ran", False, r.message)
        return
    report = json.loads(out_json.read_text())
    console = out_json.parent / "console.log"
    console_text = (console.read_text(errors="replace")
                    if console.exists() else "")
    reasons = skip_reasons(console_text)
    for full, verdict, test in _gtest_tests(report):
        name = f"{variant}: {full}"
        if verdict == "SKIPPED":
            tally.skipped += 1
            msg = "; ".join(f.get("failure", "") for f in
                            test.get("failures", [])) or test.get(
                                "skipped", {}).get("message", "") or \
                reasons.get(full, "no reason found in console.log")
            tally.skips.append(f"{name}: {msg}")
            info(f"SKIP {name}: {msg}")
            continue
        fails = test.get("failures", [])
        tally.check(name, not fails,
                    "; ".join(f.get("failure", "") for f in fails))
    # The run as a whole: a splat or a non-zero exit fails even if every
    # test passed.
    tally.check(f"{variant}: guest run clean (status 0, no splat)",
                r.exit_code == 0, r.message)
    checker_checks(variant, console, console_text, tally)


# The reproducers of the upstream bugs that base-patches/ fix, with the
# patch that fixes each: every one must fail on the vanilla kernel, which
# lacks the fixes, and pass on the others, which run them with the rest of
# the guest tests.
REPRODUCERS = {
    "OdpLoopback.WriteThenReadKeepsBytes":
        "0001 RDMA/rxe: Fix the page offset and buffer advance in ODP copies",
    "Swap.DeviceWriteAfterSwapInSurvivesTheNextPageOut":
        "0002 RDMA/rxe: Mark ODP pages dirty when the responder writes them",
    "Swap.CgroupReclaimKeepsADeviceWriteToASwappedInPage":
        "0002 RDMA/rxe: Mark ODP pages dirty when the responder writes them",
}


# Reproducers of upstream bugs that no base patch fixes yet: they fail on
# every kernel, so the guest-test runs leave them out and the vanilla run
# asserts that they still fail. One that starts to pass has been fixed
# and moves to REPRODUCERS with its patch.
KNOWN_UNFIXED = {
    "Uffd.DeviceWriteToAWriteProtectedPageIsARemoteAccessError":
        "(c) a device write into a userfaultfd-write-protected page waits "
        "for a handler in rxe's worker and wedges teardown",
}


def _gtest_tests(report):
    """(suite.test, "PASSED" | "FAILED" | "SKIPPED", the test's entry) for
    each test of a gtest JSON report."""
    for suite in report.get("testsuites", []):
        for test in suite.get("testsuite", []):
            if test.get("result") == "SKIPPED" or test.get("skipped"):
                verdict = "SKIPPED"
            else:
                verdict = "FAILED" if test.get("failures") else "PASSED"
            yield f"{suite['name']}.{test['name']}", verdict, test


def _gtest_results(report):
    """{suite.test: "PASSED" | "FAILED" | "SKIPPED"} of a gtest JSON report."""
    return {name: verdict for name, verdict, _ in _gtest_tests(report)}


def reproducer_checks(source, tally):
    """Each reproducer fails on vanilla: the bug it shows is real there."""
    step("reproducers of the base-patches/ bugs on the vanilla kernel")
    out_json = results_dir() / "test" / "reproducers-vanilla" / "gtest.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.unlink(missing_ok=True)
    r = _vm(source, "vanilla", [str(GUEST_TESTS), "--gtest_color=no",
                                "--gtest_filter=" + ":".join(
                                    [*REPRODUCERS, *KNOWN_UNFIXED]),
                                f"--gtest_output=json:{out_json}"],
            "reproducers-vanilla", 900)
    if not out_json.exists():
        tally.check("vanilla: reproducers ran", False, r.message)
        return
    results = _gtest_results(json.loads(out_json.read_text()))
    for name, fix in REPRODUCERS.items():
        got = results.get(name, "NOT RUN")
        tally.check(f"vanilla: {name} fails without base-patches/{fix}",
                    got == "FAILED",
                    f"it was {got}: the reproducer no longer shows the bug")
    for name, bug in KNOWN_UNFIXED.items():
        got = results.get(name, "NOT RUN")
        tally.check(f"vanilla: {name} fails (upstream bug, no fix yet)",
                    got == "FAILED",
                    f"it was {got}: if the bug is fixed, move the test to "
                    "REPRODUCERS with the patch that fixes it")
        tally.notes.append(f"known unfixed upstream bug {bug}: "
                           f"{name} is left out of the guest tests")
    # The reproducers fail; the kernel must not splat doing so.
    tally.check("vanilla: reproducer run has no kernel splat", not r.splats,
                r.message)


def checker_checks(variant, console, console_text, tally):
    """The debug flavour's checkers announced themselves at boot: a
    splat-free run proves nothing if the checker was not there."""
    flavour = TEST_FLAVOUR[variant]
    for name, banner in LIVE_CHECKERS.get(flavour, []):
        tally.check(f"{variant}: {name} live in the {flavour} kernel",
                    banner in console_text, f"no '{banner}' in {console}")


def _expected_faults(variant, event):
    if event == "none":
        return 0
    if event in PERF_KEEP_EVENTS and EXPECT_KEEP[variant] == "1":
        return 0
    return PERF_PAGES


def _counters_agree(rep):
    """hw_counters page_faults against the profiler's fault hits, when a
    repetition has both sources."""
    by_source = {c["source"]: c for c in rep["counters"] if c["available"]}
    hw, prof = by_source.get("hw_counters"), by_source.get("function-profiler")
    if not hw or not prof:
        return None
    return (hw["values"].get("page_faults"),
            prof["values"].get("ib_umem_odp_map_dma_and_lock"))


def perftest_checks(source, variant, tally):
    step(f"perftest on the {variant} kernel: faults per op per event")
    events = ("none",) + PERF_KEEP_EVENTS + PERF_DROP_EVENTS
    out = results_dir() / "test" / f"perftest-{variant}"
    report_path = out / "perftest.json"
    r = _vm(source, variant, [
        str(PERFTEST), "--preset=quick", "--ops=read", "--msg-sizes=4K",
        "--mr-sizes=1M", f"--pages={PERF_PAGES}", "--events=" + ",".join(events),
        "--iterations=20", "--warmup=20",
        f"--repetitions={compare.min_repetitions()}",
        f"--output={report_path}"], f"perftest-{variant}", 900)
    tally.check(f"{variant}: perftest run clean (status 0, no splat)",
                r.exit_code == 0, r.message)
    if not report_path.exists():
        tally.check(f"{variant}: perftest wrote its report", False, r.message)
        return
    report = json.loads(report_path.read_text())
    vm_record = json.loads((out / "vm.json").read_text())
    extra = report["context"].get("extra", {})
    tally.check(f"{variant}: perftest's context names the accelerator and "
                "QEMU CPU it ran under",
                (extra.get("accelerator"), extra.get("qemu_cpu")) ==
                (vm_record["accelerator"], vm_record["qemu_cpu"]),
                f"context {extra.get('accelerator')!r}/"
                f"{extra.get('qemu_cpu')!r}, odplab booted "
                f"{vm_record['accelerator']}/{vm_record['qemu_cpu']}")
    for result in report["results"]:
        sc = result["scenario"]
        name = f"{variant}: perftest read after {sc['event']}"
        want = _expected_faults(variant, sc["event"])
        got = [rep["faults_per_op"] for rep in result["repetitions"]]
        tally.check(f"{name}: {want} faults per op",
                    not result["error"] and got and
                    all(g == want for g in got),
                    f"faults per op by repetition {got}, error "
                    f"'{result['error']}'")
        pairs = [_counters_agree(rep) for rep in result["repetitions"]]
        pairs = [p for p in pairs if p is not None]
        if pairs:
            tally.check(f"{name}: hw_counters page_faults = profiler hits",
                        all(a == b for a, b in pairs), f"{pairs}")


# ibodp's perftest against Debian's ib_read_lat --odp: warm 2-byte RDMA
# READ, measured in alternating rounds in one guest boot. Asserted: each
# tool's floor (its least per-round minimum) agrees within this fraction,
# since both time the same post-to-completion path. Reported, not
# asserted: the per-round minima and p50 against ib_read_lat's "typical".
# Under rxe a run mostly sits in one of two modes for its whole length:
# either the next doorbell finds the QP's send task still running the last
# completion, which then loops on into the requester, or the task has gone
# idle and the post queues new work and wakes a kworker on the other CPU.
# In TCG the second costs about 10 us per op (p50 about 33 against 21.5
# us; 1.8 against 0.8-1.2 context switches per op). ib_read_lat is mostly
# in the fast mode, perftest mostly in the slow one, so a round's p50, and
# in a slow-mode run even its minimum, is the mode's and not the path's
# (README, "reference").
REF_TOLERANCE = 0.15
REF_ROUNDS = 5
REFLAT = PROJECT_ROOT / "lab" / "odplab" / "reflat.py"


def reference_checks(source, variant, tally):
    step(f"perftest against ib_read_lat --odp on the {variant} kernel")
    out = results_dir() / "test" / f"reflat-{variant}"
    r = _vm(source, variant, ["python3", str(REFLAT), "--ops=read",
                              "--size=2", "--iterations=3000",
                              f"--rounds={REF_ROUNDS}",
                              f"--perftest={PERFTEST}", f"--out={out}"],
            f"reflat-{variant}", 900)
    tally.check(f"{variant}: ib_read_lat and perftest ran (status 0, no "
                "splat)", r.exit_code == 0, r.message)
    path = out / "reference.json"
    if not path.exists():
        return
    result = json.loads(path.read_text())
    floor = reflat.floors(result)
    tally.check(f"{variant}: perftest's READ floor within "
                f"{REF_TOLERANCE:.0%} of ib_read_lat --odp's over "
                f"{REF_ROUNDS} rounds",
                floor is not None and abs(floor[2] - 1) <= REF_TOLERANCE,
                "no round ran both tools" if floor is None else
                f"perftest minimum {floor[0]:.2f} us, ib_read_lat t_min "
                f"{floor[1]:.2f} us: ratio {floor[2]:.3f} ({path})")
    if floor is not None:
        info(f"floor: perftest {floor[0]:.2f} us, ib_read_lat "
             f"{floor[1]:.2f} us, ratio {floor[2]:.3f}")
    for stat, words in (("min", "minimum / t_min per round"),
                        ("p50", "p50 / typical per round")):
        median, ratios = reflat.agreement(result, stat=stat)
        if median is not None:
            info(f"perftest / ib_read_lat {words} (not asserted): median "
                 f"{median:.3f}, rounds "
                 f"{', '.join(f'{x:.3f}' for x in ratios)}")


def error_checks(source, variant, tally):
    step(f"perftest error paths in the {variant} guest")
    out = results_dir() / "test" / f"errors-{variant}"
    out.mkdir(parents=True, exist_ok=True)
    selected = [c for c in errcheck.cases(PERFTEST, out)
                if variant in c.variants]
    cases_path, results_path = out / "cases.json", out / "results.json"
    errcheck.write_cases(cases_path, selected)
    results_path.unlink(missing_ok=True)
    r = _vm(source, variant, ["python3", str(errcheck.RUNCASES),
                              str(cases_path), str(results_path)],
            f"errors-{variant}", 600)
    tally.check(f"{variant}: error cases ran (status 0, no splat)",
                r.exit_code == 0, r.message)
    if not results_path.exists():
        return
    results = {x["name"]: x for x in json.loads(results_path.read_text())}
    for case in selected:
        ok, detail = errcheck.judge(case, results.get(
            case.name, {"setup_error": "the guest recorded no result"}))
        tally.check(f"{variant}: perftest {case.name}: exit "
                    f"{case.want_exit} naming the cause", ok, detail)


def comparison_checks(tally):
    """odplab compare on the two kernels' perftest reports from
    perftest_checks: the Markdown table against the JSON, and the HTML page
    in headless Chromium."""
    paths = [results_dir() / "test" / f"perftest-{v}" / "perftest.json"
             for v in kernel_mod.COMPARED]
    if not all(p.exists() for p in paths):
        tally.check("compare: both kernels' perftest reports exist", False,
                    " ".join(str(p) for p in paths if not p.exists()))
        return
    step("odplab compare on the pristine and patched perftest reports")
    out = results_dir() / "test" / "compare"
    comp = compare.write_outputs(*paths, out, *kernel_mod.COMPARED)
    problems = reportcheck.markdown_mismatches(
        (out / "compare.md").read_text(), compare.load_report(paths[0]),
        compare.load_report(paths[1]))
    tally.check(f"compare: the Markdown table matches the JSON "
                f"({len(comp.rows)} scenarios)", not problems,
                "; ".join(problems[:10]))
    ok, detail = reportcheck.render_html(out / "compare.html",
                                         out / "compare.png")
    tally.check("compare: the HTML page renders in headless Chromium with "
                "its plots", ok, detail)
    info(detail)


# The no-event scenarios, SAME_KERNEL_REPS interleaved repetitions in one
# perftest run; the even and the odd repetitions are the two "runs".
SAME_KERNEL_REPS = 12
SAME_KERNEL_ARGS = ("--ops=read,write", "--msg-sizes=4K", "--mr-sizes=1M",
                    "--pages=16", "--events=none", "--iterations=200",
                    "--warmup=50", f"--repetitions={SAME_KERNEL_REPS}",
                    "--interleave")


def split_alternate(report, source_name):
    """Two reports from one: the even and the odd repetitions of each
    scenario. With --interleave repetition r of every scenario ran before
    repetition r+1 of any, so the halves alternate in time and a drift of
    the machine lands on both. The per-report aggregates are dropped (they
    were over all repetitions; compare works from the repetitions)."""
    halves = []
    for parity in (0, 1):
        half = copy.deepcopy(report)
        half["context"]["split_from"] = (
            f"{source_name}: {'even' if parity == 0 else 'odd'} "
            "repetitions")
        for result in half["results"]:
            result["repetitions"] = result["repetitions"][parity::2]
            result.pop("aggregates", None)
        halves.append(half)
    return halves


def same_kernel_checks(source, variant, tally):
    """One perftest run of the no-event scenarios, its even repetitions
    against its odd ones: odplab compare must find no significant
    difference."""
    step(f"odplab compare on the same {variant} kernel: even against odd "
         "repetitions of one interleaved run")
    out = results_dir() / "test" / f"same-{variant}"
    out.mkdir(parents=True, exist_ok=True)
    run = out / "run.json"
    run.unlink(missing_ok=True)
    r = _vm(source, variant,
            [str(PERFTEST), *SAME_KERNEL_ARGS, f"--output={run}"],
            f"same-{variant}", 900)
    tally.check(f"{variant}: no-event perftest run for the same-kernel "
                "compare (status 0, no splat)", r.exit_code == 0, r.message)
    if not run.exists():
        return
    files = [out / "run-even.json", out / "run-odd.json"]
    for f, half in zip(files, split_alternate(compare.load_report(run),
                                              run.name)):
        f.write_text(json.dumps(half, indent=1))
    # The controls are the subject here, not the yardstick: a fixed noise
    # floor only.
    comp = compare.write_outputs(*files, out, "even repetitions",
                                 "odd repetitions", control=False)
    for row in comp.rows:
        tally.check(f"{variant}: compare of the same kernel (even against "
                    f"odd repetitions): {row.name} not significantly "
                    "different", row.verdict == "same",
                    f"verdict {row.verdict}, p {row.p_value}, p50 change "
                    f"{row.change}")


# The invalidation storm at CI length, per kernel.
STORM_SECONDS = 30


def _storm(source, variant, name):
    """One storm run at CI length: (VmResult, its JSON summary or None)."""
    out = results_dir() / "test" / name
    summary = out / "summary.json"
    out.mkdir(parents=True, exist_ok=True)
    summary.unlink(missing_ok=True)
    r = _vm(source, variant, [str(STORM), f"--seconds={STORM_SECONDS}",
                              f"--summary_json={summary}"], name, 600)
    try:
        data = json.loads(summary.read_text())
    except (OSError, ValueError):
        data = None
    # An empty object is what the storm writes before it starts.
    return r, (data if data and "passed" in data else None)


def _storm_line(data):
    ops, events = data["ops"], data["events"]
    return (f"{ops['reads']} READs, {ops['writes']} WRITEs, "
            f"{ops['atomics']} fetch-and-adds, {ops['ro_reads']} read-only "
            f"READs, {ops['overlapped']} overlapped a reset; "
            f"{sum(events.values())} events (" +
            ", ".join(f"{k} {v}" for k, v in sorted(events.items())) +
            f"); {data['huge_pages_made']} huge pages made")


def storm_checks(source, variant, tally):
    step(f"invalidation storm on the {variant} kernel ({STORM_SECONDS} s)")
    r, data = _storm(source, variant, f"storm-{variant}")
    seed = data["seed"] if data else "?"
    tally.check(f"{variant}: storm passes (seed {seed}; no mismatch, no "
                "error completion, no splat)",
                r.exit_code == 0 and data is not None and data["passed"],
                f"{r.message}{'' if data else ' (no summary.json)'}\n"
                f"rerun: ./odplab vm run --variant {variant} --flavour "
                f"{TEST_FLAVOUR[variant]} -- {STORM} --seconds="
                f"{STORM_SECONDS} --seed={seed}")
    if data:
        info(f"{variant} storm: {_storm_line(data)}")


# What the planted kernel's bug (lab/planted/: write access kept on a
# soft-dirty clear) shows in the storm: device writes that leave the page
# clean for soft-dirty.
PLANTED_FAILURE = "not-soft-dirty"


def planted_verdict(status, splats, data):
    """(caught, detail) for a storm run on the planted kernel: caught when
    it exited 1 with no splat and every failure is the planted bug's."""
    if data is None:
        return False, "the storm wrote no summary.json"
    by_kind = data["failures_by_kind"]
    caught = by_kind.get(PLANTED_FAILURE, 0)
    other = {k: v for k, v in by_kind.items() if v and k != PLANTED_FAILURE}
    if splats:
        return False, f"a kernel splat: {splats}"
    if not caught:
        return False, ("the storm found no " + PLANTED_FAILURE + " failure "
                       "on the planted kernel: it no longer catches write "
                       "access kept on a soft-dirty clear")
    if other:
        return False, f"failures besides {PLANTED_FAILURE}: {other}"
    if status != 1:
        return False, f"the storm exited {status}, not 1"
    return True, f"{caught} {PLANTED_FAILURE} failures"


def planted_checks(source, tally):
    """The storm must still catch the planted bug: a storm that passes on
    the planted kernel, or fails there for another reason, fails the run."""
    step(f"invalidation storm on the planted kernel ({STORM_SECONDS} s), "
         "which must fail")
    r, data = _storm(source, "planted", "storm-planted")
    caught, detail = planted_verdict(r.status, r.splats, data)
    tally.check("planted: the storm catches the planted bug (seed "
                f"{data['seed'] if data else '?'}: {detail})", caught,
                detail + ("" if data else f"; {r.message}"))
    if data:
        info(f"planted storm: {_storm_line(data)}")


PYVERBS_SUITE = PROJECT_ROOT / "lab" / "guest" / "pyverbs_suite.py"


def _unsupported(outcome):
    """The reason when an error is the device refusing a feature
    (EOPNOTSUPP), which rdma-core's suite reports as an error in a few
    places instead of skipping; None otherwise."""
    if outcome["outcome"] != "error":
        return None
    m = re.search(r"PyverbsRDMAError: (.*Errno: 95, Operation not "
                  r"supported)", outcome["detail"])
    return (f"the device does not support it: {m.group(1)} (the suite "
            "reports this EOPNOTSUPP as an error)") if m else None


def pyverbs_run(source, variant, tally):
    """rdma-core's test suite (python3-pyverbs) on rxe0; returns the
    outcomes by test id, or None when it did not run."""
    step(f"rdma-core's pyverbs test suite on the {variant} kernel")
    out = results_dir() / "test" / f"pyverbs-{variant}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "outcomes.json"
    path.unlink(missing_ok=True)
    r = _vm(source, variant, ["/usr/bin/python3", str(PYVERBS_SUITE),
                              "--dev=rxe0", f"--out={path}"],
            f"pyverbs-{variant}", 1500, echo=False)
    tally.check(f"{variant}: pyverbs suite ran (status 0, no splat)",
                r.exit_code == 0, r.message)
    if not path.exists():
        return None
    outcomes = json.loads(path.read_text())["rounds"][0]
    counts = collections.Counter(o["outcome"] for o in outcomes.values())
    info(f"{variant}: {len(outcomes)} pyverbs tests: "
         + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
         + f" ({path})")
    odp = {k: v for k, v in outcomes.items() if ".test_odp." in k}
    tally.check(f"{variant}: pyverbs has ODP tests", bool(odp),
                f"no test_odp tests among {len(outcomes)}")
    for test_id, o in sorted(odp.items()):
        name = f"{variant}: pyverbs {test_id.split('.', 1)[-1]}"
        unsupported = _unsupported(o)
        if o["outcome"] == "skip" or unsupported:
            tally.skipped += 1
            tally.skips.append(f"{name}: {unsupported or o['detail']}")
            continue
        tally.check(name, o["outcome"] == "pass",
                    f"{o['outcome']}: {o['detail'][-600:]}")
    return outcomes


# A test pristine passes and patched does not in the suite run is run
# again, alone, PYVERBS_RERUNS times in one fresh boot of each kernel (the
# same flavours as the suite run). More than PYVERBS_MAX_RERUN such tests is
# no race: they count as lost without reruns.
PYVERBS_RERUNS = 8
PYVERBS_MAX_RERUN = 10
# One-sided Fisher exact test: patched passes less often than pristine.
PYVERBS_ALPHA = 0.05


def rerun_verdict(base_passes, cand_passes, runs):
    """(lost, p): whether patched passed significantly less often than
    pristine in the same number of reruns, and the p value of that."""
    # Imported here so that odplab's other commands need no scipy.
    from scipy.stats import fisher_exact  # pylint: disable=import-outside-toplevel
    table = [[base_passes, runs - base_passes],
             [cand_passes, runs - cand_passes]]
    p = float(fisher_exact(table, alternative="greater").pvalue)
    return p < PYVERBS_ALPHA, p


def pyverbs_rerun(source, variant, test_ids, tally):
    """Passes of each test in PYVERBS_RERUNS runs in one fresh boot, or
    None when the guest did not run them."""
    out = results_dir() / "test" / f"pyverbs-rerun-{variant}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "outcomes.json"
    path.unlink(missing_ok=True)
    r = _vm(source, variant, ["/usr/bin/python3", str(PYVERBS_SUITE),
                              "--dev=rxe0", f"--out={path}",
                              f"--repeat={PYVERBS_RERUNS}",
                              "--tests=" + ",".join(test_ids)],
            f"pyverbs-rerun-{variant}", 900, echo=False)
    tally.check(f"{variant}: pyverbs reruns ran (status 0, no splat)",
                r.exit_code == 0, r.message)
    if r.exit_code != 0 or not path.exists():
        return None
    rounds = json.loads(path.read_text())["rounds"]
    return {t: sum(rnd.get(t, {}).get("outcome") == "pass" for rnd in rounds)
            for t in test_ids}


def pyverbs_checks(source, variants, tally):
    """The ODP tests pass (or skip with rdma-core's reason) on each kernel,
    and the patched kernel passes every test the pristine one passes. A
    test that only the suite run lost is rerun on both kernels: it counts
    as lost when patched passes it significantly less often, and as flaky,
    named in the summary, when not."""
    runs = {v: pyverbs_run(source, v, tally) for v in variants}
    base, cand = runs.get("pristine"), runs.get("patched")
    if base is None or cand is None:
        return
    # The outcome on patched of every test pristine passed.
    on_patched = {t: cand.get(t, {}).get("outcome", "missing")
                  for t, o in sorted(base.items()) if o["outcome"] == "pass"}
    suite_detail = {t: o for t, o in on_patched.items() if o != "pass"}
    lost = list(suite_detail)
    name = ("patched passes every pyverbs test pristine passes "
            f"({len(on_patched)})")
    if not lost or len(lost) > PYVERBS_MAX_RERUN:
        tally.check(name, not lost, "; ".join(
            f"{t}: {o}" for t, o in list(suite_detail.items())[:10]))
        return
    step(f"pyverbs: {len(lost)} test(s) pristine passed and patched did "
         f"not; {PYVERBS_RERUNS} reruns on each kernel: " + ", ".join(lost))
    reruns = {v: pyverbs_rerun(source, v, lost, tally)
              for v in ("pristine", "patched")}
    if None in reruns.values():
        tally.check(name, False, "the reruns did not run; in the suite "
                    "run: " + "; ".join(f"{t}: {o}"
                                        for t, o in suite_detail.items()))
        return
    convicted, flaky = [], []
    for t in lost:
        b, c = reruns["pristine"][t], reruns["patched"][t]
        is_lost, p = rerun_verdict(b, c, PYVERBS_RERUNS)
        line = (f"{t}: {suite_detail[t]} on patched in the suite run; "
                f"reruns passed {b}/{PYVERBS_RERUNS} on pristine, "
                f"{c}/{PYVERBS_RERUNS} on patched (one-sided Fisher p "
                f"{p:.3g})")
        (convicted if is_lost else flaky).append(line)
    for line in flaky:
        tally.notes.append(f"pyverbs flaky, not counted as lost: {line}")
        info(f"flaky, not counted as lost: {line}")
    tally.check(name + (f", {len(flaky)} flaky on rerun"
                        if flaky else ""),
                not convicted, "; ".join(convicted))


def run_all(source, variants, selftests=True, reproducers=True,
            planted=True):
    tally = Tally()
    build_userspace()
    host_tests(tally)
    series_checks(source, tally)
    for v in variants:
        kernel_mod.ensure_kernel(source, v, TEST_FLAVOUR[v])
    if reproducers:
        kernel_mod.ensure_kernel(source, "vanilla", TEST_FLAVOUR["vanilla"])
    if planted:
        kernel_mod.ensure_kernel(source, "planted", TEST_FLAVOUR["planted"])
    if selftests:
        lab_selftests(source, tally)
    for v in variants:
        guest_tests(source, v, tally)
        perftest_checks(source, v, tally)
        error_checks(source, v, tally)
        storm_checks(source, v, tally)
    if reproducers:
        reproducer_checks(source, tally)
    if planted:
        planted_checks(source, tally)
    if "pristine" in variants:
        reference_checks(source, "pristine", tally)
        same_kernel_checks(source, "pristine", tally)
    if all(v in variants for v in kernel_mod.COMPARED):
        comparison_checks(tally)
    pyverbs_checks(source, variants, tally)
    step("summary")
    for f in tally.failures:
        info(f"FAILED {f}")
    for s in tally.skips:
        info(f"skipped {s}")
    for n in tally.notes:
        info(f"note: {n}")
    info(accel.summary())
    print(f"odplab: {tally.passed} passed, {tally.failed} failed, "
          f"{tally.skipped} skipped", flush=True)
    return 0 if tally.failed == 0 else 1

