# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Kernel config: tinyconfig + the repo's fragments, every option checked."""

import re
from pathlib import Path

from .common import PROJECT_ROOT, LabError, run

CONFIG_DIR = PROJECT_ROOT / "lab" / "config"
BASE_FRAGMENT = CONFIG_DIR / "ibodp.config"
# Extra fragments per flavour: "debug" adds lockdep and DEBUG_VM for tests,
# "kasan" adds generic KASAN on top of "debug", "mlx5" the ConnectX driver
# (built, never booted).
FLAVOURS = {
    "default": [],
    "debug": [CONFIG_DIR / "debug.config"],
    "kasan": [CONFIG_DIR / "debug.config", CONFIG_DIR / "kasan.config"],
    # Build-only: the ConnectX driver, for mlx5-patches/.
    "mlx5": [CONFIG_DIR / "mlx5.config"],
}


def fragments(flavour):
    if flavour not in FLAVOURS:
        raise LabError(f"unknown kernel flavour '{flavour}': choose one of "
                       + ", ".join(FLAVOURS))
    return [BASE_FRAGMENT] + FLAVOURS[flavour]


def parse_fragment(text):
    """{SYMBOL: value} with value 'n' for '# CONFIG_X is not set'."""
    wanted = {}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
        if m:
            wanted[m.group(1)] = m.group(2)
            continue
        m = re.match(r"^# (CONFIG_\w+) is not set$", line)
        if m:
            wanted[m.group(1)] = "n"
    return wanted


def missing_options(wanted, final_config_text):
    """Options of the fragments that the final .config does not have, as
    (symbol, wanted, actual) with actual 'n' when absent."""
    final = parse_fragment(final_config_text)
    out = []
    for sym, val in wanted.items():
        actual = final.get(sym, "n")
        if actual != val:
            out.append((sym, val, actual))
    return out


def configure(worktree, frags, make_env):
    """tinyconfig, merge the fragments, olddefconfig, then check."""
    run(["make", "-s", "tinyconfig"], cwd=worktree, env=make_env,
        what="make tinyconfig")
    run([Path(worktree) / "scripts/kconfig/merge_config.sh", "-m", ".config",
         *frags], cwd=worktree, env=make_env, what="merge_config.sh")
    run(["make", "-s", "olddefconfig"], cwd=worktree, env=make_env,
        what="make olddefconfig")
    wanted = {}
    for frag in frags:
        wanted.update(parse_fragment(Path(frag).read_text()))
    final = (Path(worktree) / ".config").read_text()
    bad = missing_options(wanted, final)
    if bad:
        lines = "\n".join(f"  {s}: wanted {w}, got {a}" for s, w, a in bad)
        raise LabError(
            "the kernel config lost options that the fragments ask for "
            f"(a dependency refused them, or the symbol no longer exists):\n"
            f"{lines}\nFragments: {', '.join(str(f) for f in frags)}. "
            f"Look the symbol up with `make menuconfig` (/ to search) in "
            f"{worktree}.")
    return final
