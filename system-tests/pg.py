"""A throwaway PostgreSQL server for the tests: initdb in a temporary directory, pg_ctl on a free
loopback port (as the `postgres` user when the tests run as root), removed afterwards."""
import glob, os, shutil, subprocess, tempfile

from support import free_port


def pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        raise SystemExit(f"{name} not found: install Debian's postgresql package")
    return candidates[-1]


class PostgresServer:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="delivery-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = free_port()
        self.user = "delivery"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.run(pg_bin("initdb"), "-D", self.data, "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-instructions")

    @property
    def url(self):
        return f"postgres://{self.user}@127.0.0.1:{self.port}/postgres"

    def run(self, *args, check=True):
        command = (["runuser", "-u", "postgres", "--"] if self.as_root else []) + list(args)
        out = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {out.stdout[-500:]} {out.stderr[-1000:]}")
        return out

    def start(self):
        self.run(pg_bin("pg_ctl"), "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-t", "60", "-o",
                 f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=on -c synchronous_commit=on", "start")

    def stop(self, mode="fast"):
        self.run(pg_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def sql(self, statement):
        """One statement through psql; its rows as lists of text."""
        out = self.run(pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres",
                       "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", statement)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
