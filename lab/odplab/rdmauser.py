# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Current RDMA userspace for the guests: Debian's rdma-core 65.0 and
perftest 25.01 source packages, built once into the cache.

The host keeps the rdma-core of its own release for the C++ build; the
guests load libibverbs, the rxe provider and pyverbs from this build
(LD_LIBRARY_PATH, PYTHONPATH) and find its tools and perftest's ib_*_lat
first in PATH. rdma-core is built with IN_PLACE, so its provider list and
scripts name absolute paths in the build tree: each build happens in its
final directory, named by a key of everything that shapes it, and counts
as done only when its manifest is written last."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import source
from .kernel import compiler_id
from .common import (LabError, cache_dir, file_lock, info,
                     require_free_space, run, sha256_file, step, tail_file,
                     warn)

KEY_SCHEMA = "ibodp-rdmauser-1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Package:
    """An upstream tarball of a Debian source package, pinned by hash."""
    name: str       # Debian source package
    version: str    # the orig tarball's version
    sha256: str

    @property
    def orig(self):
        return f"{self.name}_{self.version}.orig.tar.gz"

    def url(self, mirror):
        return f"{mirror}/pool/main/{self.name[0]}/{self.name}/{self.orig}"


# The versions in Debian sid (rdma-core 65.0-1.1) and trixie/sid (perftest
# 25.01.0+0.80-1); the hashes are those of their Sources entries.
RDMA_CORE = Package(
    "rdma-core", "65.0",
    "f6ba3d8b2c4aa334c5c883c1ad0772de339011123cff4fb1db32ae7a443fb7ca")
PERFTEST = Package(
    "perftest", "25.01.0+0.80",
    "54e86b131f0b06862b8b9cd692739737295463cfef467bdda5f5aa3dae8c5b05")

# The interpreter pyverbs is built for: the guests run Debian's python3.
PYTHON = "/usr/bin/python3"
RDMA_CORE_CMAKE = ("-GNinja", "-DIN_PLACE=1", "-DNO_MAN_PAGES=1",
                   "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                   f"-DPYTHON_EXECUTABLE={PYTHON}",
                   "-DCMAKE_C_COMPILER_LAUNCHER=ccache")
# perftest's reference tools, which lab/odplab/reflat.py runs.
PERFTEST_TOOLS = ("ib_read_lat", "ib_write_lat", "ib_send_lat")


@dataclass(frozen=True)
class GuestUserspace:
    rdma_core: Path     # the rdma-core build's top directory
    perftest: Path      # the perftest build's top directory

    @property
    def lib(self):
        return self.rdma_core / "build" / "lib"

    @property
    def pyverbs_tests(self):
        return self.rdma_core / "src" / "tests"

    def env(self):
        """The guest command's environment: perftest and reflat.py record
        the IBODP_CONTEXT_ entries in their reports."""
        return {"LD_LIBRARY_PATH": str(self.lib),
                "PYTHONPATH": str(self.rdma_core / "build" / "python"),
                "IBODP_PYVERBS_TESTS": str(self.pyverbs_tests),
                "IBODP_CONTEXT_RDMA_CORE": RDMA_CORE.version,
                "IBODP_CONTEXT_REFERENCE_PERFTEST": PERFTEST.version}

    def path(self):
        """Directories the guest finds first in PATH."""
        return [str(self.perftest / "bin"),
                str(self.rdma_core / "build" / "bin")]


def _key(parts):
    h = hashlib.sha256()
    for name, value in parts:
        h.update(f"{name}\0{value}\0".encode())
    return h.hexdigest()


def _download(pkg):
    """The pkg's orig tarball in the cache's downloads, checked."""
    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    path = downloads / pkg.orig
    if path.exists() and sha256_file(path) == pkg.sha256:
        return path
    url = pkg.url(source.mirror())
    step(f"fetching {url}")
    fd, name = tempfile.mkstemp(prefix=pkg.orig + ".", dir=downloads)
    tmp = Path(name)
    try:
        with urllib.request.urlopen(url, timeout=120) as r, \
                os.fdopen(fd, "wb") as f:
            shutil.copyfileobj(r, f)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LabError(f"cannot download {url}: {e}. Check the network, or "
                       "the mirror in /etc/apt/sources.list.d/debian.sources;"
                       f" a newer {pkg.name} in Debian replaces this file: "
                       "pin its version and hash in lab/odplab/rdmauser.py"
                       ) from None
    actual = sha256_file(tmp)
    if actual != pkg.sha256:
        tmp.unlink()
        raise LabError(f"{url} has sha256 {actual}, expected {pkg.sha256}: "
                       "a damaged download or a changed archive; run again, "
                       "and if it repeats check the pin in "
                       "lab/odplab/rdmauser.py")
    tmp.rename(path)
    return path


def _unpack(tarball, dest):
    """The tarball's single top directory, unpacked as dest."""
    tmp = dest.with_name(dest.name + ".unpack")
    tmp.mkdir()
    run(["tar", "-xzf", tarball, "-C", tmp], what=f"unpacking {tarball}")
    tops = list(tmp.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise LabError(f"{tarball} unpacks to {len(tops)} entries, expected "
                       "one top directory: not an upstream tarball")
    tops[0].rename(dest)
    tmp.rmdir()


def _build_env():
    """A fixed environment, so that nothing unkeyed (CC, CFLAGS, the user's
    LD_LIBRARY_PATH) shapes the build."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": os.environ.get("HOME", "/root"), "LC_ALL": "C",
            "CCACHE_DIR": str(cache_dir() / "ccache"),
            "CCACHE_MAXSIZE": os.environ.get("CCACHE_MAXSIZE", "5G")}


def _steps(log, cmds, cwd, what):
    """Runs cmds in cwd, their output streamed to log; a failure names the
    command, the log's tail, the log and the usual fix."""
    env = _build_env()
    for cmd in cmds:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(str(c) for c in cmd)}\n")
            f.flush()
            rc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT, check=False
                                ).returncode
        if rc != 0:
            raise LabError(
                f"building {what} failed (exit {rc}): "
                f"{' '.join(str(c) for c in cmd)} in {cwd}\n"
                + tail_file(log, 25) + f"\nWhole log: {log}\nA missing "
                "build dependency is the usual cause: ./odplab setup installs "
                "lab/odplab/deps.py's packages (as root).")


