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

from odplab import accel, kernel, reflat, vm
from odplab.common import LabError

MSR_ERROR = "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"

# The kernel's own lines (kernel/exit.c) for init exiting 0 and 1.
BOOTED = ("Kernel panic - not syncing: Attempted to kill init! "
          "exitcode=0x00000000")
INIT_FAILED = ("Kernel panic - not syncing: Attempted to kill init! "
               "exitcode=0x00000100")

# Every fake answers --version and appends its -cpu value to calls.log.
PROLOGUE = """#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "--version" ]; then
  v=$(cat "$here/version" 2>/dev/null || echo 10.0.2)
  echo "QEMU emulator version $v (fake)"
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
    # a CPU model that passes SeaBIOS, then the kernel prints nothing; a
    # child of QEMU's must go with it
    "hangs": PROLOGUE + """echo "SeaBIOS (version fake)" > "$serial"
sleep 600 &
echo $! > "$here/child.pid"
wait
""",
    # -cpu host aborts; without arch-capabilities the kernel boots
    "second_boots": PROLOGUE + f"""case "$cpu" in
  host) echo "{MSR_ERROR}" >&2; kill -ABRT $$ ;;
esac
{{ echo "[    0.000000] Linux version 7.3.4 (fake)"
  echo "[    0.912345] {BOOTED}"; }} > "$serial"
exit 0
""",
    # the kernel runs and fails by itself: init exits 1
    "init_fails": PROLOGUE + f"""{{ echo "[    0.000000] Linux version 7.3.4"
  echo "[    0.912345] {INIT_FAILED}"; }} > "$serial"
exit 0
""",
}

DEADLINE = 2.0


def _alive(pid):
    """Whether pid runs (a zombie waiting for init to reap it does not)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"


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
        accel.reset()

    def tearDown(self):
        for p in reversed(self.patches):
            p.stop()
        accel.reset()
        self.tmp.cleanup()

    def fake(self, kind):
        path = self.bin / "qemu-system-x86_64"
        path.write_text(FAKES[kind])
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def calls(self):
        log = self.bin / "calls.log"
        return log.read_text().split() if log.exists() else []

    def choose(self, request=None):
        """accel.choose as a new odplab process would call it."""
        accel.reset()
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
        child = int((self.bin / "child.pid").read_text())
        # The probe SIGKILLs QEMU's process group and reaps QEMU alone: the
        # signal reaches the child at once, but the child may take a moment
        # to be scheduled and die (one failure in a fresh-clone run, 2026-12-04).
        gone_by = time.monotonic() + 5
        while _alive(child) and time.monotonic() < gone_by:
            time.sleep(0.05)
        self.assertFalse(_alive(child), "the hung QEMU's child survived")

    def test_first_configuration_that_boots_is_used(self):
        self.fake("second_boots")
        chosen, _, _ = self.choose()
        self.assertEqual((chosen.name, chosen.cpu),
                         ("kvm", "host,-arch-capabilities"))
        self.assertIn("-cpu host: QEMU exited -6", chosen.reason)
        self.assertEqual(chosen.qemu_args(),
                         ["-accel", "kvm", "-cpu", "host,-arch-capabilities"])

    def test_verdict_is_cached_for_the_machine(self):
        self.fake("aborts")
        n = len(accel.KVM_CANDIDATES)
        self.choose()
        self.assertEqual(len(self.calls()), n)
        self.bzimage.write_bytes(b"another kernel")
        chosen, _, out = self.choose()
        self.assertEqual(chosen.name, "tcg")
        self.assertIn(MSR_ERROR, chosen.reason)
        self.assertIn("cached for this machine", out)
        self.assertEqual(len(self.calls()), n)
        (self.bin / "version").write_text("10.1.0")  # QEMU upgraded
        self.choose()
        self.assertEqual(len(self.calls()), 2 * n)

    def test_kernel_failing_by_itself_is_not_cached(self):
        self.fake("init_fails")
        chosen, _, _ = self.choose()
        self.assertEqual(chosen.name, "tcg")
        self.assertIn("failed before userspace: [    0.912345] "
                      + INIT_FAILED, chosen.reason)
        self.assertFalse((self.cache / "accel").exists())

    def test_kvm_asked_for_probes_past_a_cached_no(self):
        self.fake("aborts")
        self.choose()
        self.fake("second_boots")  # the hypervisor was fixed
        chosen, _, _ = self.choose("kvm")
        self.assertEqual(chosen.name, "kvm")
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

    def test_tcg_under_a_qemu_that_runs_stale_code_is_refused(self):
        self.fake("second_boots")
        (self.bin / "version").write_text("7.2.22 (Debian 1:7.2+dfsg-7)")
        with self.assertRaises(LabError) as e:
            self.choose("tcg")
        self.assertIn("version 7.2.22 (Debian 1:7.2+dfsg-7)",
                      str(e.exception))
        self.assertIn("Oops: int3", str(e.exception))
        self.assertIn("./odplab setup", str(e.exception))

    def test_kvm_under_an_old_qemu_is_chosen(self):
        self.fake("second_boots")
        (self.bin / "version").write_text("7.2.22")
        chosen, _, _ = self.choose()
        self.assertEqual(chosen.qemu_args(),
                         ["-accel", "kvm", "-cpu", "host,-arch-capabilities"])

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
        for bad in ("soon", "0", "nan", "inf"):
            with mock.patch.dict(os.environ, {accel.PROBE_ENV: bad}), \
                    self.assertRaises(LabError, msg=bad) as e:
                self.choose()
            self.assertIn(accel.PROBE_ENV, str(e.exception))

    def test_bad_request_does_not_stop_commands_that_boot_nothing(self):
        from odplab import cli  # pylint: disable=import-outside-toplevel
        with mock.patch.dict(os.environ, {accel.ENV: "kmv"}), \
                contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(cli.main(["compare", "/nonexistent/a.json",
                                       "/nonexistent/b.json"]), 2)
            self.assertIn("no such report", err.getvalue())
            self.assertEqual(cli.main(["vm", "run", "--", "true"]), 2)
            self.assertIn("'kmv'", err.getvalue())


