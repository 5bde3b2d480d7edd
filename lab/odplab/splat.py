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


def find_splats(text):
    """[(line_number, kind, line)] for every splat line in a kernel log."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = _TIMESTAMP.sub("", raw.rstrip("\r"))
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
    """A splat after which the guest may never finish the command."""
    line = _TIMESTAMP.sub("", line.rstrip("\r"))
    return any(kind in _FATAL and pattern.search(line)
               for kind, pattern in _COMPILED)
