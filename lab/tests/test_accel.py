# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""Choosing the accelerator by trying it, with fake QEMUs on PATH: one
that aborts as nested KVM does here, one that hangs, one that boots."""

import contextlib
import io
import os
import stat
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from odplab import accel
from odplab.common import LabError

MSR_ERROR = "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"

# Every fake answers --version and appends its -cpu value to calls.log.
PROLOGUE = """#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "--version" ]; then
  echo "QEMU emulator version 7.2.0 (fake)"
  exit 0
fi
cpu= serial=
while [ $# -gt 0 ]; do
  case "$1" in
    -cpu) cpu=$2; shift ;;
    -serial) serial=${2#file:}; shift ;;
  esac
  shift
done
echo "$cpu" >> "$here/calls.log"
"""

FAKES = {
    # nested KVM on this project's machines (2026-12-01)
    "aborts": PROLOGUE + f"""echo "{MSR_ERROR}" >&2
echo "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: \
kvm_buf_set_msrs: Assertion failed." >&2
kill -ABRT $$
""",
    # a CPU model that passes SeaBIOS, then the kernel prints nothing
    "hangs": PROLOGUE + """echo "SeaBIOS (version fake)" > "$serial"
exec sleep 600
""",
    # -cpu host aborts; without arch-capabilities the kernel boots
    "second_boots": PROLOGUE + f"""case "$cpu" in
  host) echo "{MSR_ERROR}" >&2; kill -ABRT $$ ;;
