"""What the Python tests share: a tally of checks, and a free loopback port."""
import os, socket, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tally:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def __call__(self, name, condition, detail=""):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}", file=sys.stderr)

    def summary(self):
        return f"{self.passed} passed, {self.failed} failed"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def finish(procs, ctx, work, check):
    """Stops the services with SIGTERM (each must exit 0), closes the context, keeps the logs of a
    failed run and removes those of a passed one; returns the exit status for the test."""
    import shutil, signal, subprocess
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            check("clean exit on SIGTERM", proc.wait(timeout=10) == 0)
        except subprocess.TimeoutExpired:
            proc.kill()
            check("clean exit on SIGTERM", False, "timed out")
    ctx.destroy(linger=0)
    if check.failed:
        print(f"logs in {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(check.summary())
    return 1 if check.failed else 0
