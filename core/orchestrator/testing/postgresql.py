"""A real, throw-away PostgreSQL server for tests: ``initdb`` into a temporary directory, then
``pg_ctl start`` on a free port of 127.0.0.1, its unix socket in that directory too. The test kit's
``postgresql_server`` fixture starts one per test session; :func:`start_server` is the same outside
pytest.

It needs the server binaries (``initdb``, ``pg_ctl``): on PATH, or where Debian's ``postgresql``
package puts them (``/usr/lib/postgresql/N/bin``). PostgreSQL refuses to run as root, so as root
the server runs as the ``postgres`` system user (the Debian package creates it) through
``runuser``, and the directory is handed to that user. Connecting (``connect``, ``create_schema``,
``create_database``) needs psycopg 3 (``pip install 'psycopg[binary]'``).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PostgresServer", "find_binaries", "free_port", "start_server"]

INSTALL = "apt-get install -y postgresql"
USER = "orchestrator"


def find_binaries() -> Path:
    """The directory holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin
    (the newest), which the Debian package does not put on PATH. LookupError when neither."""
    on_path = [shutil.which("initdb"), shutil.which("pg_ctl")]
    if all(on_path):
        return Path(on_path[0]).resolve().parent  # type: ignore[arg-type]
    candidates = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise LookupError(
            "the PostgreSQL server binaries (initdb, pg_ctl) are neither on PATH nor under "
            f"/usr/lib/postgresql/*/bin; install them (Debian: {INSTALL}) to run these tests"
        )
    return candidates[-1]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    """One running server; ``url()`` is a libpq (and SQLAlchemy) URL with the password in it."""

    bin_dir: Path
    root: Path
    port: int
    password: str
    as_user: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, schema: str | None = None, *, database: str = "postgres", password: str | None = None, port: int | None = None) -> str:
        """A URL of the server's ``database``; with ``schema``, connections work in that schema.
        ``password`` and ``port`` replace the real ones (to show a URL masked, or to get one that fails)."""
        secret = self.password if password is None else password
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql://{USER}:{secret}@127.0.0.1:{port or self.port}/{database}{options}"

    def connect(self, schema: str | None = None, *, database: str = "postgres") -> Any:
        """A psycopg connection (autocommit) of the test's own, to set up and check data."""
        import psycopg

        return psycopg.connect(self.url(schema, database=database), autocommit=True)

    def create_schema(self, name: str) -> str:
        """A schema for one test: far cheaper than a database (CREATE DATABASE takes most of a second)."""
        with self.connect() as connection:
            connection.execute(f'CREATE SCHEMA "{name}"')
        return name

    def create_database(self, name: str) -> str:
        """A database of its own, for what a schema does not separate."""
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def start(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._chown()
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def log(self) -> str:
        """The end of the server's log, for a failure message."""
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{self.log()}")

    def _chown(self) -> None:
        if self.as_user:
            user = pwd.getpwnam(self.as_user)
            for path in [self.root, *self.root.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)


def start_server() -> PostgresServer:
    """Start a fresh server; the caller stops it and removes ``root``. LookupError when the
    binaries (or, as root, the ``postgres`` user) are missing, saying what to install."""
    bin_dir = find_binaries()
    as_user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise LookupError(f"running as root, the server is started as the 'postgres' user, which does not exist; {INSTALL} creates it") from None
        as_user = "postgres"
    # not under pytest's basetemp: that is private to root, and the server runs as postgres
    root = Path(tempfile.mkdtemp(prefix="orchestrator-pg-"))
    server = PostgresServer(bin_dir, root, free_port(), secrets.token_urlsafe(12), as_user)
    try:
        server.start()
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
