# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest against the field's reference (ib_read_lat --odp), odplab
compare on two boots of the same kernel, and the pristine-vs-patched
comparison of test_perftest.py's reports."""

import pytest

from .. import compare, guestjob, reflat, reportcheck
from ..common import PROJECT_ROOT, info
from ..kernel import COMPARED
from ..userspace import PERFTEST
from .test_perftest import perftest_job

# ibodp's perftest against perftest 25.01's ib_read_lat --odp: warm 2-byte RDMA
# READ in alternating rounds in one guest boot. Asserted: each tool's floor
# (its least per-round minimum) agrees within this fraction, since both
# time the same post-to-completion path. The p50 is reported, not asserted:
# under rxe a run mostly sits in one of two modes for its whole length
# (README, "reference").
REF_TOLERANCE = 0.15
REF_ROUNDS = 5
REFLAT = PROJECT_ROOT / "lab" / "odplab" / "reflat.py"


def _reference(odplab):
    name = "reflat-pristine"
    return odplab.job("pristine", name, [
        "python3", REFLAT, "--ops=read", "--size=2", "--iterations=3000",
        f"--rounds={REF_ROUNDS}", f"--perftest={PERFTEST}",
        f"--out={guestjob.out_dir(name)}"], 900)


def test_reference_ran_clean(odplab):
    job = _reference(odplab)
    assert job.clean, job.result.message


def test_reference_floor(odplab):
    job = _reference(odplab)
    result = job.json("reference.json")
    assert result is not None, f"no reference.json: {job.result.message}"
    floor = reflat.floors(result)
    assert floor is not None, "no round ran both tools"
    info(f"floor: perftest {floor[0]:.2f} us, ib_read_lat {floor[1]:.2f} us, "
         f"ratio {floor[2]:.3f}")
    for stat, words in (("min", "minimum / t_min per round"),
                        ("p50", "p50 / typical per round")):
        median, ratios = reflat.agreement(result, stat=stat)
        if median is not None:
            info(f"perftest / ib_read_lat {words} (not asserted): median "
                 f"{median:.3f}, rounds "
                 f"{', '.join(f'{x:.3f}' for x in ratios)}")
    assert abs(floor[2] - 1) <= REF_TOLERANCE, (
        f"perftest minimum {floor[0]:.2f} us, ib_read_lat t_min "
        f"{floor[1]:.2f} us: ratio {floor[2]:.3f} beyond {REF_TOLERANCE:.0%}")


# Two boots of the pristine kernel run the same matrix: the no-event
# controls and events of both kinds, for READ and WRITE. compare, with its
# own thresholds (each event scenario's p50 divided, round by round, by
# its control's, the fixed floor, and the BH false discovery rate
# control), must call every tested scenario "same".
#
# Rounds: under TCG the guest runs 1.4x to 1.7x slower for stretches of 10 to
# 30 s now and then, and not for want of host CPU: on an idle host, sampled
# each second, QEMU's two vCPU threads ran 0.92-0.97 and 0.83-0.87 of a core in
# a stretch, 0.93-0.95 and 0.71-0.83 around it. Within a stretch an event
# scenario's ratio to its control rises (READ soft-dirty: 1.20-1.23 in slow
# rounds, 1.10-1.16 in fast ones, golden boot 1), and in the rounds a stretch
# begins or ends, a scenario and its control land in different modes (ratios
# 0.79 and 1.75 beside 1.12-1.22). A round of this matrix takes about 3.5 s, so
# with 5 rounds (about 17 s) one stretch can cover most of a boot: in a CI run
# of f4c8617 the controls' p50 moved up to 59 % between the boots, and the
# median ratio of READ after MADV_DONTNEED 13 %, which was flagged. With 15
# rounds (about 50 s) a stretch covers a majority of a boot's rounds only when
# it lasts over 26 s.
SAME_KERNEL_ROUNDS = 15
SAME_KERNEL_ARGS = ("--ops=read,write", "--msg-sizes=4K", "--mr-sizes=1M",
                    "--pages=16",
                    "--events=none,soft-dirty,mprotect-ro,madvise-dontneed",
                    "--iterations=100", "--warmup=20",
                    f"--repetitions={SAME_KERNEL_ROUNDS}",
                    "--registration=odp", "--backgrounds=none")
BOOTS = ("boot1", "boot2")


def _same_kernel(odplab, boot):
    name = f"same-pristine-{boot}"
    return odplab.job("pristine", name, [
        PERFTEST, *SAME_KERNEL_ARGS,
        f"--output={guestjob.path_in(name, 'run.json')}"], 900)


@pytest.fixture(scope="module")
def same_kernel(odplab):
    jobs = [_same_kernel(odplab, b) for b in BOOTS]
    for job in jobs:
        assert job.clean and (job.out / "run.json").exists(), \
            job.result.message
    out = guestjob.out_dir("same-pristine")
    comp = compare.write_outputs(*(j.out / "run.json" for j in jobs), out,
                                 "pristine, boot 1", "pristine, boot 2")
    line = f"{compare.same_kernel_line(comp)} ({out}/compare.md)"
    info(line)
    odplab.notes.append(line)
    return comp


def test_same_kernel_runs_have_event_rows(same_kernel):
    events = {r.scenario["event"] for r in same_kernel.rows
              if r.verdict != "control"}
    assert events >= {"soft-dirty", "madvise-dontneed"}, events


def test_same_kernel_two_boots_not_different(same_kernel):
    flagged = [f"{r.name}: {r.verdict}, p {r.p_value}, q {r.q_value}, p50 "
               f"change {r.change}" for r in same_kernel.rows
               if r.verdict not in ("same", "control")]
    assert not flagged, "; ".join(flagged)


def test_comparison_of_the_two_kernels(odplab):
    """The Markdown table against the JSON, the expectations of every
    event, and the HTML page in headless Chromium."""
    if not all(v in odplab.variants for v in COMPARED):
        pytest.fail("the comparison needs both kernels: run without "
                    "--variant", pytrace=False)
    paths = [perftest_job(odplab, v).out / "perftest.json" for v in COMPARED]
    missing = [str(p) for p in paths if not p.exists()]
    assert not missing, f"no perftest report: {missing}"
    out = guestjob.out_dir("compare")
    comp = compare.write_outputs(*paths, out, *COMPARED)
    a, b = (compare.load_report(p) for p in paths)
    problems = reportcheck.markdown_mismatches(
        (out / "compare.md").read_text(), a, b)
    assert not problems, "; ".join(problems[:10])
    failed = [f"{n}: {d}" for n, ok, d in reportcheck.expectation_checks(comp)
              if not ok]
    assert not failed, "; ".join(failed)
    ok, detail = reportcheck.render_html(out / "compare.html",
                                         out / "compare.png")
    info(detail)
    assert ok, detail
