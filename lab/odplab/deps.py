# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The Debian packages odplab needs, installed with apt-get when missing."""

import os
import subprocess

from .common import LabError, info, is_root, step

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
