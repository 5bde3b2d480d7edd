# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Booting a lab kernel under QEMU and running one command in it."""

import functools
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import accel, rdmauser, splat
from .common import (PROJECT_ROOT, LabError, cache_dir, info, step,
                     tail_file)

INIT = PROJECT_ROOT / "lab" / "guest" / "init.sh"
TSC_KHZ_TOOL = PROJECT_ROOT / "build" / "tools" / "ibodp_tsc_khz"
START_MARK = "ibodp-guest: ===== command start ====="
END_MARK = "ibodp-guest: ===== command end"
# Environment passed through to the guest command.
PASS_ENV_PREFIXES = ("IBODP_", "GTEST_", "GLOG_")

# The guest's virtio-blk disks: sparse raw files on the host that live as
# long as one boot, formatted on the host (in a TCG guest, and more so
# under KASAN, mkfs and mkswap would take tens of seconds of every boot).
# init.sh finds each by its serial: the swap disk, and the ext4 filesystem
# with real writeback (room for the msync event's backing file of a 1 GiB
# MR). Sizes in MiB.
DISKS = (
    ("ibodp-swap", 2048, ["mkswap", "-q"]),
    ("ibodp-ext4", 2048, ["mkfs.ext4", "-q", "-F", "-m", "0", "-E",
                          "lazy_itable_init=1,lazy_journal_init=1"]),
)
# Two memory nodes for migration tests. The guest has no ACPI, so QEMU's
# -numa nodes would reach it in no table: the kernel splits its memory
# itself (CONFIG_NUMA_EMU). NUMA balancing stays off unless a test turns it
# on: its hinting faults would invalidate every ODP MR now and then.
NUMA_APPEND = ["numa=fake=2", "numa_balancing=disable"]

EXIT_SPLAT = 3
EXIT_TIMEOUT = 124
EXIT_GUEST_DIED = 125
# After an Oops, BUG or panic the guest gets this long to finish by itself.
FATAL_GRACE_SECONDS = 20


@dataclass
class VmOptions:
    memory: str = "2G"
    cpus: int = 2
    timeout: float = 900.0       # whole run, seconds
    boot_timeout: float = 180.0  # until the command starts
    echo: bool = True            # print the command's output live
    env: dict = field(default_factory=dict)  # extra guest environment
    extra_append: list = field(default_factory=list)


@dataclass
class VmResult:
    exit_code: int
    status: int | None       # the command's own status, if it ended
    out_dir: Path
    message: str             # empty on success
    splats: list


def default_out_dir(variant):
    from .common import results_dir  # pylint: disable=import-outside-toplevel
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = results_dir() / "vm" / f"{stamp}-{variant}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}.{n}")
    return out


@functools.lru_cache(maxsize=1)
def host_tsc_khz():
    """The host's TSC frequency in kHz (build/tools/ibodp_tsc_khz), or None
    when the tool is not built or fails. Measured once per odplab process:
    the tool sleeps 200 ms, and `odplab test` boots many guests."""
    if not TSC_KHZ_TOOL.exists():
        return None
    proc = subprocess.run([str(TSC_KHZ_TOOL)], capture_output=True,
                          text=True, check=False)
    out = proc.stdout.strip()
    return int(out) if proc.returncode == 0 and out.isdigit() else None


def _clock_args(chosen):
    """Kernel arguments that keep a TCG guest on the TSC clocksource.

    TCG gives every vCPU the host's TSC, but the guest's boot-time TSC
    checks fail under emulation: the PIT calibration fails on a busy host,
    and the sync check across vCPUs sees skew. Either failure leaves the
    guest on jiffies, whose 4 ms steps (HZ=250) would quantise every
    latency the lab measures. KVM guests have kvm-clock and need neither.
    """
    if chosen.name == "kvm":
        return []
    khz = host_tsc_khz()
    if khz is None:
        info(f"no host TSC frequency ({TSC_KHZ_TOOL} not built): the guest "
             "calibrates its TSC itself and may fall back to jiffies on a "
             "busy host; perftest reports the clocksource it used")
        return ["tsc=reliable"]
    return ["tsc=reliable", f"tsc_early_khz={khz}"]


