# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""deps.ensure_qemu: an old QEMU is replaced from the release's backports,
through a private sources list."""

import os
import stat
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from odplab import accel, deps
from odplab.common import LabError

QEMU = """#!/bin/sh
echo "QEMU emulator version $(cat "$(dirname "$0")/version") (fake)"
"""
# Records its arguments; "install" puts in the version the fake backports
# carry.
APT_GET = """#!/bin/sh
here=$(dirname "$0")
echo "$*" >> "$here/apt.log"
case "$*" in *" install "*) cat "$here/backports" > "$here/version" ;; esac
"""


class EnsureQemu(unittest.TestCase):
    def setUp(self):
        d = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.root = d
        self.bin = d / "bin"
        self.bin.mkdir()
        for name, text in (("qemu-system-x86_64", QEMU), ("apt-get", APT_GET)):
            path = self.bin / name
            path.write_text(text)
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        self.enterContext(mock.patch.dict(os.environ, {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "IBODP_CACHE": str(d / "cache")}))
        self.enterContext(mock.patch.object(deps, "is_root",
                                            return_value=True))
        self.enterContext(mock.patch.object(deps, "os_codename",
                                            return_value="bookworm"))
        accel.reset()
        self.addCleanup(accel.reset)

    def versions(self, installed, backports):
        (self.bin / "version").write_text(installed)
        (self.bin / "backports").write_text(backports)

    def apt_calls(self):
        log = self.bin / "apt.log"
        return log.read_text().splitlines() if log.exists() else []

    def test_a_fixed_qemu_is_left_alone(self):
        self.versions("9.0.2", "10.0.2")
        deps.ensure_qemu()
        self.assertEqual(self.apt_calls(), [])

    def test_an_old_qemu_is_replaced_from_backports(self):
        self.versions("7.2.22", "10.0.2")
        deps.ensure_qemu()
        update, install = self.apt_calls()
        self.assertIn("Dir::Etc::SourceList=", update)
        self.assertTrue(update.endswith("update"), update)
        self.assertTrue(install.endswith(
            "install -y -q --no-install-recommends "
            "qemu-system-x86/bookworm-backports"), install)
        sources = next((self.root / "cache" / "apt").glob(
            "*/ibodp.sources")).read_text()
        self.assertIn("Suites: bookworm bookworm-updates bookworm-backports",
                      sources)
        self.assertTrue(accel.tcg_safe(accel.qemu_version()))

    def test_backports_that_are_still_old_are_an_error(self):
        self.versions("7.2.22", "8.2.2")
        with self.assertRaises(LabError) as e:
            deps.ensure_qemu()
        self.assertIn("from bookworm-backports is QEMU emulator version "
                      "8.2.2 (fake), still older than 9.0.2", str(e.exception))

    def test_without_root_it_says_what_to_run(self):
        self.versions("7.2.22", "10.0.2")
        with mock.patch.object(deps, "is_root", return_value=False), \
                self.assertRaises(LabError) as e:
            deps.ensure_qemu()
        self.assertIn("apt-get install -t bookworm-backports qemu-system-x86",
                      str(e.exception))
        self.assertEqual(self.apt_calls(), [])


class OsCodename(unittest.TestCase):
    def test_reads_the_code_name(self):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "os-release"
            path.write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
                            'VERSION_CODENAME=bookworm\n')
            self.assertEqual(deps.os_codename(path), "bookworm")
            path.write_text("ID=debian\n")
            self.assertIsNone(deps.os_codename(path))