class GuestCommand(unittest.TestCase):
    """The chosen accelerator's arguments reach QEMU, and the TSC
    arguments that keep a TCG guest off jiffies go to TCG guests only."""

    def command(self, chosen):
        kern = kernel.Kernel(Path("/k"), {"kernelrelease": "7.3.4"})
        with mock.patch.object(vm, "host_tsc_khz", lambda: 2994000):
            cmd = vm.qemu_command(kern, Path("/out"), "pristine", ["/p"],
                                  vm.VmOptions(), chosen)
        return cmd, cmd[cmd.index("-append") + 1].split()

    def test_tcg_gets_the_tsc_arguments(self):
        cmd, append = self.command(accel.Accel("tcg", "qemu64", "test"))
        self.assertEqual(cmd[1:5], ["-accel", "tcg", "-cpu", "qemu64"])
        self.assertIn("tsc=reliable", append)
        self.assertIn("tsc_early_khz=2994000", append)

    def test_kvm_gets_its_cpu_and_no_tsc_arguments(self):
        cmd, append = self.command(accel.Accel("kvm", "host", "test"))
        self.assertEqual(cmd[1:5], ["-accel", "kvm", "-cpu", "host"])
        self.assertFalse([a for a in append if a.startswith("tsc")])

    def test_the_guest_command_exports_what_it_runs_under(self):
        chosen = accel.Accel("tcg", "qemu64", "test")
        with tempfile.TemporaryDirectory() as d:
            vm._write_command(  # pylint: disable=protected-access
                Path(d), ["perftest"], "/", vm.guest_context_env(chosen))
            script = (Path(d) / "command.sh").read_text()
        self.assertIn("export IBODP_CONTEXT_ACCELERATOR=tcg\n", script)
        self.assertIn("export IBODP_CONTEXT_QEMU_CPU=qemu64\n", script)
        # The kernel's tick rate, from its build's config, when known.
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "config").write_text("CONFIG_X=y\nCONFIG_HZ=250\n")
            env = vm.guest_context_env(chosen, kernel.Kernel(Path(d), {}))
            self.assertEqual(env["IBODP_CONTEXT_KERNEL_HZ"], "250")
            self.assertNotIn("IBODP_CONTEXT_KERNEL_HZ", vm.guest_context_env(
                chosen, kernel.Kernel(Path(d) / "none", {})))
        # reflat (run in the guest) reads them back as perftest does
        env = {"IBODP_CONTEXT_ACCELERATOR": "tcg", "IBODP_CONTEXT_": "x",
               "IBODP_CONTEXT_QEMU_CPU": "qemu64", "PATH": "/bin"}
        self.assertEqual(reflat.context_from_environment(env),
                         {"accelerator": "tcg", "qemu_cpu": "qemu64"})


if __name__ == "__main__":
    unittest.main()


class TcgSafe(unittest.TestCase):
    """Which QEMU versions' multi-threaded TCG the lab runs under."""

    def test_versions_before_the_fix_are_not(self):
        for v in ("7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)", "8.1.0",
                  "9.0.1", "9.0"):
            with self.subTest(v):
                self.assertFalse(
                    accel.tcg_safe(f"QEMU emulator version {v}"))

    def test_versions_with_the_fix_are(self):
        for v in ("9.0.2", "9.1.0", "10.0.2 (Debian 1:10.0.2+ds-2~bpo12+1)"):
            with self.subTest(v):
                self.assertTrue(
                    accel.tcg_safe(f"QEMU emulator version {v}"))

    def test_an_unparsed_version_is_not(self):
        self.assertFalse(accel.tcg_safe("qemu, some build"))

    def test_release_is_major_minor_micro(self):
        self.assertEqual(accel.release(
            "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2~bpo12+1)"),
            "10.0.2")
        self.assertEqual(accel.release("QEMU emulator version 9.0"), "9.0.0")
        self.assertIsNone(accel.release("qemu, some build"))