def _check_path(p, what):
    if any(c.isspace() or c == "," for c in str(p)):
        raise LabError(f"{what} {p} contains a space or comma, which the "
                       "kernel command line and QEMU's -fsdev cannot carry; "
                       "use a path without them")


def guest_context_env(chosen, kernel=None):
    """What the guest command is told of the VM it runs in: perftest puts
    every IBODP_CONTEXT_<KEY> into its report's context (and reflat.py into
    its own). The kernel's HZ says what a latency of one tick means."""
    env = {"IBODP_CONTEXT_ACCELERATOR": chosen.name,
           "IBODP_CONTEXT_QEMU_CPU": chosen.cpu}
    qemu = accel.release(accel.qemu_version())
    if qemu is not None:
        env["IBODP_CONTEXT_QEMU_VERSION"] = qemu
    hz = kernel.hz if kernel is not None else None
    if hz:
        env["IBODP_CONTEXT_KERNEL_HZ"] = str(hz)
    return env


def _write_vm_record(out_dir, kernel, variant, argv, chosen, cmd):
    """vm.json: what this boot ran under, beside its results."""
    record = {"variant": variant,
              "kernelrelease": kernel.manifest.get("kernelrelease"),
              "kernel_key": kernel.manifest.get("key"),
              "flavour": kernel.manifest.get("flavour"),
              "accelerator": chosen.name, "qemu_cpu": chosen.cpu,
              "accelerator_reason": chosen.reason,
              "qemu_version": accel.qemu_version(),
              "command": argv, "qemu_command": cmd}
    (out_dir / "vm.json").write_text(json.dumps(record, indent=1) + "\n")


def _write_command(out_dir, argv, cwd, extra_env, path=()):
    """command.sh: the guest's command with its environment; the
    directories in path go first in the guest's PATH."""
    lines = ["# written by odplab vm run", "set -e", f"cd {shlex.quote(cwd)}"]
    env = {k: v for k, v in os.environ.items()
           if k.startswith(PASS_ENV_PREFIXES)}
    env.update(extra_env)
    for k, v in sorted(env.items()):
        lines.append(f"export {k}={shlex.quote(v)}")
    if path:
        lines.append(f"export PATH={shlex.quote(':'.join(path))}:\"$PATH\"")
    lines.append("exec " + shlex.join(argv))
    (out_dir / "command.sh").write_text("\n".join(lines) + "\n")


def _host_tmp_paths(argv):
    """Directories of host files under /tmp named by the command: the
    guest has its own tmpfs /tmp, so these are bound into it."""
    dirs = set()
    for a in argv:
        p = Path(a)
        if p.is_absolute() and str(p).startswith("/tmp/") and p.exists():
            d = p if p.is_dir() else p.parent
            if str(d) != "/tmp":
                _check_path(d, "path")
                dirs.add(str(d))
    return dirs


