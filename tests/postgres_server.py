"""A PostgreSQL server with PostGIS for the tests: Debian's packages, started on loopback in a
temporary folder by the first test that needs it and stopped at the end of the run.

PostgreSQL refuses to run as root; a test run as root (CI, this machine) starts it as the
``postgres`` user Debian's package creates. Each test gets a database of its own, copied from a
template that already has PostGIS (``CREATE DATABASE … TEMPLATE``: a few tens of milliseconds).
"""

from __future__ import annotations

import getpass
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

TEMPLATE = "reseaux_modele"


def postgres_bin() -> Path | None:
    """The newest installed server's programs (``/usr/lib/postgresql/<n>/bin``), None if none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """``with PostgresServer() as server: server.new_database("t1")`` → a connection URL."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL n'est pas installé (make system-deps installe postgresql et postgis)")
        self.root = Path(tempfile.mkdtemp(prefix="reseaux-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else getpass.getuser()
        self.count = 0

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, **kwargs)
        if done.returncode:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} : code {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}\n{tail}"
            )
        return done

    def __enter__(self) -> PostgresServer:
        if self.as_root:
            shutil.chown(self.root, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-t",
            "120",
            "-l",
            str(self.root / "log"),
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
            "start",
        )
        self.sql("postgres", f"CREATE DATABASE {TEMPLATE}")
        self.sql(TEMPLATE, "CREATE EXTENSION postgis")
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as connection:
            connection.execute(statement)

    def new_database(self, name: str | None = None) -> str:
        """A fresh database with PostGIS; its URL."""
        self.count += 1
        name = name or f"essai_{self.count}"
        self.sql("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def __exit__(self, *exc) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
