#!/usr/bin/env python3
"""`make install` as a user runs it, into a temporary prefix: the executables run from there, the
man pages render, and the shell completions load in bash (and are there for zsh and fish)."""
import os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, Tally  # noqa: E402

check = Tally()


def main():
    prefix = tempfile.mkdtemp(prefix="delivery-install-")
    made = subprocess.run(["make", "-C", ROOT, "install", f"PREFIX={prefix}", f"CONFIG={os.environ.get('CONFIG', 'release')}"],
                          capture_output=True, text=True, timeout=1800)
    check("make install succeeds", made.returncode == 0, made.stdout[-1500:] + made.stderr[-1500:])
    for exe in ("delivery-ingest", "delivery-aggregate", "delivery-query", "delivery-web", "deliveries"):
        path = os.path.join(prefix, "bin", exe)
        ran = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
        check(f"{exe} runs from the prefix", ran.returncode == 0 and "USAGE" in ran.stdout.upper(), ran.stderr[-300:])
        page = os.path.join(prefix, "share", "man", "man1", exe + ".1")
        check(f"{exe}.1 is installed", os.path.exists(page))
        if shutil.which("man") and os.path.exists(page):
            shown = subprocess.run(["man", "-l", page], capture_output=True, text=True, timeout=30, env=dict(os.environ, MANPAGER="cat", PAGER="cat"))
            check(f"{exe}.1 renders", shown.returncode == 0 and exe.upper() in shown.stdout.upper(), shown.stderr[-300:])
        elif os.path.exists(page):
            text = open(page).read()
            check(f"{exe}.1 is a man page", text.startswith(".") and ".TH" in text.upper() or ".Dt" in text)
    bash = os.path.join(prefix, "share", "bash-completion", "completions", "deliveries")
    loaded = subprocess.run(["bash", "-c", f"source {bash} && complete -p deliveries"], capture_output=True, text=True, timeout=30)
    check("the bash completion loads and registers for deliveries", loaded.returncode == 0 and "deliveries" in loaded.stdout, loaded.stderr)
    for path in ("share/zsh/site-functions/_deliveries", "share/fish/vendor_completions.d/deliveries.fish"):
        full = os.path.join(prefix, path)
        check(f"{path} is installed", os.path.exists(full) and "deliveries" in open(full).read())
    if not check.failed:
        shutil.rmtree(prefix, ignore_errors=True)
    else:
        print(f"installed tree kept in {prefix}", file=sys.stderr)
    print(check.summary())
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