def make_disks(directory):
    """The DISKS as formatted sparse files in `directory`, as (serial,
    path)."""
    made = []
    for serial, mib, mkfs in DISKS:
        path = Path(directory) / f"{serial}.raw"
        with open(path, "wb") as f:
            f.truncate(mib << 20)
        tool = shutil.which(mkfs[0], path="/usr/sbin:/sbin:/usr/bin:/bin")
        if tool is None:
            raise LabError(f"{mkfs[0]} not found, needed to format the "
                           f"guest's {serial} disk: apt-get install "
                           "util-linux e2fsprogs (or ./odplab setup)")
        proc = subprocess.run([tool, *mkfs[1:], str(path)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise LabError(f"{shlex.join(mkfs)} {path} failed (exit "
                           f"{proc.returncode}): {proc.stderr.strip()}")
        made.append((serial, path))
    return made


def _disk_args(disks):
    args = []
    for serial, path in disks:
        _check_path(path, "disk image")
        # cache=unsafe: the images die with the guest, so flushes need not
        # reach the host's disk.
        args += ["-drive", f"if=none,id={serial},file={path},format=raw,"
                 "cache=unsafe",
                 "-device", f"virtio-blk-pci,drive={serial},serial={serial}"]
    return args


def qemu_command(kernel, out_dir, variant, keep, opts, chosen, disks=(),
                 net=()):
    """QEMU's command line for one guest; `net` adds its network (a
    virtio-net device and its backend: nodes.py), which otherwise has
    none."""
    append = [
        "console=ttyS0", "root=rootfs", "rootfstype=9p",
        "rootflags=trans=virtio,version=9p2000.L,msize=262144", "ro",
        f"init={INIT}", "reboot=t", "panic=-1",
        "sysctl.kernel.hung_task_timeout_secs=60", *_clock_args(chosen),
        *NUMA_APPEND,
        f"ibodp.out={out_dir}", f"ibodp.variant={variant}",
        f"ibodp.keep={','.join(keep)}", *opts.extra_append,
    ]
    return [
        accel.QEMU, *chosen.qemu_args(), "-m", opts.memory,
        # One core per socket: without ACPI the guest finds its CPUs in
        # SeaBIOS's MP table, which lists one CPU per socket only.
        "-smp", f"{opts.cpus},sockets={opts.cpus},cores=1,threads=1",
        "-display", "none", "-monitor", "none",
        "-serial", f"file:{out_dir / 'console.log'}", "-no-reboot",
        "-nic", "none", "-kernel", str(kernel.bzimage),
        "-append", " ".join(append),
        "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,"
        "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=root,mount_tag=rootfs",
        "-fsdev", f"local,id=out,path={out_dir},security_model=none,"
        "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=out,mount_tag=ibodp_out",
        *_disk_args(disks), *net,
    ]


class _ConsoleFollower:
    """Reads console.log as it grows; echoes the command's part of it."""

    def __init__(self, path, echo, prefix="  | "):
        self.path = path
        self.echo = echo
        self.prefix = prefix
        self.started = False
        self.ended = False
        self.fatal_at = None     # monotonic time of the first fatal splat
        self.fatal_line = ""
        self._pos = 0
        self._partial = ""

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self._pos)
                data = f.read()
        except FileNotFoundError:
            return
        self._pos += len(data)
        text = self._partial + data.decode("utf-8", "replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        for line in lines:
            line = line.rstrip("\r")
            if self.fatal_at is None and splat.is_fatal(line):
                self.fatal_at = time.monotonic()
                self.fatal_line = line
            if START_MARK in line:
                self.started = True
                continue
            if END_MARK in line:
                self.started = False
                self.ended = True
            if self.started and self.echo:
                print(f"{self.prefix}{line}", flush=True)


@dataclass
class Prepared:
    """What every guest of one `vm run` shares: its working directory, the
    host paths it keeps, the accelerator and the guest userspace."""
    cwd: str
    keep: list
    chosen: object
    user: object

    def command_env(self, kernel, opts):
        return {**guest_context_env(self.chosen, kernel), **self.user.env(),
                **opts.env}


def prepare(kernel, argv, cwd=None, out_dirs=()):
    """Checks that QEMU and a command are there and that every path can
    reach the guest; builds the guest userspace if it is not cached."""
    if shutil.which(accel.QEMU) is None:
        raise LabError(f"{accel.QEMU} not found: apt-get install "
                       "qemu-system-x86 (or run ./odplab setup as root)")
    if not argv:
        raise LabError("no command given: odplab vm run --variant V -- CMD")
    cwd = str(Path(cwd or os.getcwd()).resolve())
    for p in out_dirs:
        _check_path(p, "results directory")
    for p, what in ((cwd, "working directory"),
                    (PROJECT_ROOT, "project directory")):
        _check_path(p, what)
    user = rdmauser.ensure_guest_userspace()
    for p in (user.rdma_core, user.perftest):
        _check_path(p, "guest userspace build")
    # The guest's own tmpfs hides an IBODP_CACHE under /tmp: bind it in.
    keep = sorted({str(PROJECT_ROOT), cwd, *_host_tmp_paths(argv),
                   str(user.rdma_core), str(user.perftest)})
    return Prepared(cwd, keep, accel.choose(kernel.bzimage), user)


def new_out_dir(out_dir, prep, kernel, argv, opts):
    """The guest's results directory, with its command.sh and without the
    files a former boot left there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_command(out_dir, argv, prep.cwd, prep.command_env(kernel, opts),
                   path=prep.user.path())
    for stale in ("status", "dmesg.txt", "setup-error", "console.log"):
        (out_dir / stale).unlink(missing_ok=True)


def disk_root():
    root = cache_dir() / "disks"
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_in_vm(kernel, argv, variant, out_dir=None, opts=None, cwd=None):
    opts = opts or VmOptions()
    out_dir = Path(out_dir or default_out_dir(variant)).resolve()
    prep = prepare(kernel, argv, cwd, [out_dir])
    new_out_dir(out_dir, prep, kernel, argv, opts)
    with tempfile.TemporaryDirectory(dir=disk_root()) as disk_dir:
        cmd = qemu_command(kernel, out_dir, variant, prep.keep, opts,
                           prep.chosen, make_disks(disk_dir))
        guest = Guest(cmd, out_dir)
        announce(guest, kernel, argv, variant, prep.chosen)
        return boot([guest], opts)[0]


@dataclass
class Guest:
    """One QEMU of a boot: its command line, its results directory, and,
    for a guest that connects to another's socket, the path it waits for."""
    cmd: list
    out_dir: Path
    label: str = ""
    wait_for: Path | None = None
    proc: subprocess.Popen | None = None
    follower: _ConsoleFollower | None = None
    timed_out: str | None = None
    died: str | None = None
    ended_at: float | None = None


def announce(guest, kernel, argv, variant, chosen):
    """qemu-command.txt and vm.json beside the results, and a line saying
    what boots."""
    out_dir = guest.out_dir
    (out_dir / "qemu-command.txt").write_text(shlex.join(guest.cmd) + "\n")
    _write_vm_record(out_dir, kernel, variant, argv, chosen, guest.cmd)
    who = f"{guest.label}: " if guest.label else ""
    step(f"{who}booting {kernel.manifest.get('kernelrelease', '?')} "
         f"({variant}) under QEMU {chosen.label()}; results in {out_dir}")
    info(f"running: {shlex.join(argv)}")


# A guest that connects to another's socket waits this long for it.
SOCKET_WAIT_SECONDS = 30
# When one guest of several has ended, the others get this long to end
# too: a peer that waits for a guest that died would otherwise wait for
# the whole timeout.
PEER_GRACE_SECONDS = 60


def _start(guest, opts):
    if guest.wait_for is not None:
        deadline = time.monotonic() + SOCKET_WAIT_SECONDS
        while not guest.wait_for.exists():
            if time.monotonic() > deadline:
                raise LabError(
                    f"{guest.label}: the first guest's QEMU did not create "
                    f"its socket {guest.wait_for} within "
                    f"{SOCKET_WAIT_SECONDS}s: see its qemu.log")
            time.sleep(0.1)
    prefix = f"  {guest.label[-1]}| " if guest.label else "  | "
    guest.follower = _ConsoleFollower(guest.out_dir / "console.log",
                                      opts.echo, prefix)
    guest.proc = subprocess.Popen(
        guest.cmd, stdin=subprocess.DEVNULL,
        stdout=open(guest.out_dir / "qemu.log", "wb"),
        stderr=subprocess.STDOUT, start_new_session=True)


def _kill(guest):
    if guest.proc is not None and guest.proc.poll() is None:
        os.killpg(guest.proc.pid, signal.SIGKILL)
        guest.proc.wait()


def _why_stop(guest, elapsed, now, opts, peer_ended):
    """Why the guest's QEMU must be killed now, or None."""
    f = guest.follower
    if not f.started and not f.ended and elapsed > opts.boot_timeout:
        return (f"the guest did not start the command within "
                f"{opts.boot_timeout:.0f}s of boot"), False
    if elapsed > opts.timeout:
        return f"the run exceeded its {opts.timeout:.0f}s timeout", False
    if (f.fatal_at is not None and
            now - f.fatal_at > FATAL_GRACE_SECONDS):
        return (f"the guest kernel hit '{f.fatal_line}' and did not finish "
                f"within {FATAL_GRACE_SECONDS}s"), True
    if peer_ended is not None and now - peer_ended > PEER_GRACE_SECONDS:
        return (f"its peer guest ended {PEER_GRACE_SECONDS}s before and "
                "this one's command did not finish"), False
    return None, False


def boot(guests, opts):
    """Starts the guests in order, follows their consoles and kills a QEMU
    that overruns; one VmResult per guest."""
    t0 = time.monotonic()
    try:
        for guest in guests:
            _start(guest, opts)
        while any(g.proc.poll() is None for g in guests):
            time.sleep(0.2)
            now = time.monotonic()
            for g in guests:
                if g.proc.poll() is not None:
                    g.ended_at = g.ended_at or now
            for g in guests:
                if g.proc.poll() is not None:
                    continue
                g.follower.poll()
                ended = [p.ended_at for p in guests
                         if p is not g and p.ended_at is not None]
                why, fatal = _why_stop(g, now - t0, now, opts,
                                       min(ended) if ended else None)
                if why:
                    if fatal:
                        g.died = why
                    else:
                        g.timed_out = why
                    _kill(g)
    except BaseException:
        for g in guests:
            _kill(g)
        raise
    seconds = time.monotonic() - t0
    results = []
    for g in guests:
        g.follower.poll()
        results.append(_result(g.out_dir, g.proc.returncode, g.timed_out,
                               g.died, seconds))
    return results


def _result(out_dir, qemu_rc, timed_out, died, seconds):
    console = out_dir / "console.log"
    status_file = out_dir / "status"
    status = None
    if status_file.exists():
        try:
            status = int(status_file.read_text().strip())
        except ValueError:
            status = None
    texts = []
    for name in ("console.log", "dmesg.txt"):
        p = out_dir / name
        if p.exists():
            texts.append((name, p.read_text(errors="replace")))
    splats = []
    for name, text in texts:
        # The console also carries the command's output; dmesg.txt is the
        # kernel's alone.
        found = splat.find_splats(text, timestamped_only=name == "console.log")
        if found:
            splats.append((name, found))
    tail = tail_file(console, 40)
    setup_error = out_dir / "setup-error"
    if timed_out:
        return VmResult(EXIT_TIMEOUT, status, out_dir,
                        f"{timed_out}. Console tail ({console}):\n{tail}",
                        splats)
    if status is None:
        why = (died if died else
               setup_error.read_text().strip() if setup_error.exists() else
               f"QEMU exited ({qemu_rc}) before the command finished: the "
               "kernel panicked, or it never reached the command")
        qemu_log = tail_file(out_dir / "qemu.log", 5)
        return VmResult(EXIT_GUEST_DIED, None, out_dir,
                        f"{why}. Console tail ({console}):\n{tail}"
                        + (f"\nQEMU said:\n{qemu_log}" if qemu_log.strip()
                           and "missing" not in qemu_log else ""), splats)
    if splats:
        detail = "\n".join(splat.describe(found, out_dir / name)
                           for name, found in splats)
        return VmResult(status or EXIT_SPLAT, status, out_dir,
                        f"kernel splat in the guest (command status {status})"
                        f":\n{detail}", splats)
    if status != 0:
        return VmResult(status, status, out_dir,
                        f"the guest command exited with status {status} "
                        f"after {seconds:.0f}s", splats)
    return VmResult(0, 0, out_dir, "", splats)
