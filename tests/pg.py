"""A real PostgreSQL server for the tests: one per test session, one fresh database per test.

``scripts/postgres.sh`` installs Debian's package when it is missing and starts
a throwaway cluster in a temporary directory on 127.0.0.1 (a free port,
password login); the session stops it at the end. A server that cannot be
installed or started FAILS the tests that need it, with the script's reason:
never a silent skip.

Test modules import the fixtures they use (named ``pg_server`` and ``pg_url``)::

    from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures

Both modules then share one server (``_SERVER``): pytest makes a session
fixture per importing module, so the server itself is a singleton.

Under pytest-xdist each worker is a process of its own, so each worker that
runs a team-mode test starts its own cluster (its own folder, a free port, its
pid as owner): nothing is shared between workers, and each database is made
per test anyway. A worker never sweeps another's cluster, since the owner pid
of a live worker answers ``os.kill(pid, 0)``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "postgres.sh"
DIR_PREFIX = "broadcaster-pg-"
PASSWORD_ENV = "BROADCASTER_TEST_PG_PASSWORD"  # what configs name as ${...} for the password


@dataclass
class PgServer:
    """A running cluster: superuser ``postgres`` with a password, on 127.0.0.1:port."""

    dir: Path
    port: int
    password: str

    def url(self, dbname: str = "postgres", *, password: bool = True) -> str:
        secret = f":{self.password}" if password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{dbname}"

    def config_url(self, dbname: str) -> str:
        """The URL as a config writes it: the password from the environment (``PASSWORD_ENV``)."""
        return f"postgresql://postgres:${{{PASSWORD_ENV}}}@127.0.0.1:{self.port}/{dbname}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_SERVER: PgServer | None = None
_FAILURE: str | None = None


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=600, check=False)


def _sweep_orphans() -> None:
    """Stop clusters an earlier session left running when it was killed (its owner pid is gone)."""
    for found in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        try:
            owner = int((found / "owner").read_text())
            os.kill(owner, 0)
            continue  # another live session's server
        except ProcessLookupError:
            pass
        except (OSError, ValueError):
            continue  # not ours to judge
        _script("stop", str(found))
        shutil.rmtree(found, ignore_errors=True)


def start_server() -> PgServer:
    """The session's server, started on first use; ``pytest.fail`` with the reason when it cannot be."""
    global _SERVER, _FAILURE
    if _SERVER is not None:
        return _SERVER
    if _FAILURE is not None:
        pytest.fail(_FAILURE, pytrace=False)
    _sweep_orphans()
    installed = _script("install")
    if installed.returncode != 0:
        _FAILURE = f"PostgreSQL could not be installed for the team-mode tests:\n{installed.stdout}{installed.stderr}"
        pytest.fail(_FAILURE, pytrace=False)
    where = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    (where / "owner").write_text(str(os.getpid()))
    started = _script("start", str(where))
    if started.returncode != 0:
        _FAILURE = f"PostgreSQL could not be started for the team-mode tests:\n{started.stdout}{started.stderr}"
        shutil.rmtree(where, ignore_errors=True)
        pytest.fail(_FAILURE, pytrace=False)
    _SERVER = PgServer(where, int((where / "port").read_text()), (where / "password").read_text())
    atexit.register(stop_server)  # a backstop: the session fixture stops it first
    return _SERVER


def stop_server() -> None:
    global _SERVER
    if _SERVER is None:
        return
    server, _SERVER = _SERVER, None
    _script("stop", str(server.dir))
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture(scope="session", name="pg_server")
def pg_server_fixture() -> Iterator[PgServer]:
    yield start_server()
    stop_server()


@pytest.fixture(name="pg_url")
def pg_url_fixture(pg_server: PgServer) -> Iterator[str]:
    """A URL (password included) to a fresh, empty database, dropped after the test."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)
