#!/usr/bin/env python3
"""Rewrites the outputs of the docs' checked examples from the updater binary.

A fenced code block after a `<!-- checked -->` line holds a command (`$ updater ...`, a trailing
backslash continues it) and its output; a block after `<!-- file: NAME -->` is an input file the
commands read. Each document's commands run in a scratch directory holding its files and a link
to `Jobs/`. DocExamplesTests (make test) fails when an output differs; run this after a deliberate
change of output, then read the diff:

    python3 scripts/docs/update_examples.py [--bin .build/debug/updater] [FILE.md ...]
"""
import argparse
import os
import pathlib
import shlex
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def blocks(lines):
    """(marker, start, end) for each fenced block: lines[start+1:end] is its body."""
    marker, start = None, None
    out = []
    for i, line in enumerate(lines):
        if line.startswith("```"):
            if start is None:
                start = i
                current = marker
            else:
                out.append((current, start, i))
                start = None
            marker = None
            continue
        if start is None:
            if line.startswith("<!-- ") and line.endswith(" -->"):
                marker = line[5:-4]
            elif line.strip():
                marker = None
    return out


def command_lines(body):
    n = 1
    while body[n - 1].endswith("\\"):
        n += 1
    return n


def update(path, binary):
    lines = path.read_text().split("\n")
    found = blocks(lines)
    if not any(m == "checked" for m, _, _ in found):
        return False
    changed = False
    with tempfile.TemporaryDirectory() as scratch:
        os.symlink(ROOT / "Jobs", os.path.join(scratch, "Jobs"))
        for marker, start, end in found:
            if marker and marker.startswith("file: "):
                pathlib.Path(scratch, marker[6:]).write_text("\n".join(lines[start + 1:end]) + "\n")
        # From the last block up, so earlier indexes stay valid.
        for marker, start, end in reversed(found):
            if marker != "checked":
                continue
            body = lines[start + 1:end]
            n = command_lines(body)
            text = " ".join(l.rstrip("\\").strip() for l in body[:n])
            assert text.startswith("$ updater "), f"{path}:{start + 2}: a checked block starts with $ updater"
            argv = shlex.split(text[2:], comments=True)
            env = {k: v for k, v in os.environ.items() if k not in ("UPDATER_STATE_DIR", "STATE_DIRECTORY")}
            env["COLUMNS"] = "1000"
            r = subprocess.run([binary] + argv[1:], cwd=scratch, capture_output=True, text=True, env=env)
            output = (r.stdout + r.stderr).strip("\n").split("\n")
            if body[n:] != output:
                lines[start + 1 + n:end] = output
                changed = True
    if changed:
        path.write_text("\n".join(lines))
        print(f"updated {path.relative_to(ROOT)}")
    return changed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build/debug/updater"))
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    files = [pathlib.Path(f).resolve() for f in args.files] or [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    for f in files:
        update(f, args.bin)


if __name__ == "__main__":
    main()
