# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""clang-tidy over the project's C++ sources, one process per file, that
does not run it again on a file whose clean result it has seen.

A file's result depends on every byte the compiler reads for it, the
flags, .clang-tidy and clang-tidy itself. The key of a clean result is a
SHA-256 over those: the file's preprocessed text (`-E -P`, which holds
every header it includes, the project's and the system's), its compile
flags with the source and build directories replaced by placeholders (so
that two clones share results), the .clang-tidy file and `clang-tidy
--version`. Only clean results are kept, under $IBODP_CACHE/tidy: a file
with findings runs every time, and its findings are printed as
clang-tidy printed them.

Usage: python3 -m odplab.tidy --build-dir BUILD [--jobs N] FILE...
"""

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import PROJECT_ROOT, cache_dir


def compile_commands(build_dir):
    """{absolute source path: (directory, argv)} from compile_commands.json."""
    db_path = Path(build_dir) / "compile_commands.json"
    try:
        entries = json.loads(db_path.read_text())
    except OSError as e:
        raise SystemExit(f"tidy: cannot read {db_path} ({e.strerror}): "
                         "configure the build with "
                         "CMAKE_EXPORT_COMPILE_COMMANDS=ON") from e
    out = {}
    for e in entries:
        argv = e.get("arguments") or shlex.split(e["command"])
        path = Path(e["directory"], e["file"]).resolve()
        out[str(path)] = (e["directory"], argv)
    return out


def preprocess_argv(argv):
    """The compile command turned into one that writes the preprocessed
    source, without line markers, to standard output."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    return out + ["-E", "-P", "-o", "-"]


def normalised_flags(argv, source, root, build_dir):
    flags = [a for a in preprocess_argv(argv) if a != source]
    return [a.replace(str(build_dir), "<build>").replace(str(root), "<root>")
            for a in flags]


def result_key(source, directory, argv, root, build_dir, salt):
    """The SHA-256 that names source's clean result, or None when the
    compiler cannot preprocess it (clang-tidy will say why)."""
    proc = subprocess.run(preprocess_argv(argv), cwd=directory,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        return None
    h = hashlib.sha256()
    h.update(salt)
    rel = os.path.relpath(source, root)
    for part in [rel, *normalised_flags(argv, source, root, build_dir)]:
        h.update(part.encode() + b"\0")
    # __FILE__ expands to the source's absolute path.
    h.update(proc.stdout.replace(str(root).encode(), b"<root>"))
    return h.hexdigest()


def salt_of(clang_tidy, root):
    version = subprocess.run([clang_tidy, "--version"], capture_output=True,
                             text=True, check=True).stdout
    config = (Path(root) / ".clang-tidy").read_bytes()
    return version.encode() + b"\0" + config + b"\0"


def run(files, build_dir, clang_tidy="clang-tidy", jobs=2, store=None,
        root=PROJECT_ROOT, out=sys.stdout):
    """Runs clang-tidy on each file not known clean; returns the number of
    files with findings (or that clang-tidy could not check)."""
    build_dir = Path(build_dir).resolve()
    store = Path(store) if store else cache_dir() / "tidy"
    store.mkdir(parents=True, exist_ok=True)
    db = compile_commands(build_dir)
    salt = salt_of(clang_tidy, root)
    start = time.monotonic()

    def one(f):
        source = str(Path(f).resolve())
        if source not in db:
            return source, False, (f"{source}: not in {build_dir}/"
                                   "compile_commands.json: no target "
                                   "compiles it\n"), False
        directory, argv = db[source]
        key = result_key(source, directory, argv, root, build_dir, salt)
        mark = store / key if key else None
        if mark and mark.exists():
            return source, True, "", True
        proc = subprocess.run([clang_tidy, "-p", str(build_dir), "--quiet",
                               source], capture_output=True, text=True,
                              check=False)
        clean = proc.returncode == 0
        if clean and mark:
            mark.write_text(source + "\n")
        text = proc.stdout + "".join(
            line + "\n" for line in proc.stderr.splitlines()
            if not line.endswith("warnings generated.")
            and not line.endswith("warning generated."))
        return source, clean, text, False

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, files))
    dirty = [r for r in results if not r[1]]
    for _, _, text, _ in dirty:
        out.write(text)
    cached = sum(1 for r in results if r[3])
    print(f"tidy: {len(results)} files, {cached} clean from the cache, "
          f"{len(results) - cached} checked, {len(dirty)} with findings, "
          f"{time.monotonic() - start:.0f} s", file=out)
    return len(dirty)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m odplab.tidy")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--clang-tidy", default="clang-tidy")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    return 1 if run(args.files, args.build_dir, args.clang_tidy,
                    args.jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
