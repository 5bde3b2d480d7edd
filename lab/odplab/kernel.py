# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Building kernels and caching them by a key of what went into them."""

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import kconfig, patches
from .source import BASE_TAG
from .common import (PROJECT_ROOT, LabError, cache_dir, file_lock, info,
                     require_free_space, run, sha256_file, step, tail_file,
                     warn)

# vanilla: the source as shipped. pristine: plus base-patches/ (fixes every
# comparison needs). patched: plus kernel-patches/ and rxe-patches/.
VARIANTS = ("vanilla", "pristine", "patched", "planted")
VARIANT_DIRS = {
    "vanilla": [],
    "pristine": patches.BASE_DIRS,
    "patched": patches.BASE_DIRS + patches.PROPOSAL_DIRS,
    # The proposal with a deliberate bug (lab/planted/), to show that the
    # storm test catches one: never benchmarked, never sent.
    "planted": patches.BASE_DIRS + patches.PROPOSAL_DIRS
    + patches.PLANTED_DIRS,
}
# Variants that are compiled, never booted, with the config flavour each
# needs: mlx5 is base-patches/ + kernel-patches/ + mlx5-patches/, built
# with the ConnectX driver (lab/config/mlx5.config) by
# `odplab series check --variant mlx5`.
BUILD_ONLY = {"mlx5": "mlx5"}
VARIANT_DIRS["mlx5"] = (patches.BASE_DIRS + ["kernel-patches"]
                        + patches.MLX5_DIRS)
# The two kernels every comparison and `odplab test` use.
COMPARED = ("pristine", "patched")
# Bump when the way a kernel is built changes without its inputs changing.
KEY_SCHEMA = "1"
BUILD_TIMESTAMP = "Thu Jan  1 00:00:00 UTC 2026"


@dataclass
class Kernel:
    directory: Path
    manifest: dict

    @property
    def bzimage(self):
        return self.directory / "bzImage"

    @property
    def hz(self):
        """CONFIG_HZ of the build's .config (the scheduler tick's rate), or
        None when the build has no config file or no such line."""
        try:
            text = (self.directory / "config").read_text()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("CONFIG_HZ="):
                return int(line.split("=", 1)[1])
        return None


def compiler_id():
    out = subprocess.run(["gcc", "--version"], capture_output=True,
                         text=True, check=False).stdout
    return out.splitlines()[0] if out else "gcc missing"


def variant_patches(variant):
    if variant not in VARIANT_DIRS:
        raise LabError(f"unknown variant '{variant}': choose one of "
                       + ", ".join(VARIANT_DIRS))
    return patches.series_of(VARIANT_DIRS[variant])


def own_patches_start(variant):
    """1-based index of the first patch that only a build-only variant
    has (the prefixes before it are the patched series', which
    `series check --variant patched` covers); 1 for the others."""
    if variant not in BUILD_ONLY:
        return 1
    shared = len(patches.series_of(
        [d for d in VARIANT_DIRS[variant] if d in VARIANT_DIRS["patched"]]))
    return shared + 1


def kernel_key(source, frags, patch_list):
    """sha256 over everything that decides the bzImage's content."""
    h = hashlib.sha256()

    def add(label, data):
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    add("schema", KEY_SCHEMA.encode())
    add("source-tree", source.tree_id.encode())
    add("compiler", compiler_id().encode())
    for f in frags:
        add("fragment", Path(f).read_bytes())
    for p in patch_list:
        add("patch", Path(p).read_bytes())
    return h.hexdigest()


def make_env(worktree):
    env = dict(os.environ)
    env.update({
        "CCACHE_DIR": str(cache_dir() / "ccache"),
        "CCACHE_BASEDIR": str(worktree),
        "CCACHE_NOHASHDIR": "true",
        "CCACHE_MAXSIZE": env.get("CCACHE_MAXSIZE", "5G"),
        "KBUILD_BUILD_TIMESTAMP": BUILD_TIMESTAMP,
        "KBUILD_BUILD_USER": "odplab",
        "KBUILD_BUILD_HOST": "ibodp",
        "LC_ALL": "C",
    })
    return env


