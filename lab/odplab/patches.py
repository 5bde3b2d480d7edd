# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Patch series: their order, and applying them with clear failures."""

import re
import subprocess
from pathlib import Path

from .common import PROJECT_ROOT, LabError

# Fixes to the base tree that every lab kernel but "vanilla" carries: bugs
# that would make any ODP data test meaningless (see the cover letter).
BASE_DIRS = ["base-patches"]
# The ibodp proposal, applied after the base fixes for "patched".
PROPOSAL_DIRS = ["kernel-patches", "rxe-patches"]
# A deliberate bug on top of the proposal, for the storm test's demo.
PLANTED_DIRS = ["lab/planted"]
# The mlx5 conversion, on top of kernel-patches/: compile-tested only.
MLX5_DIRS = ["mlx5-patches"]


def series(directory):
    """The patches of one directory in application order.

    A `series` file, if present, lists them (one name a line, '#' starts a
    comment); otherwise every *.patch sorted by name, less the cover letter
    (git format-patch's 0000-cover-letter.patch carries no diff)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    listing = directory / "series"
    if listing.exists():
        names = [ln.split("#", 1)[0].strip()
                 for ln in listing.read_text().splitlines()]
        patches = [directory / n for n in names if n]
        missing = [str(p) for p in patches if not p.exists()]
        if missing:
            raise LabError(f"{listing} names patches that do not exist: "
                           + ", ".join(missing))
        return patches
    return sorted(p for p in directory.glob("*.patch")
                  if not p.name.startswith("0000-")
                  and "cover-letter" not in p.name)


def series_of(dirs, root=PROJECT_ROOT):
    patches = []
    for d in dirs:
        patches += series(Path(root) / d)
    return patches


def _hunk_details(worktree, patch):
    """What `git apply --check -v` says about the failing hunks."""
    proc = subprocess.run(
        ["git", "-C", str(worktree), "apply", "--check", "-v", str(patch)],
        capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    failed = re.findall(r"error: patch failed: (\S+):(\d+)", text)
    missing = re.findall(r"error: (\S+): (does not exist in index|"
                         r"No such file or directory|already exists in "
                         r"working directory)", text)
    lines = [f"hunk at {f} line {n} does not apply" for f, n in failed]
    lines += [f"{f}: {why}" for f, why in missing]
    return lines, text.strip()


def apply_series(worktree, patches, base_description):
    """git am each patch in turn; a failure names the patch and the hunk and
    leaves the worktree at the base plus the patches before it."""
    for index, patch in enumerate(patches, 1):
        proc = subprocess.run(
            ["git", "-C", str(worktree), "-c", "user.name=odplab", "-c",
             "user.email=odplab@localhost", "am", "-q", "--keep-cr",
             str(patch)], capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            continue
        # Drop git am's advice on --continue/--skip: odplab aborts the am.
        am_output = "\n".join(
            ln for ln in (proc.stdout + proc.stderr).strip().splitlines()
            if not ln.startswith(("When you have", "If you prefer",
                                  "To restore", "hint:")))
        subprocess.run(["git", "-C", str(worktree), "am", "--abort"],
                       capture_output=True, check=False)
        hunks, raw = _hunk_details(worktree, patch)
        rel = _relative(patch)
        summary = "\n".join(f"  {h}" for h in hunks) or "  " + "\n  ".join(
            (raw or am_output).splitlines()[-12:])
        raise LabError(
            f"patch {index}/{len(patches)} {rel} does not apply to "
            f"{base_description} (after the {index - 1} before it):\n"
            f"{summary}\n"
            f"Rebase it onto that tree, or fix the `series` order. "
            f"git am said:\n  " + "\n  ".join(am_output.splitlines()[-6:]))


def _relative(path):
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
