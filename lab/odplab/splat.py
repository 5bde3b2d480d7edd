# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Kernel splats in a guest's log: any of them fails the run."""

import re

# Each pattern names one kind of report the kernel prints when something is
# wrong. Lines are matched after the printk timestamp is stripped.
SPLAT_PATTERNS = [
    ("WARNING", r"^WARNING: "),
    ("WARNING", r"^-+\[ cut here \]-+$"),
    ("BUG", r"^BUG: "),
    ("BUG", r"kernel BUG at "),
    ("soft lockup", r"watchdog: BUG: soft lockup"),
    ("Oops", r"^Oops: "),
    ("Oops", r"general protection fault"),
    ("panic", r"^Kernel panic - not syncing"),
    ("lockdep", r"possible (recursive|circular) locking"),
    ("lockdep", r"inconsistent lock state"),
    ("lockdep", r"INFO: trying to register non-static key"),
    ("lockdep", r"DEBUG_LOCKS_WARN_ON"),
    ("KASAN", r"KASAN: "),
    ("UBSAN", r"UBSAN: "),
    ("hung task", r"INFO: task .+ blocked for more than \d+ seconds"),
    ("RCU stall", r"rcu: INFO: \w+ detected (expedited )?stalls"),
    ("bad page", r"BUG: Bad page (state|map)"),
    ("VM_BUG", r"VM_BUG_ON"),
]
_COMPILED = [(kind, re.compile(p)) for kind, p in SPLAT_PATTERNS]
_TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")


def find_splats(text, timestamped_only=False):
    """[(line_number, kind, line)] for every splat line in a kernel log.

    With timestamped_only (a console that also carries the command's own
    output), only lines with a printk timestamp are the kernel's: a
    program printing "WARNING: ..." is not a splat."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        raw = raw.rstrip("\r")
        if timestamped_only and not _TIMESTAMP.match(raw):
            continue
        line = _TIMESTAMP.sub("", raw)
        for kind, pattern in _COMPILED:
            if pattern.search(line):
                found.append((number, kind, line))
                break
    return found


def describe(splats, source, limit=10):
    lines = [f"{source}:{n}: [{kind}] {line}" for n, kind, line in
             splats[:limit]]
    if len(splats) > limit:
        lines.append(f"... and {len(splats) - limit} more")
    return "\n".join(lines)


_FATAL = {"BUG", "Oops", "panic", "soft lockup"}


def is_fatal(line):
    """A splat after which the guest may never finish the command (console
    lines: the kernel's carry a printk timestamp)."""
    line = line.rstrip("\r")
    if not _TIMESTAMP.match(line):
        return False
    line = _TIMESTAMP.sub("", line)
    return any(kind in _FATAL and pattern.search(line)
               for kind, pattern in _COMPILED)
