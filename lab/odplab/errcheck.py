# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Error paths that need the guest: perftest on a device that is missing,
on one without ODP (siw0, created for the case), without root for tracing,
and asking for hw counters on a kernel that has none. Each case must exit
with status 2 and name its cause; lab/guest/runcases.py runs them."""

import json
from dataclasses import dataclass

from .common import PROJECT_ROOT

RUNCASES = PROJECT_ROOT / "lab" / "guest" / "runcases.py"


@dataclass
class Case:
    name: str
    argv: list
    want_exit: int
    want_words: tuple
    setup: tuple = ()
    variants: tuple = ("pristine", "patched")

    def to_json(self):
        return {"name": self.name, "argv": self.argv,
                "setup": [list(c) for c in self.setup], "timeout": 120}


def cases(perftest, out_dir):
    base = [str(perftest), "--ops=read", "--iterations=1", "--repetitions=1",
            "--backgrounds=none",
            f"--output={out_dir}/unused.json"]
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    # The results share is root's; the guest's /tmp is open to nobody.
    as_nobody = base[:-1] + ["--output=/tmp/unused.json"]
    return [
        Case("missing device", base + ["--device=nosuch0"], 2,
             ("RDMA device 'nosuch0' not found", "devices present: rxe0")),
        Case("device without ODP (siw)", base + ["--device=siw0"], 2,
             ("device siw0 has no On-Demand Paging support",
              "IBV_ODP_SUPPORT"),
             setup=(("rdma", "link", "add", "siw0", "type", "siw", "netdev",
                     "dummy0"),)),
        # uverbs is root-only on the guest's devtmpfs: open it up so that
        # the case reaches the tracing check.
        Case("function profiler without root",
             nobody + as_nobody + ["--counters=profiler"], 2,
             ("function profiler needs root",),
             setup=(("sh", "-c", "chmod 0666 /dev/infiniband/uverbs*"),)),
        Case("hw counters on a kernel without rxe ODP counters",
             base + ["--counters=hw"], 2,
             ("no page_faults", "counter patch"), variants=("pristine",)),
        Case("tracepoints on a kernel without them",
             base + ["--counters=trace"], 2,
             ("no ib_umem_odp tracepoints", "kernel-patches/"),
             variants=("pristine",)),
    ]


def write_cases(path, selected):
    path.write_text(json.dumps([c.to_json() for c in selected], indent=1))


def judge(case, result):
    """(ok, detail) for one case's recorded result."""
    if "setup_error" in result:
        return False, f"setup failed: {result['setup_error']}"
    stderr = result.get("stderr", "")
    missing = [w for w in case.want_words if w not in stderr]
    ok = result.get("exit") == case.want_exit and not missing
    return ok, (f"exit {result.get('exit')} (want {case.want_exit}), "
                f"missing {missing} in stderr: {stderr[-600:]}")
