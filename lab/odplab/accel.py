# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Which QEMU accelerator boots the lab guest on this machine.

A /dev/kvm that opens proves nothing: on nested virtualisation it can
create VMs that abort at vCPU set-up or hang before the kernel prints a
line. So KVM is chosen only after the lab kernel itself has booted under
it to userspace: QEMU runs the kernel with the host root over 9p and
init=/bin/true, and the probe passes when the console shows init exit 0.
Each KVM configuration gets PROBE_SECONDS; when none passes, the guest
runs under TCG and odplab says why, in QEMU's own words.

The choice is made once per odplab process and kept on disk for the
machine, keyed by the QEMU version, the host kernel and its boot, and the
host CPU, so that later odplab runs on the machine pay nothing. A probe
in which the kernel itself failed (a panic before userspace) is not
kept: it says nothing durable about KVM.
"""

import functools
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .common import LabError, cache_dir, file_lock, info, step

CHOICES = ("auto", "kvm", "tcg")
ENV = "IBODP_ACCEL"
PROBE_ENV = "IBODP_ACCEL_PROBE_SECONDS"
# Under a working KVM the tinyconfig guest reaches init in a second or
# two; TCG boots the lab guest to its command in about 8 s, so a KVM that
# needs longer than this is no speed-up anyway.
PROBE_SECONDS = 10.0
KVM_DEVICE = "/dev/kvm"
QEMU = "qemu-system-x86_64"
# Bump when the probe or the candidates change, so that cached verdicts
# are not reused.
PROBE_SCHEMA = "1"

# The KVM configurations tried, in order: (-cpu value, note). What was
# tried by hand on this project's machines (2026-12-01: AMD EPYC host,
# nested under Linux 6.18, QEMU 7.2) and why no other is probed:
# - `host`, `max`, `host,migratable=off` abort at vCPU set-up ("failed to
#   set MSR 0x10a", IA32_ARCH_CAPABILITIES); `kernel-irqchip=off` aborts
#   on MSR 0x4b564d06 (kvm-clock's) instead.
# - `host,-arch-capabilities`, `qemu64`, `Nehalem`, also with
#   `-machine q35`, `kernel-irqchip=split`, without the kvm PV features,
#   or with qboot or microvm's firmware in place of SeaBIOS, start: the
#   kernel's setup code sets the VGA mode and the decompressor runs (its
#   RIP moves), but nothing is printed in 150 s.
# - The cause is speed, not a hang: a 32-bit multiboot loop of 2 million
#   dec/jnz and 64 Ki stores took 12.7 s under KVM (`qemu64` and
#   `host,-arch-capabilities` alike) and 0.34 s under TCG, start-up
#   included; 200 million took 2.1 s under TCG and had not ended after
#   60 s under KVM. Long mode worked under both. This KVM runs guest code
#   more than 30 times slower than TCG, so a configuration that boots
#   would still lose: PROBE_SECONDS bounds what KVM may cost.
KVM_CANDIDATES = (
    ("host", "the host CPU, as a KVM guest normally runs"),
    ("host,-arch-capabilities",
     "the host CPU without IA32_ARCH_CAPABILITIES (MSR 0x10a), which "
     "nested KVM refuses to set"),
)
# TCG runs QEMU's default CPU model.
TCG_CPU = "qemu64"
# Multi-threaded TCG (one host thread per vCPU, QEMU's default for x86 on
# x86) before QEMU 9.0.2 can keep running code that another vCPU has
# already rewritten: translation read guest code without the page lock,
# so a block translated while a store to its page invalidated the page's
# blocks is linked afterwards, stale (fixed by deba78709ae8 "accel/tcg:
# Always lock pages before translation" in 8.1, and 3b279f73fa37 for
# blocks that span two pages in 9.0.2 and 9.1). The kernel rewrites its
# own text with the int3 protocol whenever ftrace, a tracepoint or a
# static key changes; a block that kept the int3 traps on every vCPU
# after the rewrite ended, and the kernel dies ("Oops: int3" with the
# finished instruction in memory, seen under QEMU 7.2 on 2026-12-06).
# Round-robin TCG (thread=single) avoids the race but measures QEMU's
# scheduling: the patched KASAN guest's READ p50 went from 25 ms to 95 ms
# (mean of the repetitions' p50s, no event) and its perftest from 579 s
# to 1223 s.
# So the lab needs a QEMU with the fix (deps.ensure_qemu installs one).
MTTCG_SAFE_FROM = (9, 0, 2)
MTTCG_SAFE_TEXT = ".".join(map(str, MTTCG_SAFE_FROM))
# What the console shows when /bin/true ran as init and exited 0.
PROBE_MARK = "Attempted to kill init! exitcode=0x00000000"


@dataclass(frozen=True)
class Accel:
    name: str       # "kvm" or "tcg"
    cpu: str        # QEMU's -cpu value
    reason: str     # why this one, in one line

    def qemu_args(self):
        return ["-accel", self.name, "-cpu", self.cpu]

    def label(self):
        return f"{self.name.upper()} (-cpu {self.cpu})"


def version_numbers(version_line):
    """(major, minor, micro) from QEMU's first --version line, or None."""
    match = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", version_line)
    if match is None:
        return None
    return tuple(int(n or 0) for n in match.groups())


