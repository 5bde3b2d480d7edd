# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The project's C++ build (library, perftest, tests) that the guests run."""

import subprocess

from .common import PROJECT_ROOT, LabError, step

BUILD_DIR = PROJECT_ROOT / "build"
GUEST_TESTS = BUILD_DIR / "tests" / "guest" / "ibodp_guest_tests"
PERFTEST = BUILD_DIR / "perftest" / "perftest"
STORM = BUILD_DIR / "tests" / "storm" / "ibodp_storm"
# The guest wrapper that keeps khugepaged asleep while perftest measures
# events (it says why), and the context entry that says so in the report.
KHUGEPAGED_ASLEEP = (PROJECT_ROOT / "lab" / "guest" / "khugepaged-asleep.sh")
KHUGEPAGED_CONTEXT = "khugepaged=asleep"


def build_userspace():
    step(f"building the C++ tree in {BUILD_DIR}")
    for cmd in (["cmake", "-S", PROJECT_ROOT, "-B", BUILD_DIR,
                 "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                ["cmake", "--build", BUILD_DIR, "-j2"]):
        proc = subprocess.run([str(c) for c in cmd], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise LabError(f"{' '.join(str(c) for c in cmd)} failed:\n"
                           + (proc.stdout + proc.stderr)[-4000:])