esac
echo "Kernel panic - not syncing: {accel.PROBE_MARK}" > "$serial"
exit 0
""",
}

DEADLINE = 2.0


class FakeQemu(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = Path(self.tmp.name)
        self.bin = d / "bin"
        self.bin.mkdir()
        self.kvm = d / "kvm"
        self.kvm.write_text("")
        self.bzimage = d / "bzImage"
        self.bzimage.write_bytes(b"not a kernel")
        self.cache = d / "cache"
        env = {"PATH": f"{self.bin}:{os.environ['PATH']}",
               "IBODP_CACHE": str(self.cache),
               accel.PROBE_ENV: str(DEADLINE)}
        self.patches = [mock.patch.dict(os.environ, env),
                        mock.patch.object(accel, "KVM_DEVICE",
                                          str(self.kvm))]
        for p in self.patches:
            p.start()
        os.environ.pop(accel.ENV, None)

    def tearDown(self):
        for p in reversed(self.patches):
            p.stop()
        self.tmp.cleanup()

    def fake(self, kind):
        path = self.bin / "qemu-system-x86_64"
        path.write_text(FAKES[kind])
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def calls(self):
        log = self.bin / "calls.log"
        return log.read_text().split() if log.exists() else []

    def choose(self, request=None):
        accel.set_request(request)
        out = io.StringIO()
        t0 = time.monotonic()
        with contextlib.redirect_stdout(out):
            chosen = accel.choose(self.bzimage)
        return chosen, time.monotonic() - t0, out.getvalue()

    def test_abort_leads_to_tcg_with_qemus_message(self):
        self.fake("aborts")
        chosen, seconds, out = self.choose()
        self.assertEqual(chosen.name, "tcg")
        self.assertIn(MSR_ERROR, chosen.reason)
        self.assertIn("QEMU exited -6", chosen.reason)
        self.assertEqual(self.calls(), [c for c, _ in accel.KVM_CANDIDATES])
        self.assertLess(seconds, DEADLINE)  # aborts end at once
        line = [ln for ln in out.splitlines() if "accelerator:" in ln]
        self.assertEqual(len(line), 1, out)
        self.assertIn("TCG", line[0])
        self.assertIn(MSR_ERROR, line[0])

    def test_hang_leads_to_tcg_within_the_deadline(self):
        self.fake("hangs")
        chosen, seconds, _ = self.choose()
        self.assertEqual(chosen.name, "tcg")
        self.assertIn("the kernel printed nothing within 2 s",
                      chosen.reason)
        n = len(accel.KVM_CANDIDATES)
        self.assertEqual(len(self.calls()), n)
        self.assertLess(seconds, n * DEADLINE + 3)

    def test_first_configuration_that_boots_is_used(self):
        self.fake("second_boots")
        chosen, _, _ = self.choose()
        self.assertEqual((chosen.name, chosen.cpu),
                         ("kvm", "host,-arch-capabilities"))
        self.assertIn("-cpu host: QEMU exited -6", chosen.reason)
        self.assertEqual(chosen.qemu_args(),
                         ["-accel", "kvm", "-cpu", "host,-arch-capabilities"])

    def test_verdict_is_cached_for_the_machine_and_kernel(self):
        self.fake("aborts")
        self.choose()
        self.assertEqual(len(self.calls()), len(accel.KVM_CANDIDATES))
        chosen, _, _ = self.choose()  # a new odplab process, in effect
        self.assertEqual(chosen.name, "tcg")
        self.assertEqual(len(self.calls()), len(accel.KVM_CANDIDATES))
        self.bzimage.write_bytes(b"another kernel")
        self.choose()
        self.assertEqual(len(self.calls()), 2 * len(accel.KVM_CANDIDATES))

    def test_once_per_process(self):
        self.fake("aborts")
        self.choose()
        other = self.bzimage.with_name("bzImage2")
        other.write_bytes(b"the patched kernel")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(accel.choose(other).name, "tcg")
        self.assertEqual(out.getvalue(), "")
        self.assertEqual(len(self.calls()), len(accel.KVM_CANDIDATES))

    def test_kvm_asked_for_and_unusable_is_an_error(self):
        self.fake("aborts")
        with self.assertRaises(LabError) as e:
            self.choose("kvm")
        self.assertIn(MSR_ERROR, str(e.exception))
        self.assertIn("--accel tcg", str(e.exception))

    def test_kvm_asked_for_without_device_is_an_error(self):
        self.fake("second_boots")
        self.kvm.unlink()
        with self.assertRaises(LabError) as e:
            self.choose("kvm")
        self.assertIn(f"no {self.kvm}", str(e.exception))
        self.assertEqual(self.calls(), [])

    def test_no_device_is_tcg_without_a_probe(self):
        self.fake("second_boots")
        self.kvm.unlink()
        chosen, _, _ = self.choose()
        self.assertEqual(chosen.name, "tcg")
        self.assertIn(f"no {self.kvm}", chosen.reason)
        self.assertEqual(self.calls(), [])

    def test_tcg_asked_for_probes_nothing(self):
        self.fake("second_boots")
        chosen, _, _ = self.choose("tcg")
        self.assertEqual(chosen.qemu_args(),
                         ["-accel", "tcg", "-cpu", accel.TCG_CPU])
        self.assertEqual(self.calls(), [])

    def test_environment_variable_overrides(self):
        self.fake("second_boots")
        with mock.patch.dict(os.environ, {accel.ENV: "tcg"}):
            chosen, _, _ = self.choose()
        self.assertEqual(chosen.name, "tcg")
        self.assertEqual(self.calls(), [])

    def test_bad_request_names_the_choices(self):
        with self.assertRaises(LabError) as e:
            accel.set_request("kmv")
        self.assertIn("auto, kvm, tcg", str(e.exception))
        with mock.patch.dict(os.environ, {accel.ENV: "KVM"}), \
                self.assertRaises(LabError):
            accel.set_request(None)

    def test_bad_deadline_is_an_error(self):
        self.fake("aborts")
        with mock.patch.dict(os.environ, {accel.PROBE_ENV: "soon"}), \
                self.assertRaises(LabError) as e:
            self.choose()
        self.assertIn(accel.PROBE_ENV, str(e.exception))


if __name__ == "__main__":
    unittest.main()
