# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""`odplab series check`: every prefix of a variant's patch series builds,
and the files the series has touched so far compile without a warning,
at W=1, that the base tree does not have.

A prefix that passed is remembered by content (source, config fragments,
compiler, the patches up to it), so that a second check rebuilds only the
prefixes that changed; ccache makes each rebuild a matter of the files
the patch touches."""

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from . import kconfig, kernel, patches
from .common import (LabError, cache_dir, file_lock, info, require_free_space,
                     step)

# Bump when what a prefix check verifies changes.
CHECK_SCHEMA = "1"
LOCALVERSION = "-ibodp-series"


@dataclass
class PrefixResult:
    index: int           # 1-based: the prefix ends with this patch
    patch: Path
    ok: bool
    cached: bool
    seconds: float
    problem: str = ""    # why it failed, with the log's relevant lines


def touched_sources(diff_names):
    """The .c files among a prefix's changed files (those W=1 rebuilds)."""
    return sorted(n for n in diff_names if n.endswith(".c"))


WARNING = re.compile(r"^(\S+?):\d+:(?:\d+:)? warning: (.*)$")


def warnings_in(log_text, files):
    """Compiler warning lines of `log_text` that name one of `files`."""
    out = []
    for line in log_text.splitlines():
        m = WARNING.match(line)
        if m and m.group(1) in files:
            out.append(line)
    return out


def new_warnings(found, baseline):
    """The lines of `found` that `baseline` (the base tree's warnings in
    the same files) does not account for. Lines are compared without
    their line and column, which patches move; a warning that the base
    tree has n times is forgiven n times."""
    left = {}
    for line in baseline:
        m = WARNING.match(line)
        if m:
            left[m.groups()] = left.get(m.groups(), 0) + 1
    out = []
    for line in found:
        m = WARNING.match(line)
        if m and left.get(m.groups(), 0) > 0:
            left[m.groups()] -= 1
        else:
            out.append(line)
    return out


def files_of(patch_paths):
    """Every file that the patches change (from their diff headers)."""
    names = set()
    for p in patch_paths:
        for line in Path(p).read_text(errors="replace").splitlines():
            m = re.match(r"^diff --git a/(\S+) b/(\S+)$", line)
            if m:
                names.add(m.group(2))
    return sorted(names)


def _marker(key):
    return cache_dir() / "series" / f"{key}.json"


def _build_and_scan(wt, env, frags, log_path, jobs, sources):
    """Configures and builds the worktree as it stands, rebuilds the
    objects of `sources` that this config builds at W=1, and returns the
    warnings that name `sources`. Raises LabError if a build fails."""
    kconfig.configure(wt, frags, env)
    kernel.make_bzimage(wt, env, log_path, jobs, LOCALVERSION)
    # Only the objects this config builds: a patch may touch drivers that
    # the lab's config leaves out.
    objects = [s[:-2] + ".o" for s in sources
               if (Path(wt) / (s[:-2] + ".o")).exists()]
    if objects:
        kernel.make_w1(wt, env, log_path, jobs, objects, LOCALVERSION)
    return warnings_in(Path(log_path).read_text(errors="replace"), sources)


def _baseline(source, wt, env, frags, jobs, sources, applied):
    """The warnings in `sources` of the tree the checked patches start
    from, the base tree plus `applied` (cached by content). The caller
    has reset the worktree to the base tree."""
    key = (f"{CHECK_SCHEMA}-base-"
           + kernel.kernel_key(source, frags, applied)[:32] + "-"
           + hashlib.sha256("\n".join(sources).encode()).hexdigest()[:12])
    if _marker(key).exists():
        return json.loads(_marker(key).read_text())["warnings"]
    what = ("the base tree" if not applied else
            f"the base tree with the {len(applied)} patches before the "
            "checked ones")
    step(f"building {what}, for the warnings it has already")
    patches.apply_series(wt, applied, source.description)
    log_path = cache_dir() / "logs" / f"series-base-{key[2:20]}.log"
    log_path.write_text(f"odplab series check: {what}\n")
    found = _build_and_scan(wt, env, frags, log_path, jobs, sources)
    _marker(key).parent.mkdir(exist_ok=True)
    _marker(key).write_text(json.dumps({"warnings": found}) + "\n")
    info(f"the base tree has {len(found)} warnings in the files the series "
         "changes; the check forgives those")
    return found