def _build_rdma_core(top, log):
    src, build = top / "src", top / "build"
    _unpack(_download(RDMA_CORE), src)
    build.mkdir()
    _steps(log, [["cmake", *RDMA_CORE_CMAKE, str(src)],
                 ["ninja", "-j2"]], build, f"rdma-core {RDMA_CORE.version}")
    # Providers are named by the private ABI, which rdma-core 65 numbers
    # after its release (IBVERBS_PABI_VERSION 65).
    missing = [p for p in (build / "lib" / "libibverbs.so.1",
                           build / "lib" / "librxe-rdmav"
                           f"{RDMA_CORE.version.split('.')[0]}.so",
                           build / "python" / "pyverbs" / "__init__.py")
               if not p.exists()]
    if missing:
        raise LabError(f"the rdma-core build in {top} lacks "
                       f"{', '.join(map(str, missing))}; see {log}")


def _perftest_configure(rdma_core):
    """perftest's configure line, against the rdma-core build."""
    rc = rdma_core / "build"
    return ["./configure", f"CPPFLAGS=-I{rc / 'include'}",
            f"LDFLAGS=-L{rc / 'lib'} -Wl,-rpath,{rc / 'lib'}"]


def _build_perftest(top, log, rdma_core):
    src = top / "src"
    _unpack(_download(PERFTEST), src)
    _steps(log, [["./autogen.sh"], _perftest_configure(rdma_core),
                 ["make", "-j2"]], src, f"perftest {PERFTEST.version}")
    missing = [t for t in PERFTEST_TOOLS if not (src / t).exists()]
    if missing:
        raise LabError(f"the perftest build in {src} lacks "
                       f"{', '.join(missing)}; see {log}")
    # Only the tools go in the guest's PATH, not the source tree's scripts.
    (top / "bin").mkdir()
    for tool in PERFTEST_TOOLS:
        (top / "bin" / tool).symlink_to(src / tool)


def _built(top):
    """Whether top holds a finished build made in this very directory (its
    files name their absolute paths: a copied cache would not run)."""
    try:
        manifest = json.loads((top / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("top") == str(top)


def _tool_version(cmd):
    """The first line of a build tool's --version, for the build key."""
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             check=False).stdout
    except OSError:
        return "missing"
    return (out.strip().splitlines() or ["unknown"])[0]


def _ensure(pkg, parts, build, minutes):
    """The build directory of pkg for the key of parts, built by
    build(top, log) unless its manifest says it is done."""
    key = _key([("schema", KEY_SCHEMA), ("package", pkg.name),
                ("version", pkg.version), ("sha256", pkg.sha256), *parts])
    top = cache_dir() / "userspace" / f"{pkg.name}-{pkg.version}-{key[:12]}"
    if _built(top):
        return top
    with file_lock(cache_dir() / "locks" / f"userspace-{top.name}.lock",
                   f"building {pkg.name} {pkg.version}"):
        if _built(top):
            return top
        if top.exists():
            warn(f"{top} is incomplete (an earlier build was interrupted); "
                 "removing it")
            shutil.rmtree(top)
        top.parent.mkdir(parents=True, exist_ok=True)
        require_free_space(top.parent, 2 << 30, f"building {pkg.name}")
        log = cache_dir() / "logs" / f"userspace-{top.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        step(f"building {pkg.name} {pkg.version} for the guests in {top} "
             f"(about {minutes} minutes on 2 cores the first time; cached "
             f"after); log: {log}")
        t0 = time.monotonic()
        top.mkdir()
        try:
            build(top, log)
        except BaseException:
            shutil.rmtree(top, ignore_errors=True)
            raise
        (top / MANIFEST).write_text(json.dumps(
            {"package": pkg.name, "version": pkg.version, "key": key,
             "top": str(top), "parts": dict(parts),
             "seconds": round(time.monotonic() - t0)},
            indent=1) + "\n")
        info(f"{pkg.name} {pkg.version} built in "
             f"{time.monotonic() - t0:.0f}s")
    return top


def ensure_guest_userspace():
    """The guests' rdma-core and perftest, built when not in the cache."""
    compiler = ("compiler", compiler_id())
    rdma_core = _ensure(RDMA_CORE, [
        compiler, ("cmake-options", " ".join(RDMA_CORE_CMAKE)),
        ("cmake", _tool_version(["cmake", "--version"])),
        ("cython", _tool_version(["cython3", "--version"])),
        # pyverbs is a CPython extension of the guests' python3's ABI.
        ("python-abi", _tool_version([
            PYTHON, "-c",
            "import sysconfig; print(sysconfig.get_config_var('SOABI'))"]))],
        _build_rdma_core, 8)
    perftest = _ensure(PERFTEST, [
        compiler, ("rdma-core", rdma_core.name),
        ("configure", " ".join(_perftest_configure(rdma_core)))],
        lambda top, log: _build_perftest(top, log, rdma_core), 2)
    return GuestUserspace(rdma_core, perftest)
