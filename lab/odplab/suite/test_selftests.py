# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""The VM runner itself on the pristine kernel: exit status, failure,
panic, timeout."""

from ..vm import EXIT_GUEST_DIED, EXIT_TIMEOUT


def test_true_exits_0(odplab):
    r = odplab.job("pristine", "selftest-true", ["true"], 300).result
    assert r.exit_code == 0, r.message


def test_exit_status_is_carried_back(odplab):
    r = odplab.job("pristine", "selftest-exit7", ["sh", "-c", "exit 7"],
                   300).result
    assert r.exit_code == 7, f"got {r.exit_code}: {r.message}"


def test_guest_panic_fails_with_the_console_tail(odplab):
    r = odplab.job("pristine", "selftest-panic",
                   ["sh", "-c", "echo c > /proc/sysrq-trigger"], 300,
                   echo=False).result
    assert r.exit_code == EXIT_GUEST_DIED and "Kernel panic" in r.message, \
        f"got {r.exit_code}: {r.message[-500:]}"


def test_hung_command_ends_at_the_timeout(odplab):
    r = odplab.job("pristine", "selftest-timeout", ["sleep", "600"], 60,
                   echo=False).result
    assert r.exit_code == EXIT_TIMEOUT, f"got {r.exit_code}"