def check(source, variant="patched", jobs=None):
    """Builds every prefix of `variant`'s series in order; stops at the
    first that fails. Returns the results, the failing one last.

    A build-only variant (kernel.BUILD_ONLY) is built in its own config
    flavour, and only its own prefixes: the ones before are the patched
    series', which the default config checks; its warnings are compared
    with those of the tree its own patches start from."""
    flavour = kernel.BUILD_ONLY.get(variant, "default")
    frags = kconfig.fragments(flavour)
    start = kernel.own_patches_start(variant)
    series = kernel.variant_patches(variant)
    if not series:
        raise LabError(f"the {variant} kernel has no patches to check")
    require_free_space(cache_dir(), 3 << 30, "a series check")
    jobs = jobs or (os.cpu_count() or 1) + 1
    all_sources = touched_sources(files_of(series))
    results = []
    locks = cache_dir() / "locks"
    with file_lock(locks / f"worktree-{source.slug}-series-{flavour}.lock",
                   "checking a series in the series worktree"):
        wt = kernel.worktree(source, "series", flavour)
        env = kernel.make_env(wt)
        (cache_dir() / "logs").mkdir(exist_ok=True)
        kernel.reset(wt)
        baseline = None
        for i, patch in enumerate(series, 1):
            key = f"{CHECK_SCHEMA}-" + kernel.kernel_key(source, frags,
                                                         series[:i])
            rel = patch.relative_to(patch.parents[1])
            if i < start:
                patches.apply_series(wt, [patch], source.description)
                info(f"[{i}/{len(series)}] {rel}: the patched series' "
                     "(odplab series check --variant patched)")
                results.append(PrefixResult(i, patch, True, True, 0.0))
                continue
            if _marker(key).exists():
                patches.apply_series(wt, [patch], source.description)
                info(f"[{i}/{len(series)}] {rel}: checked before (cached)")
                results.append(PrefixResult(i, patch, True, True, 0.0))
                continue
            if baseline is None:
                # Built at the base tree: undo the cached prefixes first.
                kernel.reset(wt)
                baseline = _baseline(source, wt, env, frags, jobs,
                                     all_sources, series[:start - 1])
                kernel.reset(wt)
                patches.apply_series(wt, series[:i - 1], source.description)
            patches.apply_series(wt, [patch], source.description)
            step(f"[{i}/{len(series)}] building with {rel}")
            log_path = cache_dir() / "logs" / f"series-{i:02d}-{key[2:14]}.log"
            log_path.write_text(f"odplab series check {variant} prefix {i}: "
                                f"{rel}\n")
            t0 = time.monotonic()
            sources = touched_sources(files_of(series[:i]))
            try:
                found = _build_and_scan(wt, env, frags, log_path, jobs,
                                        sources)
                # A warning of a file shows in the normal build and again
                # at W=1: name it once.
                fresh = list(dict.fromkeys(new_warnings(found, baseline)))
                problem = "" if not fresh else (
                    f"{len(fresh)} new compiler warnings (normal build or "
                    "W=1) in the files the series changes so far:\n"
                    + "\n".join(fresh[:20]))
            except LabError as e:
                problem = str(e)
            seconds = time.monotonic() - t0
            results.append(PrefixResult(i, patch, not problem, False,
                                        seconds, problem))
            if problem:
                break
            _marker(key).parent.mkdir(exist_ok=True)
            _marker(key).write_text(json.dumps(
                {"patch": str(rel), "prefix": i, "seconds": round(seconds, 1),
                 "log": str(log_path)}) + "\n")
            info(f"[{i}/{len(series)}] {rel}: builds, no new warning "
                 f"({seconds:.0f} s; log {log_path})")
    return results


def report(results, total, start=1):
    """The lines that end a check: which patch broke it, or that all
    built (from prefix `start` on)."""
    last = results[-1]
    if not last.ok:
        return (f"series check FAILED: patch {last.index} of {total}, "
                f"{last.patch.name}, does not build cleanly on the ones "
                f"before it:\n{last.problem}")
    built = sum(1 for r in results if not r.cached)
    if start > 1:
        return (f"series check passed: prefixes {start} to {total} build, "
                f"with no compiler warning (W=1) in the files the series "
                f"changes that the tree before patch {start} does not have "
                f"({built} built now, {total - start + 1 - built} cached; "
                f"1 to {start - 1} are the patched series')")
    return (f"series check passed: all {total} prefixes build, with no "
            f"compiler warning (W=1) in the files they change that the base "
            f"tree does not have ({built} built now, {total - built} "
            f"cached)")

