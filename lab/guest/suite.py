# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The benchmark part of one `odplab run` guest boot: ibodp's perftest on
its scenario matrix, then Debian's ib_*_lat --odp as the reference.

Runs in the guest: python3 suite.py --out DIR --reflat PATH [--ref-ops ...]
-- PERFTEST [ARG...]. perftest writes DIR/perftest.json after every
scenario, so a run cut short leaves the finished part readable. The exit
status is perftest's if it failed, else the reference run's.

In a guest of two (odplab run --nodes 2; init.sh exports IBODP_NODE and
IBODP_PEER) node 0 is the responder, perftest --server and the reference
tools' servers, and node 1 the requester, perftest --client and the
tools' clients, which write the reports.
"""

import argparse
import os
import subprocess
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--reflat", required=True, help="lab/odplab/reflat.py")
    p.add_argument("--ref-ops", default="read,write,send",
                   help="reference tools to run; empty for none")
    p.add_argument("--ref-device", default="rxe0")
    p.add_argument("--ref-iterations", type=int, default=1000)
    p.add_argument("--ref-rounds", type=int, default=1)
    p.add_argument("perftest", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    cmd = args.perftest[1:] if args.perftest[:1] == ["--"] else args.perftest
    if not cmd:
        p.error("no perftest command after --")
    node = os.environ.get("IBODP_NODE")
    peer = os.environ.get("IBODP_PEER", "")
    ref_role = []
    if node is not None:
        if node not in ("0", "1") or not peer:
            p.error(f"IBODP_NODE={node!r} IBODP_PEER={peer!r}: not a guest "
                    "of odplab run --nodes 2")
        # Each node's own results directory: the host's --out is the
        # run's, which the guests do not see.
        args.out = os.environ.get("IBODP_OUT") or p.error("no IBODP_OUT")
        serve = node == "0"
        cmd = cmd + (["--server"] if serve else [f"--client={peer}"])
        ref_role = (["--role=server"] if serve
                    else ["--role=client", f"--peer={peer}"])
    os.makedirs(args.out, exist_ok=True)
    t0 = time.monotonic()
    print(f"suite: stage perftest: {' '.join(cmd)}", flush=True)
    rc = subprocess.run(cmd, check=False).returncode
    print(f"suite: perftest exited {rc} after {time.monotonic() - t0:.0f} s",
          flush=True)
    ref_rc = 0
    if args.ref_ops:
        print(f"suite: stage reference: ib_*_lat --odp for {args.ref_ops}",
              flush=True)
        ref_rc = subprocess.run(
            [sys.executable, args.reflat, f"--ops={args.ref_ops}",
             f"--device={args.ref_device}", "--size=2",
             f"--iterations={args.ref_iterations}",
             f"--rounds={args.ref_rounds}", *ref_role,
             f"--out={os.path.join(args.out, 'reference')}"],
            check=False).returncode
        print(f"suite: reference exited {ref_rc} after "
              f"{time.monotonic() - t0:.0f} s", flush=True)
    return rc or ref_rc


if __name__ == "__main__":
    sys.exit(main())
