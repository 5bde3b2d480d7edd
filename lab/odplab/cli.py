# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""odplab's command line."""

import argparse
import os
import sys

from . import deps, kernel, source, testcmd, vm
from .common import LabError, cache_dir, info, step


def _source(args):
    return source.resolve_source(args.kernel_src)


def cmd_setup(args):
    step("checking Debian packages")
    deps.ensure_packages()
    src = _source(args)
    step(f"kernel source: {src.description} (Linux {src.version}), git "
         f"tree {src.tree_id[:12]} in {src.repo}")
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


def cmd_vm_run(args):
    argv = list(args.command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    deps.ensure_packages()
    src = _source(args)
    k = kernel.ensure_kernel(src, args.variant, args.flavour)
    opts = vm.VmOptions(memory=args.memory, cpus=args.cpus,
                        timeout=args.timeout, boot_timeout=args.boot_timeout)
    r = vm.run_in_vm(k, argv, args.variant, out_dir=args.out, opts=opts)
    if r.message:
        print(f"odplab: {r.message}", file=sys.stderr)
    step(f"guest exit status {r.status}; results: {r.out_dir}")
    return r.exit_code


def cmd_test(args):
    deps.ensure_packages()
    src = _source(args)
    variants = (kernel.COMPARED if args.variant == "all" else
                [args.variant])
    return testcmd.run_all(src, variants, selftests=not args.no_selftests)


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

    s = sub.add_parser("setup", help="install packages, fetch the source")
    s.set_defaults(func=cmd_setup)

    k = sub.add_parser("kernel", help="kernel builds").add_subparsers(
        dest="kcmd", required=True, metavar="ACTION")
    b = k.add_parser("build", help="build (or reuse) a kernel")
    b.add_argument("--variant", default="all",
                   choices=[*kernel.VARIANTS, "all"])
    b.add_argument("--flavour", default="default",
                   help="config flavour: default or debug (lockdep, "
                   "DEBUG_VM)")
    b.add_argument("--jobs", type=int, default=None, help="make -j")
    b.add_argument("--force", action="store_true",
                   help="rebuild even if cached")
    b.set_defaults(func=cmd_kernel_build)

    v = sub.add_parser("vm", help="run commands in a guest").add_subparsers(
        dest="vcmd", required=True, metavar="ACTION")
    r = v.add_parser("run", help="boot a kernel and run COMMAND in it",
                     usage="odplab vm run [options] -- COMMAND [ARG...]")
    r.add_argument("--variant", default="pristine", choices=kernel.VARIANTS)
    r.add_argument("--flavour", default="default")
    r.add_argument("--timeout", type=float, default=900.0,
                   help="seconds for the whole run (default 900)")
    r.add_argument("--boot-timeout", type=float, default=180.0,
                   help="seconds until the command must start")
    r.add_argument("--memory", default="2G", help="guest memory (2G)")
    r.add_argument("--cpus", type=int, default=2, help="guest vCPUs (2)")
    r.add_argument("--out", default=None,
                   help="results directory (default results/vm/STAMP-V)")
    r.add_argument("command", nargs=argparse.REMAINDER)
    r.set_defaults(func=cmd_vm_run)

    t = sub.add_parser("test", help="every test: host, lab, both guests")
    t.add_argument("--variant", default="all",
                   choices=[*kernel.VARIANTS, "all"])
    t.add_argument("--no-selftests", action="store_true",
                   help="skip the VM runner's own checks (boots 4 guests)")
    t.set_defaults(func=cmd_test)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as e:
        print(f"odplab: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("odplab: interrupted", file=sys.stderr)
        return 130
