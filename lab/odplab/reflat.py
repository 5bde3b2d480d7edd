# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest's ib_read_lat / ib_write_lat / ib_send_lat with --odp (the lab's
build of perftest 25.01, first in the guest's PATH), the field's reference,
run in the guest next to ibodp's perftest.

This file runs in the guest as a script (python3 reflat.py ...; it imports
nothing from odplab) and is imported on the host to read what it wrote.
Each round runs the reference tool (server and client in one guest, over
loopback TCP for the connection set-up; or, with --role, this node's end
of two, over TCP to the peer's link-local address) and then, with
--perftest, ibodp's perftest on the same operation, size and iteration
count, so that the two are measured seconds apart on the same kernel. The
first round is a declared warm-up (TCG translates the code paths on first
use): it is kept in the JSON, marked, and left out of the comparison.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

SCHEMA_VERSION = 1

# Reference tool per operation and the perftest --ops name it matches.
TOOLS = {"read": ("ib_read_lat", "read"), "write": ("ib_write_lat", "write"),
         "send": ("ib_send_lat", "send")}

# ib_*_lat's result row: #bytes #iterations t_min t_max t_typical t_avg
# t_stdev p99 p99.9 (microseconds).
_ROW_FIELDS = ("t_min_us", "t_max_us", "t_typical_us", "t_avg_us",
               "t_stdev_us", "p99_us", "p999_us")
_ROW = re.compile(r"^\s*(\d+)\s+(\d+)((?:\s+[\d.]+){7})\s*$")


class RefError(Exception):
    pass


def parse_lat_output(text):
    """The result row of an ib_*_lat run as a dict, or RefError naming what
    the output said instead."""
    for line in text.splitlines():
        m = _ROW.match(line)
        if m:
            values = [float(v) for v in m.group(3).split()]
            row = {"bytes": int(m.group(1)), "iterations": int(m.group(2))}
            row.update(zip(_ROW_FIELDS, values))
            return row
    tail = "\n".join(text.strip().splitlines()[-8:])
    raise RefError(f"no result row in the tool's output; it ended with:\n"
                   f"{tail}")


def _listening(port):
    """Whether some socket listens on TCP `port` (from /proc/net/tcp*)."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path, encoding="ascii") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if (len(cols) > 3 and cols[3] == "0A" and
                    int(cols[1].rsplit(":", 1)[1], 16) == port):
                return True
    return False


# How long a client of two nodes tries to reach its server.
CONNECT_SECONDS = 120

# Tools whose server can sleep on CQ events (-e) instead of polling:
# ib_send_lat's ping-pong waits for a receive completion. ib_write_lat's
# waits by polling the buffer itself and has no such mode.
EVENT_SERVER = ("ib_send_lat",)


def server_cpus():
    """The CPUs a sleeping server runs on: every allowed CPU but this
    process's (the benchmark CPU), or None when there is no other."""
    mine = os.sched_getaffinity(0)
    others = set(range(os.cpu_count() or 1)) - mine
    return others or None


def run_tool(tool, device, size, iterations, port, timeout, cpus=None):
    """Server and client of one ib_*_lat run; returns (row, client text).

    When both ends busy-poll on one CPU, the waiting end runs only when
    the other's time slice ends, and the tool measures the scheduler tick.
    So where the tool allows it (EVENT_SERVER) the server sleeps on CQ
    events on another CPU (rxe's work runs there too, and a sleeping
    server leaves it the CPU): one polling side, as ib_read_lat's idle
    server is."""
    base = [tool, "-d", device, "-x", "0", "--odp", "-F", "-s", str(size),
            "-n", str(iterations), "-p", str(port)]
    server = subprocess.Popen(
        base + (["-e"] if cpus else []), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if server.poll() is not None:
                raise RefError(f"{tool} server exited with {server.returncode}"
                               f" before listening:\n{server.stdout.read()}")
            if time.monotonic() > deadline:
                raise RefError(f"{tool} server not listening on port {port} "
                               "after 30 s")
            time.sleep(0.05)
        client = subprocess.run(base + ["localhost"], capture_output=True,
                                text=True, timeout=timeout, check=False)
        text = client.stdout + client.stderr
        if client.returncode != 0:
            raise RefError(f"{' '.join(base)} localhost exited with "
                           f"{client.returncode}:\n{text[-2000:]}")
        return parse_lat_output(text), text
    finally:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _output(proc_or_timeout):
    """stdout + stderr of a finished run or of one subprocess.run killed at
    its timeout (whose TimeoutExpired keeps what it had read, as bytes)."""
    parts = (proc_or_timeout.stdout, proc_or_timeout.stderr)
    return "".join(p.decode(errors="replace") if isinstance(p, bytes)
                   else p or "" for p in parts)


# The command of one end across two nodes. The tools exchange their QP's
# attributes over their own TCP connection (--ipv6-addr: to the peer's
# link-local address) and address the QP by GID 0 (-x 0: rxe's link-local
# GID), not through rdma_cm (-R). perftest 25.01's -R listens twice on the
# server, for its exchange and then for the test QP, and nothing orders the
# client's connect request for the test QP after the second rdma_listen().
# A request that comes first is rejected, and the client's retry loop
# (rdma_cm_client_connection()) reads the cm ids that rdma_cm_destroy_cma()
# has just freed: it segfaults in rdma_resolve_addr() while its server
# waits. The TCP exchange has one rendezvous, the server's accept(): a
# client that cannot connect exits 1 with "Couldn't connect to" and is
# tried again. reflat's timeout stays the backstop for a server left
# waiting: a client that never comes, or one that dies once connected
# (only ib_read_lat's server reads the socket while it waits; the
# ib_write_lat and ib_send_lat servers poll their buffer or CQ).
# Reproducer: lab/repro/perftest-rcm-race.sh (README, "perftest across two
# nodes").
def remote_command(tool, device, size, iterations, port):
    return [tool, "-d", device, "--ipv6-addr", "-x", "0", "--odp", "-F",
            "-s", str(size), "-n", str(iterations), "-p", str(port)]


# What a client prints when its TCP connect fails, for want of a server
# (not up yet) or of a route (ethernet_client_connect()); it then exits 1.
NO_SERVER = "Couldn't connect to"


def _run(cmd, timeout, what):
    """cmd's (exit status, output), stdout line-buffered so that a tool
    killed at its timeout still leaves what it printed."""
    try:
        proc = subprocess.run(["stdbuf", "-oL", *cmd], capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise RefError(f"{' '.join(cmd)} ({what}) did not end in "
                       f"{timeout:.0f} s; it printed:\n"
                       f"{_output(e)[-2000:]}") from None
    return proc.returncode, _output(proc)


def run_remote(tool, device, size, iterations, port, timeout, peer):
    """One ib_*_lat run across two nodes (odplab run --nodes 2): with peer
    None this node is the server and returns (None, its text, 0); else it
    is the client, which tries again while the peer's server is not up yet
    (each run has its own port, so a try never reaches the last run's
    server), and returns (row, client text, tries that found no server).
    Any other failure ends the run at once, with that try's output, rather
    than be hidden behind later tries that find the server gone."""
    cmd = remote_command(tool, device, size, iterations, port)
    if peer is None:
        rc, text = _run(cmd, timeout, "server")
        if rc != 0:
            raise RefError(f"{' '.join(cmd)} (server) exited with "
                           f"{rc}:\n{text[-2000:]}")
        return None, text, 0
    cmd.append(peer)
    deadline = time.monotonic() + CONNECT_SECONDS
    no_server = 0
    while True:
        rc, text = _run(cmd, timeout, "client")
        if rc == 0:
            return parse_lat_output(text), text, no_server
        if rc != 1 or NO_SERVER not in text:
            raise RefError(f"{' '.join(cmd)} exited with {rc} after "
                           f"{no_server} tries that found no server:\n"
                           f"{text[-2000:]}")
        no_server += 1
        if time.monotonic() > deadline:
            raise RefError(f"{' '.join(cmd)} found no server in "
                           f"{CONNECT_SECONDS} s ({no_server} tries):\n"
                           f"{text[-2000:]}")
        time.sleep(1)


def run_perftest(binary, op, size, iterations, out_path, timeout):
    """ibodp's perftest on one page of a 4 KiB ODP MR, no memory event:
    the scenario ib_*_lat measures. Returns the minimum, p50 and p99 in us."""
    cmd = [binary, f"--ops={op}", f"--msg_sizes={size}", "--mr_sizes=4K",
           "--pages=1", "--events=none", "--registration=odp",
           "--backgrounds=none",
           f"--iterations={iterations}",
           "--warmup=100", "--repetitions=1", f"--output={out_path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RefError(f"{' '.join(cmd)} exited with {proc.returncode}:\n"
                       f"{(proc.stdout + proc.stderr)[-2000:]}")
    with open(out_path, encoding="utf-8") as f:
        rep = json.load(f)["results"][0]["repetitions"][0]
    lat = rep["latency"]
    return {"min_us": lat["min_ns"] / 1000.0, "p50_us": lat["p50_ns"] / 1000.0,
            "p99_us": lat["p99_ns"] / 1000.0,
            "iterations": rep["ops"], "report": out_path}


def _summary(run):
    if "error" in run:
        return "failed: " + run["error"].splitlines()[0]
    if "reference" not in run:
        return "served"
    ref = run["reference"]
    text = f"min {ref['t_min_us']:.2f} us, typical {ref['t_typical_us']:.2f} us"
    if "perftest" in run:
        text += (f"; perftest min {run['perftest']['min_us']:.2f} us, "
                 f"p50 {run['perftest']['p50_us']:.2f} us")
    return text + (" (warm-up)" if run["warmup"] else "")


def _pin_to_bench_cpu():
    """Pins this process, and so both ends of every reference tool and
    perftest, to $IBODP_BENCH_CPU (the odplab guest's CPU without rxe's
    work), as perftest pins itself; returns the affinity as "0,1"."""
    cpu = os.environ.get("IBODP_BENCH_CPU", "")
    if cpu.isdigit():
        os.sched_setaffinity(0, {int(cpu)})
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


def guest_main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="rxe0")
    p.add_argument("--ops", default="read", help="read,write,send")
    p.add_argument("--size", type=int, default=2)
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3,
                   help="measured rounds after the warm-up round")
    p.add_argument("--perftest", default="",
                   help="ibodp perftest binary to pair with each run")
    p.add_argument("--out", required=True, help="directory for the results")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--role", default="both",
                   choices=("both", "server", "client"),
                   help="both ends in this guest, or this node's end of "
                   "two (odplab run --nodes 2)")
    p.add_argument("--peer", default="",
                   help="with --role client: the server's address "
                   "(fe80::...%%eth0)")
    args = p.parse_args(argv)
    if (args.role == "client") != bool(args.peer):
        p.error("--peer goes with --role client, and only with it")
    if args.role != "both" and args.perftest:
        p.error("--perftest pairs runs in one guest; not with --role")
    os.makedirs(args.out, exist_ok=True)
    pinned = _pin_to_bench_cpu()
    ops = [o for o in args.ops.split(",") if o]
    for op in ops:
        if op not in TOOLS:
            p.error(f"unknown op '{op}'; known: {', '.join(TOOLS)}")
    result = {"schema_version": SCHEMA_VERSION, "kernel": os.uname().release,
              "role": args.role, "peer": args.peer,
              "device": args.device, "size": args.size,
              "iterations": args.iterations, "cpu_affinity": pinned,
              "context": context_from_environment(os.environ),
              "tools": {TOOLS[op][0]: shutil.which(TOOLS[op][0]) or ""
                        for op in ops},
              "runs": [], "errors": []}
    port = 18515
    for op in ops:
        tool, perf_op = TOOLS[op]
        for rnd in range(args.rounds + 1):
            run = {"op": op, "tool": tool, "round": rnd, "warmup": rnd == 0}
            port += 1
            try:
                if args.role == "both":
                    cpus = server_cpus() if tool in EVENT_SERVER else None
                    run["server"] = (
                        f"sleeps on CQ events (-e) on CPU(s) "
                        f"{','.join(map(str, sorted(cpus)))}" if cpus
                        else "runs beside the client, on its CPU(s)")
                    row, text = run_tool(tool, args.device, args.size,
                                         args.iterations, port, args.timeout,
                                         cpus)
                else:
                    run["server"] = ("in this node" if args.role == "server"
                                     else f"in the peer node {args.peer}")
                    row, text, failed = run_remote(
                        tool, args.device, args.size, args.iterations, port,
                        args.timeout, args.peer or None)
                    if args.peer:
                        # Tries that found no server yet.
                        run["failed_tries"] = failed
                if row is not None:
                    run["reference"] = row
                with open(os.path.join(args.out, f"{tool}-{rnd}.txt"), "w",
                          encoding="utf-8") as f:
                    f.write(text)
                if args.perftest:
                    run["perftest"] = run_perftest(
                        args.perftest, perf_op, args.size, args.iterations,
                        os.path.join(args.out, f"perftest-{op}-{rnd}.json"),
                        args.timeout)
            except (RefError, subprocess.TimeoutExpired, OSError) as e:
                run["error"] = str(e)
                result["errors"].append(f"{tool} round {rnd}: {e}")
            result["runs"].append(run)
            print(f"reflat: {tool} round {rnd}: {_summary(run)}", flush=True)
    path = os.path.join(args.out, "reference.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)
    return 1 if result["errors"] else 0


def context_from_environment(environ):
    """What odplab tells a guest command of its VM (IBODP_CONTEXT_<KEY>,
    as perftest's context reads it: accelerator, qemu_cpu)."""
    prefix = "IBODP_CONTEXT_"
    return {k[len(prefix):].lower(): v for k, v in sorted(environ.items())
            if k.startswith(prefix) and len(k) > len(prefix)}


# agreement() statistics: perftest's key and the reference row's key.
STATS = {"p50": ("p50_us", "t_typical_us"), "min": ("min_us", "t_min_us")}


def _measured(result, op):
    """The measured (not warm-up) rounds of `op` that ran both tools."""
    return [r for r in result["runs"]
            if r["op"] == op and not r["warmup"] and "perftest" in r
            and "reference" in r]


def floors(result, op="read"):
    """Each tool's floor in the boot: the least of its per-round minima over
    the measured rounds, as (perftest min_us, reference t_min_us, their
    ratio), or None when no round has both.

    Under rxe a run sits in one of two modes for its whole length (README,
    "reference"), so one run's minimum can be its mode's floor rather than
    the path's; the floor over the rounds is the path's."""
    runs = [r for r in _measured(result, op)
            if "min_us" in r["perftest"] and r["reference"].get("t_min_us", 0)
            > 0]
    if not runs:
        return None
    mine = min(r["perftest"]["min_us"] for r in runs)
    theirs = min(r["reference"]["t_min_us"] for r in runs)
    return mine, theirs, mine / theirs


def agreement(result, op="read", stat="p50"):
    """Median over measured rounds of perftest's statistic / the reference
    tool's (p50 / t_typical, or min / t_min), and the per-round ratios.
    None when no round has both."""
    mine, theirs = STATS[stat]
    ratios = [r["perftest"][mine] / r["reference"][theirs]
              for r in _measured(result, op)
              if mine in r["perftest"] and r["reference"].get(theirs, 0) > 0]
    if not ratios:
        return None, []
    s = sorted(ratios)
    mid = len(s) // 2
    median = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2.0
    return median, ratios


if __name__ == "__main__":
    sys.exit(guest_main())
