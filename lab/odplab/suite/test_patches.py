# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""scripts/checkpatch.pl --strict on every patch, with the base tree's
script."""

import os
import subprocess

import pytest

from .. import patches

SERIES = patches.series_of(patches.BASE_DIRS + patches.PROPOSAL_DIRS
                            + patches.MLX5_DIRS)


@pytest.mark.parametrize("patch", SERIES,
                         ids=[f"{p.parent.name}/{p.name}" for p in SERIES])
def test_checkpatch_strict(odplab, patch):
    repo = odplab.source.repo
    proc = subprocess.run(
        # The lab's tree is a release tarball without git history, in which
        # checkpatch cannot look a Fixes: commit up.
        ["perl", str(repo / "scripts" / "checkpatch.pl"), "--strict",
         "--terse", "--no-summary", "--show-types", "--ignore",
         "UNKNOWN_COMMIT_ID", str(patch)],
        cwd=repo, capture_output=True, text=True, check=False,
        # scripts/spdxcheck.py runs `env python3`: Debian's, which has
        # python3-ply, not one that a version manager put first in PATH.
        env={**os.environ,
             "PATH": "/usr/bin:/bin:" + os.environ.get("PATH", "")})
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0 and not out, out[-1500:]
