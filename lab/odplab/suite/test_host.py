# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Host unit tests: every ctest test, one check each, from ctest's JUnit
file."""

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

from ..common import results_dir
from ..userspace import BUILD_DIR
from .plugin import check_skip


def _ctest_names():
    proc = subprocess.run(["ctest", "--test-dir", str(BUILD_DIR),
                           "--show-only=json-v1"], capture_output=True,
                          text=True, check=True)
    return [t["name"] for t in json.loads(proc.stdout)["tests"]]


def pytest_generate_tests(metafunc):
    if "ctest_name" in metafunc.fixturenames:
        metafunc.parametrize("ctest_name", _ctest_names())


@pytest.fixture(scope="module")
def ctest_results():
    """{name: (status, message, output)} of one ctest run of every test."""
    junit = results_dir() / "test" / "ctest.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    proc = subprocess.run(["ctest", "--test-dir", str(BUILD_DIR), "-j2",
                           "--output-junit", str(junit)],
                          capture_output=True, text=True, check=False)
    if not junit.exists():
        pytest.fail(f"ctest wrote no {junit} (exit {proc.returncode}):\n"
                    + (proc.stdout + proc.stderr)[-3000:], pytrace=False)
    results = {}
    for tc in ET.parse(junit).getroot().iter("testcase"):
        failure, skipped = tc.find("failure"), tc.find("skipped")
        out = tc.findtext("system-out") or ""
        status = ("failed" if failure is not None else
                  "skipped" if skipped is not None else
                  "passed" if tc.get("status") == "run" else tc.get("status"))
        msg = (failure if failure is not None else skipped)
        results[tc.get("name")] = (status, "" if msg is None else
                                   msg.get("message", ""), out)
    return results


def test_ctest(ctest_results, ctest_name):
    status, message, out = ctest_results.get(
        ctest_name, ("missing", "ctest did not report it", ""))
    if status == "skipped":
        # gtest prints the reason; ctest's JUnit keeps the output only.
        check_skip("host", ctest_name, out)
    assert status == "passed", (
        f"{status}: {message}\n{out[-3000:]}\nrerun: ctest --test-dir "
        f"{BUILD_DIR} -R '^{ctest_name}$' -V")