def release(version_line):
    """QEMU's release as major.minor.micro ("10.0.2"), or None."""
    numbers = version_numbers(version_line)
    return None if numbers is None else ".".join(map(str, numbers))


def tcg_safe(version_line):
    """Whether this QEMU's multi-threaded TCG runs rewritten code rightly
    (see MTTCG_SAFE_FROM)."""
    numbers = version_numbers(version_line)
    return numbers is not None and numbers >= MTTCG_SAFE_FROM


def require_safe_tcg(version_line):
    """Raises LabError, naming the fix, when TCG would run under a QEMU
    whose multi-threaded TCG can run stale kernel text."""
    if tcg_safe(version_line):
        return
    safe = MTTCG_SAFE_TEXT
    raise LabError(
        f"TCG under this QEMU ({version_line}) can run kernel text that "
        "another vCPU has already rewritten, and the guest then dies of "
        "'Oops: int3' (multi-threaded TCG before QEMU "
        f"{safe}; fixed by QEMU commits deba78709ae8 and 3b279f73fa37). "
        f"Install QEMU {safe} or newer: ./odplab setup (as root) installs "
        "qemu-system-x86 from this Debian release's backports")


def requested(value=None):
    """The accelerator asked for: the --accel value, else $IBODP_ACCEL,
    else auto."""
    value = value or os.environ.get(ENV) or "auto"
    if value not in CHOICES:
        raise LabError(f"accelerator '{value}' (from --accel or ${ENV}) is "
                       f"not one of {', '.join(CHOICES)}")
    return value


def probe_seconds():
    text = os.environ.get(PROBE_ENV)
    if not text:
        return PROBE_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not math.isfinite(value) or value <= 0:
        raise LabError(f"${PROBE_ENV}='{text}' is not a positive number of "
                       "seconds")
    return value


