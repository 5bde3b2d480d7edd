# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab's command line."""

import argparse
import os
import signal
import sys

from . import (accel, compare, deps, kernel, nodes, rdmauser, runcmd,
               series, source, testcmd, vm)
from .common import LabError, cache_dir, info, step


def _source(args):
    return source.resolve_source(args.kernel_src)


def cmd_setup(args):
    step("checking Debian packages")
    deps.ensure_packages()
    src = _source(args)
    step(f"kernel source: {src.description} (Linux {src.version}), git "
         f"tree {src.tree_id[:12]} in {src.repo}")
    user = rdmauser.ensure_guest_userspace()
    step(f"guest RDMA userspace: rdma-core {rdmauser.RDMA_CORE.version} in "
         f"{user.rdma_core}, perftest {rdmauser.PERFTEST.version} in "
         f"{user.perftest}")
    info(f"cache: {cache_dir()}")
    return 0


def cmd_kernel_build(args):
    deps.ensure_packages()
    src = _source(args)
    variants = (kernel.COMPARED if args.variant == "all" else
                [args.variant])
    for v in variants:
        k = kernel.ensure_kernel(src, v, args.flavour, jobs=args.jobs,
                                 force=args.force)
        info(f"{v}: {k.bzimage} ({k.manifest['kernelrelease']})")
    return 0


def cmd_series_check(args):
    src = _source(args)
    todo = kernel.variant_patches(args.variant)
    results = series.check(src, args.variant, jobs=args.jobs)
    text = series.report(results, len(todo),
                         kernel.own_patches_start(args.variant))
    if not results[-1].ok:
        raise LabError(text, exit_code=1)
    step(text)
    return 0


