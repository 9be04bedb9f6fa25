"""A real PostgreSQL server of the project's own on loopback, from Debian's packages.

Stdlib only. Installs PostgreSQL with apt when it is missing (as root), initialises a cluster in a
directory of ours, and runs it as an unprivileged user (PostgreSQL refuses to run as root).
    python deploy/postgres/pg.py install
    python deploy/postgres/pg.py run --port 5432 --data-dir var/postgres
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_AS = "postgres"  # created by Debian's package; we create one when absent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _find_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def ensure_installed() -> Path:
    """The PostgreSQL bin directory, installing Debian's ``postgresql`` package when absent."""
    bindir = _find_bin()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0:
        raise RuntimeError(
            "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env)
    bindir = _find_bin()
    if bindir is None:
        raise RuntimeError("apt-get installed postgresql but pg_ctl is still not found")
    return bindir


def _ensure_user() -> str:
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", RUN_AS], check=True)
    return RUN_AS


class PostgresServer:
    def __init__(self) -> None:
        self.port = 0
        self.data_dir: Path | None = None
        self._owns_data_dir = False
        self.bindir: Path | None = None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", _ensure_user(), "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check)

    def _tool(self, name: str) -> str:
        assert self.bindir is not None
        return str(self.bindir / name)

    def start(
        self,
        port: int | None = None,
        data_dir: Path | None = None,
        timeout: float = 60,
        *,
        durable: bool = False,
    ) -> None:
        """Start the server; unless ``durable``, without fsync (tests need no crash safety and
        run faster; a benchmark of the production store must not skip it)."""
        self.bindir = ensure_installed()
        self.port = port or _free_port()
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="pg-"))
        cluster = self.data_dir / "cluster"
        cluster.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = _ensure_user()
            shutil.chown(self.data_dir, user)
            shutil.chown(cluster, user)
            os.chmod(self.data_dir, 0o755)
        cluster.chmod(0o700)
        if not (cluster / "PG_VERSION").exists():
            self._run(
                self._tool("initdb"),
                "-D",
                str(cluster),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--encoding",
                "UTF8",
                "--no-locale",
            )
        options = f"-p {self.port} -k {cluster} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        started = self._run(
            self._tool("pg_ctl"),
            "-D",
            str(cluster),
            "-o",
            options,
            "-l",
            str(cluster / "server.log"),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
            check=False,
        )
        if started.returncode != 0:
            log = (cluster / "server.log").read_text() if (cluster / "server.log").exists() else ""
            raise RuntimeError(f"postgres did not start:\n{started.stdout}{started.stderr}\n{log[-3000:]}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                self._tool("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr}")
        return result.stdout

    def create_database(self, name: str) -> None:
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():
            self.psql(f'CREATE DATABASE "{name}"')

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.data_dir is None or self.bindir is None:
            return
        self._run(
            self._tool("pg_ctl"),
            "-D",
            str(self.data_dir / "cluster"),
            "-m",
            "fast",
            "-w",
            "stop",
            check=False,
        )
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install PostgreSQL from Debian's packages when missing")
    run = sub.add_parser("run", help="run a server in the foreground until interrupted")
    run.add_argument("--port", type=int, default=5432)
    run.add_argument("--data-dir", type=Path, default=Path("var/postgres"))
    args = parser.parse_args()
    if args.command == "install":
        print(f"postgresql binaries in {ensure_installed()}")
        return
    server = PostgresServer()
    server.start(port=args.port, data_dir=args.data_dir.resolve())
    print(f"postgres ready on 127.0.0.1:{server.port}", flush=True)

    def stop(_signum: int, _frame: object) -> None:
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