@functools.lru_cache(maxsize=1)
def qemu_version():
    """QEMU's first --version line, or a LabError when it cannot run."""
    if shutil.which(QEMU) is None:
        raise LabError(f"{QEMU} not found: apt-get install qemu-system-x86 "
                       "(or run ./odplab setup as root)")
    try:
        proc = subprocess.run([QEMU, "--version"], capture_output=True,
                              text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LabError(f"{QEMU} --version did not run: {e}; reinstall "
                       "qemu-system-x86") from None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise LabError(f"{QEMU} --version failed (exit {proc.returncode}): "
                       + (proc.stderr.strip() or proc.stdout.strip())
                       + "; reinstall qemu-system-x86")
    return lines[0]


def _host_cpu():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def probe_command(cpu, bzimage, console):
    """QEMU booting bzimage under KVM with -cpu cpu to /bin/true as init,
    with the host root read-only over 9p as the lab guest has it."""
    return [
        QEMU, "-accel", "kvm", "-cpu", cpu, "-m", "512M",
        "-smp", "2,sockets=2,cores=1,threads=1", "-display", "none",
        "-monitor", "none", "-serial", f"file:{console}", "-no-reboot",
        "-nic", "none", "-kernel", str(bzimage), "-append",
        "console=ttyS0 root=rootfs rootfstype=9p "
        "rootflags=trans=virtio,version=9p2000.L ro init=/bin/true "
        "reboot=t panic=-1",
        "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,"
        "multidevs=remap",
        "-device", "virtio-9p-pci,fsdev=root,mount_tag=rootfs",
    ]


def _read(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _first_error(text):
    """QEMU's own message: its error lines, else its last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()
              or "assert" in ln.lower()]
    return "; ".join((errors or lines[-1:])[:2])


@dataclass
class Probe:
    """One KVM configuration tried: ok, or what went wrong in one line;
    kernel_fault when the kernel ran and failed by itself (a panic or
    Oops before userspace), which says nothing durable about KVM."""
    ok: bool
    failure: str = ""
    kernel_fault: bool = False


def _fault_line(text):
    """The kernel's own failure in a probe console, or None."""
    for line in text.splitlines():
        if PROBE_MARK in line:
            continue
        if any(m in line for m in ("Kernel panic - not syncing", "Oops:",
                                   "BUG:", "general protection fault")):
            return line.strip()
    return None


def _wait(proc, console, deadline):
    """Polls until QEMU exits, the console shows PROBE_MARK or deadline
    seconds pass; kills QEMU's process group unless it exited."""
    t0 = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() - t0 < deadline:
            if PROBE_MARK in _read(console):
                break
            time.sleep(0.1)
        return proc.poll() is None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def probe_one(cpu, bzimage, deadline):
    """Boots bzimage under KVM with -cpu cpu to init=/bin/true."""
    with tempfile.TemporaryDirectory(prefix="odplab-accel-") as tmp:
        console, log = Path(tmp) / "console.log", Path(tmp) / "qemu.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(probe_command(cpu, bzimage, console),
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT,
                                    start_new_session=True)
        hung = _wait(proc, console, deadline)
        text = _read(console)
        if PROBE_MARK in text:
            return Probe(True)
        fault = _fault_line(text)
        if fault:
            return Probe(False, "the kernel started under KVM and failed "
                         f"before userspace: {fault}", kernel_fault=True)
        said = _first_error(_read(log))
        if hung:
            printed = ("the kernel printed nothing"
                       if "Linux version" not in text
                       else "the kernel did not reach init")
            return Probe(False, f"{printed} within {deadline:g} s"
                         + (f" (QEMU said: {said})" if said else ""))
        return Probe(False, f"QEMU exited {proc.returncode}: "
                     + (said or "no message"))


def _cache_path(key):
    return cache_dir() / "accel" / f"{key[:24]}.json"


def _host_key():
    """What the verdict depends on: QEMU, the host kernel and this boot of
    it (a change of the hypervisor under this machine comes with a new
    boot), the host CPU and its flags, and the probe itself."""
    boot_id = _read("/proc/sys/kernel/random/boot_id").strip()
    flags = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            flags = line
            break
    h = hashlib.sha256()
    for part in (PROBE_SCHEMA, qemu_version(), os.uname().release, boot_id,
                 _host_cpu(), flags, repr(KVM_CANDIDATES)):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def probe_kvm(bzimage, deadline):
    """(verdict, cacheable): as a dict of Accel's fields, the first KVM
    configuration that boots bzimage, else TCG with every failure."""
    tried, cacheable = [], True
    for cpu, note in KVM_CANDIDATES:
        info(f"KVM probe: -cpu {cpu} ({note}), up to {deadline:g} s")
        result = probe_one(cpu, bzimage, deadline)
        if result.ok:
            return asdict(Accel(
                "kvm", cpu, "the lab kernel booted to userspace under KVM "
                f"with -cpu {cpu}"
                + (f" after {'; '.join(tried)}" if tried else ""))), True
        tried.append(f"-cpu {cpu}: {result.failure}")
        cacheable = cacheable and not result.kernel_fault
    return {"name": "tcg", "cpu": TCG_CPU,
            "reason": "KVM cannot run the lab guest here: "
            + "; ".join(tried)}, cacheable


def _unusable(want, why, fix):
    if want == "kvm":
        raise LabError(f"--accel kvm asked for, but {why}; {fix} or use "
                       "--accel tcg")
    return Accel("tcg", TCG_CPU, f"KVM unusable: {why}")


def _decide(bzimage, want):
    """The Accel for want ("auto", "kvm" or "tcg") with bzimage."""
    if want == "tcg":
        return Accel("tcg", TCG_CPU, "TCG asked for (--accel tcg or "
                     f"${ENV}=tcg)")
    if not Path(KVM_DEVICE).exists():
        return _unusable(want, f"no {KVM_DEVICE} on this machine",
                         "load kvm (modprobe kvm_intel or kvm_amd)")
    if not os.access(KVM_DEVICE, os.R_OK | os.W_OK):
        return _unusable(want, f"{KVM_DEVICE} is not readable and writable "
                         "for this user", "add the user to group kvm")
    deadline = probe_seconds()
    key = _host_key()
    path = _cache_path(key)
    with file_lock(cache_dir() / "locks" / "accel.lock",
                   "probing whether KVM can run the lab guest"):
        verdict = _load(path)
        # A cached "no" does not stand against an explicit --accel kvm.
        if verdict is not None and (want == "auto"
                                    or verdict["name"] == "kvm"):
            info(f"accelerator verdict cached for this machine in {path} "
                 "(remove it to probe again)")
        else:
            step(f"probing whether KVM can run the lab guest here "
                 f"({KVM_DEVICE} opens, but nested KVM may still fail)")
            verdict, cacheable = probe_kvm(bzimage, deadline)
            if cacheable:
                _save(path, verdict)
    found = Accel(**verdict)
    if want == "kvm" and found.name != "kvm":
        raise LabError(f"--accel kvm asked for, but {found.reason}. Use "
                       "--accel tcg (or auto)")
    return found


def _load(path):
    try:
        data = json.loads(path.read_text())
        return {k: data[k] for k in ("name", "cpu", "reason")}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


_STATE = {"request": None, "chosen": None}


def reset():
    """Forgets the request, the choice and QEMU's version (for tests)."""
    _STATE.update(request=None, chosen=None)
    qemu_version.cache_clear()


def set_request(value):
    """What --accel said (None: $IBODP_ACCEL or auto); checked here, so
    that a bad value fails before anything is built. Forgets an earlier
    choice."""
    _STATE["request"] = requested(value)
    _STATE["chosen"] = None


def choose(bzimage):
    """The accelerator every guest of this odplab process runs under,
    decided with the first kernel booted and announced once."""
    if _STATE["chosen"] is None:
        found = _decide(Path(bzimage), requested(_STATE["request"]))
        if found.name == "tcg":
            require_safe_tcg(qemu_version())
        _STATE["chosen"] = found
        step(summary())
    return _STATE["chosen"]


def summary():
    """The accelerator line for a summary: what the guests ran under, or
    that none was booted."""
    found = _STATE["chosen"]
    if found is None:
        return "accelerator: no guest was booted"
    return f"accelerator: {found.label()}: {found.reason}"