def cmd_vm_run(args):
    argv = list(args.command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise LabError("no command given: odplab vm run --variant V -- CMD "
                       "[ARG...]")
    deps.ensure_packages()
    src = _source(args)
    k = kernel.ensure_kernel(src, args.variant, args.flavour)
    one = args.nodes == 1
    opts = vm.VmOptions(memory=args.memory,
                        cpus=args.cpus or (2 if one else nodes.default_cpus()),
                        timeout=args.timeout, boot_timeout=args.boot_timeout)
    if one:
        results = [vm.run_in_vm(k, argv, args.variant, out_dir=args.out,
                                opts=opts)]
    else:
        results = nodes.run_nodes(k, argv, args.variant, out_dir=args.out,
                                  opts=opts)
    for n, r in enumerate(results):
        who = "" if one else f"node{n}: "
        if r.message:
            print(f"odplab: {who}{r.message}", file=sys.stderr)
        step(f"{who}guest exit status {r.status}; results: {r.out_dir}")
    return nodes.combined(results)


def cmd_test(args):
    deps.ensure_packages()
    src = _source(args)
    # The planted kernel is not one the tests must pass on: with
    # --variant planted, only the checks that it fails run.
    variants = (kernel.COMPARED if args.variant == "all" else
                [] if args.variant == "planted" else [args.variant])
    if "vanilla" in variants:
        raise LabError("--variant vanilla: the vanilla kernel only runs the "
                       "reproducers of the base-patches/ bugs, which "
                       "`odplab test` runs unless --no-reproducers; to run "
                       "other tests on it use `odplab vm run --variant "
                       "vanilla -- CMD`")
    return testcmd.run_all(src, variants, selftests=not args.no_selftests,
                           reproducers=args.variant == "all"
                           and not args.no_reproducers,
                           planted=args.variant in ("all", "planted")
                           and not args.no_planted, select=args.k)


def _preset(args):
    return "quick" if args.quick else "full" if args.full else "default"


def cmd_run(args):
    deps.ensure_packages()
    extra = list(args.perftest_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    if args.host and args.same_kernel:
        raise LabError("--same-kernel boots a lab kernel twice and cannot "
                       "go with --host; on a host, compare two --host runs "
                       "with odplab compare")
    if args.host and args.nodes != 1:
        raise LabError("--nodes 2 boots two lab guests and cannot go with "
                       "--host; on two hosts, run perftest --server on "
                       "one and perftest --client SERVER on the other")
    if args.host:
        return runcmd.run_host(args.device, _preset(args), args.out,
                               reference=not args.no_reference, extra=extra)
    if args.device:
        raise LabError("--device names a host device and needs --host; the "
                       "guests always use rxe0")
    return runcmd.run(_source(args), _preset(args), args.out,
                      reference=not args.no_reference, extra=extra,
                      same_kernel=args.same_kernel, nodes=args.nodes)


def cmd_compare(args):
    comp = compare.write_outputs(
        args.a, args.b, args.out, a_label=args.label_a, b_label=args.label_b,
        noise=args.noise, alpha=args.alpha,
        allow_accel_mismatch=args.allow_accel_mismatch)
    print((args.out.rstrip("/") + "/compare.md"), flush=True)
    print(compare.to_markdown(comp), end="", flush=True)
    return 1 if comp.regressions() and args.fail_on_regression else 0


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"{value} is not between 0 and 1 (exclusive)")
    return value


def parser():
    p = argparse.ArgumentParser(
        prog="odplab",
        description="Build pristine and patched Linux kernels and run RDMA "
        "ODP tests and benchmarks in them under QEMU with Soft-RoCE.")
    p.add_argument("--kernel-src", metavar="DIR",
                   default=os.environ.get("IBODP_KERNEL_SRC"),
                   help="use this git kernel tree (its HEAD) instead of "
                   "Debian's linux-source-7.3; never modified "
                   "[$IBODP_KERNEL_SRC]")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    # For the commands that boot guests.
    boots = argparse.ArgumentParser(add_help=False)
    boots.add_argument("--accel", choices=accel.CHOICES, default=None,
                       help="QEMU accelerator for the guests: auto (KVM when "
                       "the lab kernel boots under it, probed once per "
                       "machine boot, else TCG), kvm (an error when KVM "
                       f"cannot boot it) or tcg [${accel.ENV}, default auto]")

    s = sub.add_parser("setup", help="install packages, fetch the source")
    s.set_defaults(func=cmd_setup)

    k = sub.add_parser("kernel", help="kernel builds").add_subparsers(
        dest="kcmd", required=True, metavar="ACTION")
    b = k.add_parser("build", help="build (or reuse) a kernel")
    b.add_argument("--variant", default="all",
                   choices=[*kernel.VARIANTS, "all"])
    b.add_argument("--flavour", default="default",
                   help="config flavour: default, debug (lockdep, "
                   "DEBUG_VM) or kasan (debug + KASAN)")
    b.add_argument("--jobs", type=int, default=None, help="make -j")
    b.add_argument("--force", action="store_true",
                   help="rebuild even if cached")
    b.set_defaults(func=cmd_kernel_build)

    sc = sub.add_parser("series", help="patch series checks").add_subparsers(
        dest="action", metavar="ACTION", required=True)
    c = sc.add_parser("check", help="build every prefix of a variant's "
                      "series; name the first patch that does not build or "
                      "adds a compiler warning (W=1) in a file it touches")
    c.add_argument("--variant", default="patched",
                   choices=[*(v for v in kernel.VARIANTS if v != "vanilla"),
                            *kernel.BUILD_ONLY],
                   help="whose series: pristine (base-patches/), patched "
                   "(base-patches/ + the proposal; default), planted, or "
                   "mlx5 (the patched kernel series + mlx5-patches/, built "
                   "with the ConnectX driver, compile-tested only)")
    c.add_argument("--jobs", type=int, default=None,
                   help="make -j (default: CPUs + 1)")
    c.set_defaults(func=cmd_series_check)

    v = sub.add_parser("vm", help="run commands in a guest").add_subparsers(
        dest="vcmd", required=True, metavar="ACTION")
    r = v.add_parser("run", help="boot a kernel and run COMMAND in it",
                     parents=[boots],
                     usage="odplab vm run [options] -- COMMAND [ARG...]")
    r.add_argument("--variant", default="pristine", choices=kernel.VARIANTS)
    r.add_argument("--flavour", default="default")
    r.add_argument("--timeout", type=float, default=900.0,
                   help="seconds for the whole run (default 900)")
    r.add_argument("--boot-timeout", type=float, default=180.0,
                   help="seconds until the command must start")
    r.add_argument("--memory", default="2G", help="guest memory (2G)")
    r.add_argument("--cpus", type=int, default=None,
                   help="vCPUs per guest (default 2; with --nodes 2, the "
                   "host's cores halved, at most 2)")
    r.add_argument("--nodes", type=int, default=1, choices=(1, 2),
                   help="2: two guests of the kernel joined by a link on "
                   "the host (a Unix socket), rxe0 on virtio-net in each, "
                   "IPv6 link-local only; the command runs in both and "
                   "reads IBODP_NODE and IBODP_PEER")
    r.add_argument("--out", default=None,
                   help="results directory (default results/vm/STAMP-V)")
    r.add_argument("command", nargs=argparse.REMAINDER)
    r.set_defaults(func=cmd_vm_run)

    u = sub.add_parser(
        "run", parents=[boots],
        help="the main job: perftest and ib_*_lat on pristine and "
        "patched, compared",
        usage="odplab run [--quick | --full] [options] [-- PERFTEST_ARG...]")
    size = u.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="6 scenarios, about 3 minutes per kernel")
    size.add_argument("--full", action="store_true",
                      help="the whole matrix (hours)")
    u.add_argument("--out", default=None,
                   help="report directory (default results/run/STAMP)")
    u.add_argument("--no-reference", action="store_true",
                   help="leave out Debian's ib_*_lat --odp runs")
    u.add_argument("--host", action="store_true",
                   help="no VM: run on this machine's kernel and RDMA "
                   "device (real ODP hardware, e.g. mlx5)")
    u.add_argument("--device", default=None,
                   help="with --host: the RDMA device (default: the first)")
    u.add_argument("--same-kernel", metavar="VARIANT", default=None,
                   choices=kernel.COMPARED,
                   help="run VARIANT on two boots instead of pristine and "
                   "patched: every difference compare reports is then a "
                   "false positive, and the run prints their rate")
    u.add_argument("--nodes", type=int, default=1, choices=(1, 2),
                   help="2: each kernel in two guests joined by a link on "
                   "this host, the MR under test and its events in node 0 "
                   "(perftest --server), the requester in node 1 "
                   "(perftest --client), connected through rdma_cm")
    u.add_argument("perftest_args", nargs=argparse.REMAINDER,
                   help="extra perftest flags after --, e.g. "
                   "-- --events=none,soft-dirty")
    u.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="two perftest reports side by side")
    c.add_argument("a", metavar="A.json", help="baseline (pristine)")
    c.add_argument("b", metavar="B.json", help="candidate (patched)")
    c.add_argument("--out", default=".",
                   help="where compare.md and compare.html go (default .)")
    c.add_argument("--label-a", default=None)
    c.add_argument("--label-b", default=None)
    c.add_argument("--noise", type=_fraction, default=compare.NOISE,
                   help="relative p50 difference below which a significant "
                   f"one is still 'same' (default {compare.NOISE})")
    c.add_argument("--alpha", type=_fraction, default=compare.ALPHA,
                   help=f"U test significance level (default "
                   f"{compare.ALPHA})")
    c.add_argument("--allow-accel-mismatch", action="store_true",
                   help="compare reports made under different accelerators "
                   "(KVM and TCG latencies differ by an order of magnitude)")
    c.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when a scenario is slower on B")
    c.set_defaults(func=cmd_compare)

    t = sub.add_parser("test", parents=[boots],
                       help="every test: host, lab, both guests")
    t.add_argument("--variant", default="all",
                   choices=[*kernel.VARIANTS, "all"])
    t.add_argument("--no-selftests", action="store_true",
                   help="skip the VM runner's own checks (boots 4 guests)")
    t.add_argument("--no-reproducers", action="store_true",
                   help="skip the vanilla kernel's run of the reproducers "
                   "of the base-patches/ bugs (runs with --variant all)")
    t.add_argument("--no-planted", action="store_true",
                   help="skip the check that the storm still fails on the "
                   "planted kernel (runs with --variant all or planted)")
    t.add_argument("-k", metavar="EXPR",
                   help="run only the checks whose names match EXPR "
                   "(pytest's -k: 'storm and pristine', 'not pyverbs'); "
                   "JUnit in results/test/junit.xml")
    t.set_defaults(func=cmd_test)
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI timeout, `kill`), raised where odplab is so that what
    Ctrl-C does on the way out runs for it too: a guest's QEMU killed, a
    comparison of the scenarios that finished written."""


def _terminate(signum, frame):
    del signum, frame
    raise Terminated()


def main(argv=None):
    args = parser().parse_args(argv)
    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        if "accel" in vars(args):  # the commands that boot guests
            accel.set_request(args.accel)
        return args.func(args)
    except LabError as e:
        print(f"odplab: error: {e}", file=sys.stderr)
        return e.exit_code
    except Terminated:
        print("odplab: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("odplab: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, before)
