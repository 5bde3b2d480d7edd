# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The kernel source: Debian's linux-source-7.3 at a pinned version, or a
kernel developer's own git tree (--kernel-src).

Either way the result is a git repository under the cache with the base
commit tagged BASE_TAG; builds happen in worktrees of it, so the user's
tree is never modified."""

import hashlib
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .common import (LabError, cache_dir, file_lock, info,
                     require_free_space, run,
                     sha256_file, step, warn)

DEBIAN_PACKAGE = "linux-source-7.3"
DEBIAN_VERSION = "7.3.4-1~bpo13+1"
DEBIAN_SHA256 = (
    "703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3")
DEBIAN_SUITE = "trixie-backports"
DEBIAN_TARBALL = "usr/src/linux-source-7.3.tar.xz"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BASE_TAG = "ibodp-base"
COMPLETE_MARK = ".git/ibodp-complete"

GIT_ID = ["-c", "user.name=odplab", "-c", "user.email=odplab@localhost"]


@dataclass
class SourceTree:
    repo: Path          # git repository holding BASE_TAG
    slug: str           # short name for worktree and log paths
    description: str    # human-readable origin
    tree_id: str        # git tree hash of BASE_TAG: the content identity
    version: str        # kernel version from the Makefile


def git(repo, *args, what=None, check=True):
    return run(["git", "-C", repo, *GIT_ID, *args], what=what or
               f"git {args[0]}", check=check)


def makefile_version(tree):
    """'7.3.4' from the top-level Makefile's VERSION/PATCHLEVEL/SUBLEVEL."""
    fields = {}
    with open(Path(tree) / "Makefile", encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)", line)
            if m:
                fields[m.group(1)] = m.group(2)
            if len(fields) == 3:
                break
    return ".".join(fields.get(k, "?") or "0"
                    for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL"))


def mirror():
    """The Debian mirror this machine's own apt uses, for the same trust."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    return DEFAULT_MIRROR


def private_apt(cache, suites=(DEBIAN_SUITE,)):
    """apt-get options that use a private sources list (the mirror's
    suites) and private lists: the system's apt configuration is never
    touched. Each set of suites has its own lists."""
    apt = cache / "apt" / "-".join(suites)
    (apt / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    src = apt / "ibodp.sources"
    src.write_text(
        "Types: deb\n"
        f"URIs: {mirror()}\n"
        f"Suites: {' '.join(suites)}\n"
        "Components: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    return ["-o", f"Dir::Etc::SourceList={src}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={apt / 'lists'}",
            "-o", f"Dir::Cache::Archives={apt / 'archives'}",
            "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
            "-o", "APT::Sandbox::User=root"]


def _download_deb(cache):
    downloads = cache / "downloads"
    downloads.mkdir(exist_ok=True)
    deb = downloads / (f"{DEBIAN_PACKAGE}_{DEBIAN_VERSION}_all.deb"
                       .replace(":", "%3a"))
    if deb.exists() and sha256_file(deb) == DEBIAN_SHA256:
        return deb
    require_free_space(downloads, 400 << 20, "the kernel source package")
    opts = private_apt(cache)
    step(f"fetching {DEBIAN_PACKAGE}={DEBIAN_VERSION} from {DEBIAN_SUITE} "
         "(167 MB)")
    run(["apt-get", *opts, "-q", "update"],
        what=f"apt-get update of {DEBIAN_SUITE} (private sources list)")
    proc = run(["apt-get", *opts, "download",
                f"{DEBIAN_PACKAGE}={DEBIAN_VERSION}"], cwd=downloads,
               check=False)
    if proc.returncode != 0:
        madison = run(["apt-cache", *opts, "madison", DEBIAN_PACKAGE],
                      check=False).stdout.strip()
        raise LabError(
            f"cannot download {DEBIAN_PACKAGE}={DEBIAN_VERSION} from "
            f"{DEBIAN_SUITE}:\n{proc.stdout.strip()[-1500:]}\n"
            f"Versions available now:\n{madison or '(none)'}\n"
            "Pin one of them (DEBIAN_VERSION and DEBIAN_SHA256 in "
            "lab/odplab/source.py), or use your own tree with --kernel-src.")
    actual = sha256_file(deb)
    if actual != DEBIAN_SHA256:
        deb.unlink()
        raise LabError(
            f"{deb.name} has sha256 {actual}, expected {DEBIAN_SHA256}: "
            "the download is corrupt or the archive changed. Deleted it; "
            "run again, and if it repeats check the pinned version.")
    return deb


def _unpack(deb, dest):
    """deb -> tarball -> tree at dest, committed to git as BASE_TAG."""
    require_free_space(dest.parent, 3 << 30, "unpacking the kernel source")
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        step(f"unpacking {deb.name} into {dest}")
        t0 = time.monotonic()
        extract = subprocess.run(
            f"dpkg-deb --fsys-tarfile '{deb}' | tar -xO ./{DEBIAN_TARBALL} "
            f"| tar -xJ --strip-components=1 -C '{tmp}'",
            shell=True, capture_output=True, text=True, check=False)
        if extract.returncode != 0:
            free = shutil.disk_usage(dest.parent).free >> 20
            cause = (f"the disk under {dest.parent} is full ({free} MiB "
                     "free); free some space or point IBODP_CACHE at a "
                     "larger disk (the source needs about 3 GiB)"
                     if free < 64 else
                     f"{free} MiB free under {dest.parent}, so not a full "
                     "disk; a damaged download is the next suspect: "
                     f"delete {deb} and run again")
            raise LabError(f"unpacking {deb} failed: "
                           f"{extract.stderr.strip()[-800:]}\n{cause}")
        info(f"unpacked in {time.monotonic() - t0:.0f}s; committing the "
             "pristine tree to git (about a minute)")
        run(["git", "init", "-q", "-b", "pristine", tmp], what="git init")
        # Debian's top-level .gitignore ignores everything: add with -f.
        git(tmp, "add", "-f", "-A")
        git(tmp, "commit", "-q", "-m",
            f"Linux {makefile_version(tmp)} from Debian {DEBIAN_PACKAGE} "
            f"{DEBIAN_VERSION}")
        git(tmp, "tag", BASE_TAG)
        (tmp / COMPLETE_MARK).write_text(DEBIAN_SHA256 + "\n")
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def debian_source():
    cache = cache_dir()
    dest = cache / "src" / f"debian-{DEBIAN_VERSION}"
    if not (dest / COMPLETE_MARK).exists():
        with file_lock(cache / "locks" / f"source-{dest.name}.lock",
                       f"fetching and unpacking {DEBIAN_PACKAGE}"):
            if not (dest / COMPLETE_MARK).exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():
                    warn(f"{dest} is incomplete (an earlier unpack was "
                         "interrupted); removing it")
                    shutil.rmtree(dest)
                _unpack(_download_deb(cache), dest)
    return SourceTree(
        repo=dest, slug=f"debian-{DEBIAN_VERSION}".replace("~", "_"),
        description=f"Debian {DEBIAN_PACKAGE} {DEBIAN_VERSION}",
        tree_id=git(dest, "rev-parse", BASE_TAG + "^{tree}").stdout.strip(),
        version=makefile_version(dest))


def user_source(path):
    """A developer's own kernel tree, used through a shared clone of it."""
    src = Path(path).expanduser().resolve()
    if not (src / "Makefile").exists() or not (src / "Kconfig").exists():
        raise LabError(f"--kernel-src {src}: not a Linux source tree (no "
                       "top-level Makefile and Kconfig)")
    top = run(["git", "-C", src, "rev-parse", "--show-toplevel"], check=False)
    if top.returncode != 0:
        raise LabError(
            f"--kernel-src {src}: not a git tree. odplab applies the patch "
            "series with `git am` in worktrees of its own and never writes "
            "to your tree; commit it first (git init && git add -A && git "
            "commit) or leave out --kernel-src to use Debian's source.")
    head = run(["git", "-C", src, "rev-parse", "HEAD"]).stdout.strip()
    dirty = run(["git", "-C", src, "status", "--porcelain",
                 "--untracked-files=no"]).stdout.strip()
    if dirty:
        warn(f"{src} has uncommitted changes; odplab builds its HEAD "
             f"{head[:12]} without them")
    slug = "git-" + hashlib.sha256(str(src).encode()).hexdigest()[:12]
    repo = cache_dir() / "src" / slug
    with file_lock(cache_dir() / "locks" / f"source-{slug}.lock",
                   f"cloning and fetching {src}"):
        return _user_clone(src, slug, repo, head)


def _user_clone(src, slug, repo, head):
    """The shared clone of src at repo, BASE_TAG at its HEAD; the caller
    holds the clone's lock."""
    if not (repo / COMPLETE_MARK).exists():
        if repo.exists():
            shutil.rmtree(repo)
        step(f"cloning {src} (shared objects, no copy of history)")
        run(["git", "clone", "-q", "--shared", "--no-checkout", src, repo],
            what="git clone --shared")
        (repo / COMPLETE_MARK).write_text(str(src) + "\n")
    git(repo, "fetch", "-q", src, "HEAD", what=f"git fetch from {src}")
    git(repo, "tag", "-f", BASE_TAG, "FETCH_HEAD")
    version = run(["git", "-C", repo, "show", f"{BASE_TAG}:Makefile"]).stdout
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Makefile").write_text(version)
        kver = makefile_version(tmp)
    return SourceTree(
        repo=repo, slug=slug, description=f"{src} at {head[:12]}",
        tree_id=git(repo, "rev-parse", BASE_TAG + "^{tree}").stdout.strip(),
        version=kver)


def resolve_source(kernel_src):
    return user_source(kernel_src) if kernel_src else debian_source()