def _cached(directory):
    """The cached kernel at directory, None if absent; raises nothing but
    removes a corrupt entry (with a warning) so that it is rebuilt."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        ok = sha256_file(directory / "bzImage") == manifest["bzimage_sha256"]
    except (OSError, ValueError, KeyError) as e:
        ok, manifest = False, {"error": str(e)}
    if not ok:
        warn(f"cached kernel {directory} is corrupt (bzImage missing or its "
             "sha256 differs from manifest.json): removing it and rebuilding")
        # Another odplab may be removing it too (--force).
        shutil.rmtree(directory, ignore_errors=True)
        return None
    return Kernel(directory, manifest)


def worktree(source, variant, flavour):
    wt = cache_dir() / "work" / source.slug / f"{variant}-{flavour}"
    if not (wt / ".git").exists():
        wt.parent.mkdir(parents=True, exist_ok=True)
        # git worktree prune and add write the source repository's
        # worktree list, which the other variants' builds share.
        with file_lock(cache_dir() / "locks" / f"repo-{source.slug}.lock",
                       f"adding the {variant}-{flavour} worktree"):
            run(["git", "-C", source.repo, "worktree", "prune"])
            if wt.exists():
                shutil.rmtree(wt)
            step(f"creating worktree {wt}")
            run(["git", "-C", source.repo, "worktree", "add", "-q",
                 "--detach", wt, BASE_TAG], what="git worktree add")
    return wt


def reset(wt):
    subprocess.run(["git", "-C", str(wt), "am", "--abort"],
                   capture_output=True, check=False)
    run(["git", "-C", wt, "checkout", "-q", "-f", "--detach",
         BASE_TAG], what="git checkout of the base tree")


class _Heartbeat:
    """Prints the last compiled file every `period` seconds during make."""

    def __init__(self, log_path, period=30):
        self._log = log_path
        self._period = period
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _loop(self):
        while not self._stop.wait(self._period):
            last = tail_file(self._log, 1).strip()
            info(f"building, {time.monotonic() - self._t0:.0f}s: {last}")


def make_bzimage(wt, env, log_path, jobs, localversion):
    cmd = ["make", f"-j{jobs}", "CC=ccache gcc", "HOSTCC=ccache gcc",
           f"LOCALVERSION={localversion}", "bzImage"]
    with open(log_path, "a", encoding="utf-8") as log, _Heartbeat(log_path):
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.run(cmd, cwd=wt, env=env, stdout=log,
                              stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise LabError(f"kernel build failed (make exit {proc.returncode}) "
                       f"in {wt}; last lines of {log_path}:\n"
                       + tail_file(log_path, 25))
    warnings = [ln for ln in Path(log_path).read_text(
        errors="replace").splitlines() if "warning:" in ln]
    if warnings:
        warn(f"the kernel build printed {len(warnings)} compiler warnings "
             f"(see {log_path}):\n" + "\n".join(warnings[:10]))
    release = run(["make", "-s", f"LOCALVERSION={localversion}",
                   "kernelrelease"], cwd=wt, env=env).stdout.strip()
    return release


def make_w1(wt, env, log_path, jobs, objects, localversion):
    """Rebuilds `objects` (paths of .o files) at W=1, appending make's
    output to the log. The objects are removed first so that make
    compiles them again; ccache keys on the flags, so the W=1 compile is
    cached apart from the normal one."""
    for o in objects:
        (Path(wt) / o).unlink(missing_ok=True)
    # The bzImage build's LOCALVERSION, or make regenerates the release
    # string, and the next build recompiles what includes it.
    cmd = ["make", f"-j{jobs}", "CC=ccache gcc", "HOSTCC=ccache gcc", "W=1",
           f"LOCALVERSION={localversion}", *objects]
    proc = subprocess.run(cmd, cwd=wt, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, check=False)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise LabError(f"make W=1 of {' '.join(objects)} failed (exit "
                       f"{proc.returncode}); last lines of {log_path}:\n"
                       + tail_file(log_path, 25))


def ensure_kernel(source, variant, flavour="default", jobs=None,
                  force=False):
    """The kernel for variant+flavour, from the cache or built now.

    A build holds two locks: one on the cache entry, so that a second
    odplab that wants the same kernel waits and then uses the first's
    result, and one on the worktree, which every key of a variant and
    flavour shares (two builds in one tree interleave and fail)."""
    frags = kconfig.fragments(flavour)
    patch_list = variant_patches(variant)
    key = kernel_key(source, frags, patch_list)
    directory = cache_dir() / "kernels" / key
    cached = None if force else _cached(directory)
    if cached:
        info(f"{variant} kernel ({flavour}): cached {directory}")
        return cached
    locks = cache_dir() / "locks"
    with file_lock(locks / f"kernel-{key[:16]}.lock",
                   f"building the {variant} kernel ({flavour}) {key[:12]}"):
        if force and directory.exists():
            shutil.rmtree(directory)
        cached = _cached(directory)
        if cached:
            info(f"{variant} kernel ({flavour}): built meanwhile by another "
                 f"odplab; using {directory}")
            return cached
        wt_name = f"{source.slug}-{variant}-{flavour}"
        with file_lock(locks / f"worktree-{wt_name}.lock",
                       f"building in the {variant}-{flavour} worktree"):
            return _build(source, variant, flavour, jobs,
                          (key, directory, frags, patch_list))


def _build(source, variant, flavour, jobs, what):
    """Builds the kernel into the cache entry; the caller holds its locks."""
    key, directory, frags, patch_list = what
    step(f"building the {variant} kernel ({flavour}), key {key[:12]}: "
         f"{source.description}, {len(patch_list)} patches")
    require_free_space(cache_dir(), 3 << 30, "a kernel build")
    wt = worktree(source, variant, flavour)
    logs = cache_dir() / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"build-{variant}-{flavour}-{key[:12]}.log"
    log_path.write_text(f"odplab kernel build {variant} {flavour} key {key}\n")
    info(f"build log: {log_path}")
    t0 = time.monotonic()
    reset(wt)
    if patch_list:
        step(f"applying {len(patch_list)} patches")
        patches.apply_series(wt, patch_list, source.description)
    env = make_env(wt)
    step("configuring: tinyconfig + " + ", ".join(
        str(Path(f).relative_to(PROJECT_ROOT)) for f in frags))
    config = kconfig.configure(wt, frags, env)
    step(f"compiling with make -j{jobs or (os.cpu_count() or 1) + 1} "
         "(about 11 minutes the first time on 2 cores; ccache makes "
         "rebuilds quick)")
    release = make_bzimage(wt, env, log_path,
                           jobs or (os.cpu_count() or 1) + 1,
                           f"-ibodp-{key[:8]}")
    seconds = time.monotonic() - t0
    _store(directory, wt, log_path, {
        "key": key,
        "variant": variant,
        "flavour": flavour,
        "kernelrelease": release,
        "source": source.description,
        "source_tree": source.tree_id,
        "fragments": {str(Path(f).relative_to(PROJECT_ROOT)): sha256_file(f)
                      for f in frags},
        "patches": [{"file": str(Path(p).relative_to(PROJECT_ROOT)),
                     "sha256": sha256_file(p)} for p in patch_list],
        "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
        "compiler": compiler_id(),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 1),
    }, patch_list)
    step(f"built {release} in {seconds:.0f}s")
    return _cached(directory)


def _store(directory, wt, log_path, manifest, patch_list):
    tmp = directory.with_name(directory.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "patches").mkdir(parents=True)
    shutil.copy2(wt / "arch/x86/boot/bzImage", tmp / "bzImage")
    shutil.copy2(wt / ".config", tmp / "config")
    shutil.copy2(log_path, tmp / "build.log")
    for p in patch_list:
        shutil.copy2(p, tmp / "patches" / Path(p).name)
    manifest["bzimage_sha256"] = sha256_file(tmp / "bzImage")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if directory.exists():
        shutil.rmtree(directory)
    tmp.rename(directory)
