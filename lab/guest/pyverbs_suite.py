# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""rdma-core's own test suite on one device, with the outcome of every test
written to a JSON file. The suite comes from $IBODP_PYVERBS_TESTS (the
lab's build of rdma-core 65.0 sets it, with PYTHONPATH to its pyverbs), or
else from Debian's python3-pyverbs (/usr/share/doc/rdma-core/tests, partly
gzipped).

Runs in the guest: python3 pyverbs_suite.py --dev rxe0 --out FILE
[--pattern test_odp | --tests ID,ID] [--repeat N]. Each test gets
--test-timeout seconds (SIGALRM in the main thread); a test that overruns
counts as an error. With --repeat the selection runs N times in a row, each
round with fresh test instances, and the file holds every round's outcomes.
Exit status 0 when the suite ran (whatever its tests did), 2 when it could
not start or a test named with --tests does not exist.
"""

import argparse
import collections
import gzip
import json
import os
import shutil
import signal
import sys
import time
import unittest

DEBIAN_SUITE_DIR = "/usr/share/doc/rdma-core/tests"


class TestTimeout(Exception):
    pass


def unpack(suite_dir, dest):
    """A runnable copy of the suite in dest/tests."""
    tests = os.path.join(dest, "tests")
    shutil.rmtree(tests, ignore_errors=True)
    os.makedirs(tests)
    for name in sorted(os.listdir(suite_dir)):
        src = os.path.join(suite_dir, name)
        if name.endswith(".py.gz"):
            with gzip.open(src, "rb") as f_in, \
                    open(os.path.join(tests, name[:-3]), "wb") as f_out:
                shutil.copyfileobj(f_in, f_out)
        elif name.endswith(".py"):
            shutil.copy(src, tests)
    return tests


class Recorder(unittest.TextTestResult):
    """Every test's outcome, skip reason and failure text."""

    def __init__(self, *args, timeout=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}
        self.timeout = timeout
        self._start = 0.0

    def _set(self, test, outcome, detail="", exc=None):
        self.outcomes[test.id()] = {
            "outcome": outcome, "detail": detail[-3000:],
            "seconds": round(time.monotonic() - self._start, 3)}
        if exc is not None:
            # What raised, structured: pyverbs' errors carry the errno of
            # the verb that failed (error_code).
            self.outcomes[test.id()]["exception"] = {
                "type": type(exc).__name__, "message": str(exc)[-1000:],
                "errno": getattr(exc, "error_code", None)}

    def startTest(self, test):
        self._start = time.monotonic()
        if self.timeout:
            signal.alarm(self.timeout)
        super().startTest(test)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set(test, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "fail", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._set(test, "error", self._exc_info_to_string(err, test),
                  exc=err[1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set(test, "skip", str(reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set(test, "expected-failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, "unexpected-success")


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


def _select(modules, pattern, wanted):
    """Fresh instances of the tests whose id contains pattern, or of the
    ones named in wanted; None (with a message) when a name is unknown."""
    suite = unittest.TestSuite()
    found = set()
    for mod in modules:
        for test in _flatten(
                unittest.defaultTestLoader.loadTestsFromModule(mod)):
            if (test.id() in wanted) if wanted else (pattern in test.id()):
                suite.addTest(test)
                found.add(test.id())
    unknown = sorted(set(wanted) - found)
    if unknown:
        print("pyverbs_suite: no such test: " + ", ".join(unknown),
              file=sys.stderr)
        return None
    return suite


def _run(suite, timeout):
    runner = unittest.TextTestRunner(
        verbosity=2, stream=sys.stdout,
        resultclass=lambda *a, **k: Recorder(*a, timeout=timeout, **k))
    return runner.run(suite).outcomes


def _loaded(name):
    """The file this process mapped whose path contains name (the
    libibverbs and pyverbs the suite ran on), or "" when none."""
    with open("/proc/self/maps", encoding="utf-8") as f:
        for line in f:
            fields = line.split(None, 5)
            path = fields[5].strip() if len(fields) == 6 else ""
            if name in path:
                # "pyverbs/": the package directory, not the module file.
                return (path[:path.index(name) + len(name) - 1]
                        if name.endswith("/") else path)
    return ""


def _on_alarm(signum, frame):
    del signum, frame
    raise TestTimeout("the test exceeded its time limit")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dev", default="rxe0")
    p.add_argument("--gid", type=int, default=0)
    p.add_argument("--out", required=True, help="JSON file for the outcomes")
    p.add_argument("--pattern", default="",
                   help="run only tests whose id contains this")
    p.add_argument("--tests", default="",
                   help="comma-separated exact test ids to run (instead of "
                   "--pattern)")
    p.add_argument("--repeat", type=int, default=1,
                   help="run the selection this many times")
    p.add_argument("--test-timeout", type=int, default=120)
    p.add_argument("--workdir", default="/tmp/rdma-core-tests")
    p.add_argument("--hugepages", type=int, default=16,
                   help="2 MiB pages to reserve first (the suite's huge-page "
                   "ODP tests skip without them); 0 leaves vm.nr_hugepages")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error(f"--repeat must be at least 1, not {args.repeat}")
    if args.tests and args.pattern:
        p.error("--tests and --pattern select tests two ways; give one")
    suite_dir = os.environ.get("IBODP_PYVERBS_TESTS") or DEBIAN_SUITE_DIR
    if not os.path.isdir(suite_dir):
        print(f"pyverbs_suite: {suite_dir} is missing: "
              + ("apt-get install python3-pyverbs"
                 if suite_dir == DEBIAN_SUITE_DIR else
                 "IBODP_PYVERBS_TESTS names no directory: build the "
                 "guests' rdma-core again with ./odplab setup"),
              file=sys.stderr)
        return 2
    if args.hugepages:
        try:
            with open("/proc/sys/vm/nr_hugepages", "w", encoding="ascii") as f:
                f.write(str(args.hugepages))
        except OSError as e:
            print(f"pyverbs_suite: cannot reserve {args.hugepages} huge "
                  f"pages ({e}); the huge-page tests will skip", flush=True)
    tests_dir = unpack(suite_dir, args.workdir)
    sys.path.insert(0, tests_dir)
    sys.path.insert(0, args.workdir)
    # The suite reads its options through its own args_parser module.
    sys.argv = [sys.argv[0], "--dev", args.dev, "--gid", str(args.gid)]
    from args_parser import parser  # pylint: disable=import-error,import-outside-toplevel
    parser.parse_args()
    import tests  # pylint: disable=import-error,import-outside-toplevel
    wanted = [t for t in args.tests.split(",") if t]
    signal.signal(signal.SIGALRM, _on_alarm)
    t0 = time.monotonic()
    rounds = []
    for _ in range(args.repeat):
        suite = _select(tests.__test_modules__, args.pattern, wanted)
        if suite is None:
            return 2
        rounds.append(_run(suite, args.test_timeout))
    doc = {"device": args.dev, "kernel": os.uname().release,
           "suite_dir": suite_dir, "pyverbs": _loaded("pyverbs/"),
           "libibverbs": _loaded("libibverbs.so"),
           "pattern": args.pattern, "tests": wanted,
           "seconds": round(time.monotonic() - t0), "rounds": rounds}
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    os.replace(args.out + ".tmp", args.out)
    for i, outcomes in enumerate(rounds, 1):
        counts = dict(collections.Counter(
            o["outcome"] for o in outcomes.values()))
        print(f"pyverbs_suite: round {i} of {len(rounds)}: {len(outcomes)} "
              f"tests: {counts}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
