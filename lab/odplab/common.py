# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Paths, progress output, errors and subprocess helpers shared by odplab."""

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class LabError(Exception):
    """A failure with a message that names the cause and the fix."""

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code


def cache_dir():
    """Root of everything odplab downloads and builds ($IBODP_CACHE)."""
    env = os.environ.get("IBODP_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "ibodp"
    base.mkdir(parents=True, exist_ok=True)
    return base.resolve()


def results_dir():
    """Where run results go ($IBODP_RESULTS, default ./results)."""
    env = os.environ.get("IBODP_RESULTS")
    base = Path(env) if env else PROJECT_ROOT / "results"
    base.mkdir(parents=True, exist_ok=True)
    return base.resolve()


_T0 = time.monotonic()


def step(message):
    """One line per stage, with the time since odplab started."""
    elapsed = time.monotonic() - _T0
    print(f"==> [{elapsed:6.0f}s] {message}", flush=True)


def info(message):
    print(f"    {message}", flush=True)


def warn(message):
    print(f"odplab: warning: {message}", file=sys.stderr, flush=True)


def run(cmd, cwd=None, env=None, what=None, check=True, capture=True):
    """Runs cmd; on failure raises LabError with the command and its output."""
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None, check=False)
    if check and proc.returncode != 0:
        output = tail(proc.stdout or "", 30)
        raise LabError(
            f"{what or 'command'} failed (exit {proc.returncode}): "
            f"{' '.join(str(c) for c in cmd)}\n{output}")
    return proc


def tail(text, lines):
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def tail_file(path, lines):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return f"({path} is missing)"
    return tail(data.replace("\r", ""), lines)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def require_free_space(path, need_bytes, what):
    free = shutil.disk_usage(path).free
    if free < need_bytes:
        raise LabError(
            f"not enough disk space for {what}: {free >> 20} MiB free under "
            f"{path}, need about {need_bytes >> 20} MiB. Free some space or "
            f"point IBODP_CACHE at a larger disk.")


def is_root():
    return os.geteuid() == 0


@contextlib.contextmanager
def file_lock(path, what):
    """Holds an exclusive flock on path for the with-block. When another
    process holds it, says so (naming its pid and what it does) and waits;
    the lock goes with the process, so a killed holder frees it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a+", encoding="utf-8")
    except OSError as e:
        raise LabError(f"cannot open the lock file {path} ({e}): fix the "
                       "ownership of that directory, or point IBODP_CACHE "
                       "at one this user can write") from None
    with f:
        try:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.seek(0)
                holder = f.read().strip() or "another odplab"
                t0 = time.monotonic()
                info(f"waiting: {path} is held by {holder}; {what} goes on "
                     "when it is released")
                fcntl.flock(f, fcntl.LOCK_EX)
                info(f"got {path} after {time.monotonic() - t0:.0f}s of "
                     "waiting")
        except OSError as e:
            raise LabError(f"cannot lock {path} ({e}): put IBODP_CACHE on a "
                           "local filesystem that supports flock") from None
        f.seek(0)
        f.truncate()
        f.write(f"odplab pid {os.getpid()} ({what})\n")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            f.flush()

