#!/usr/bin/env python3
# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Runs command cases in the guest and records how each ended.

Usage: runcases.py CASES.json RESULTS.json
CASES.json is a list of {"name", "setup": [argv...], "argv", "timeout"}:
each setup command must succeed (its failure is recorded as the case's
setup_error); then argv runs and its exit status, stdout and stderr are
recorded. The host decides what each case should have done.
"""

import json
import os
import subprocess
import sys


def run_case(case):
    result = {"name": case["name"], "argv": case["argv"]}
    for cmd in case.get("setup", []):
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            result["setup_error"] = (f"{' '.join(cmd)} exited with "
                                     f"{proc.returncode}: {proc.stderr[-800:]}")
            return result
    try:
        proc = subprocess.run(case["argv"], capture_output=True, text=True,
                              timeout=case.get("timeout", 120), check=False)
        result.update(exit=proc.returncode, stdout=proc.stdout[-4000:],
                      stderr=proc.stderr[-4000:])
    except subprocess.TimeoutExpired as e:
        result.update(exit=None, timeout=True,
                      stderr=f"timed out after {e.timeout} s")
    except OSError as e:
        result.update(exit=None, stderr=f"cannot run: {e}")
    return result


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    results = []
    for case in cases:
        r = run_case(case)
        print(f"runcases: {r['name']}: exit {r.get('exit')}"
              + (f", setup failed: {r['setup_error']}" if "setup_error" in r
                 else ""), flush=True)
        results.append(r)
    tmp = argv[2] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
