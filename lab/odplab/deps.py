# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The Debian packages odplab needs, installed with apt-get when missing."""

import os
import subprocess
from pathlib import Path

from . import accel, source
from .common import LabError, cache_dir, info, is_root, run, step

# Kernel build, VM, C++ build, RDMA userspace used inside the guest.
PACKAGES = [
    # kernel build
    "build-essential", "flex", "bison", "bc", "libelf-dev", "libssl-dev",
    "cpio", "xz-utils", "ccache", "git", "kmod",
    # the VM and what the guest init uses from the host's root
    "qemu-system-x86", "iproute2", "util-linux", "e2fsprogs",
    # C++ build and tests
    "cmake", "g++", "pkg-config", "libibverbs-dev", "librdmacm-dev",
    "libgflags-dev", "libgoogle-glog-dev", "nlohmann-json3-dev",
    "libgtest-dev", "libgmock-dev", "clang-format", "clang-tidy",
    # move_pages() and migrate_pages() for the memory-mover tests
    "libnuma-dev",
    # RDMA userspace: providers (librxe), tools, the field's reference tests
    "rdma-core", "ibverbs-providers", "ibverbs-utils", "perftest",
    "python3-pyverbs",
    # the guests' newer rdma-core and perftest, built from Debian's source
    # packages (lab/odplab/rdmauser.py)
    "ninja-build", "cython3", "python3-dev", "libudev-dev", "libnl-3-dev",
    "libnl-route-3-dev", "autoconf", "automake", "libtool", "libpci-dev",
    # the report (statistics, plots; Debian's /usr/bin/python3) and the
    # browser that checks the HTML page renders
    "python3-scipy", "python3-matplotlib", "chromium-headless-shell",
    # `odplab test` is a pytest suite; the report's JSON Schema; the false
    # discovery rate control of compare's U tests
    "python3-pytest", "python3-jsonschema", "python3-statsmodels",
    # checkpatch.pl runs scripts/spdxcheck.py on a patch that adds a file
    "python3-ply", "python3-git",
]


def missing_packages(packages=None):
    packages = packages or PACKAGES
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n"]
        + packages, capture_output=True, text=True, check=False)
    installed = {line.split()[0] for line in proc.stdout.splitlines()
                 if line.endswith(" installed")}
    return [p for p in packages if p not in installed]


def ensure_packages():
    _install_missing()
    ensure_qemu()


def _install_missing():
    missing = missing_packages()
    if not missing:
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + missing
    if not is_root():
        raise LabError(
            "missing Debian packages: " + " ".join(missing) +
            "\nInstall them as root:\n  apt-get update && " + " ".join(cmd))
    step(f"installing {len(missing)} Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for c in (["apt-get", "update", "-q"], cmd):
        proc = subprocess.run(c, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            raise LabError(f"{' '.join(c)} failed (exit {proc.returncode}):\n"
                           + proc.stdout[-3000:] + proc.stderr[-3000:])
    still = missing_packages()
    if still:
        raise LabError("apt-get install finished but these are still "
                       "missing: " + " ".join(still))
    info("packages installed")


def os_codename(os_release=Path("/etc/os-release")):
    """The Debian release's code name (bookworm), or None."""
    try:
        for line in os_release.read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"') or None
    except OSError:
        pass
    return None


def ensure_qemu():
    """A QEMU whose multi-threaded TCG runs rewritten kernel text rightly
    (accel.MTTCG_SAFE_FROM): Debian 12's 7.2 is older, so qemu-system-x86
    comes from the release's backports (10.0 in bookworm-backports),
    through a private sources list."""
    line = accel.qemu_version()
    if accel.tcg_safe(line):
        return
    codename = os_codename()
    safe = accel.MTTCG_SAFE_TEXT
    if codename is None:
        raise LabError(f"{line} is older than {safe} and /etc/os-release "
                       "names no Debian release to take a newer one from: "
                       f"install qemu-system-x86 {safe} or newer")
    backports = f"{codename}-backports"
    if not is_root():
        raise LabError(
            f"{line} is older than {safe} (its multi-threaded TCG can run "
            f"stale kernel text). As root: add {backports} to apt's sources "
            f"and apt-get install -t {backports} qemu-system-x86, or run "
            "./odplab setup as root")
    opts = source.private_apt(cache_dir(), (codename, f"{codename}-updates",
                                            backports))
    step(f"installing qemu-system-x86 from {backports}: {line} is older "
         f"than {safe}, whose multi-threaded TCG can run stale kernel text")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", *opts, "-q", "update"], env=env,
        what=f"apt-get update of {backports} (private sources list)")
    run(["apt-get", *opts, "install", "-y", "-q", "--no-install-recommends",
         f"qemu-system-x86/{backports}"], env=env,
        what=f"apt-get install qemu-system-x86/{backports}")
    accel.qemu_version.cache_clear()
    line = accel.qemu_version()
    if not accel.tcg_safe(line):
        raise LabError(f"qemu-system-x86 from {backports} is {line}, still "
                       f"older than {safe}: install a newer QEMU by hand")
    info(f"QEMU now: {line}")
