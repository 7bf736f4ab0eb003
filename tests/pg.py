"""A throwaway PostgreSQL cluster for the test run: ``initdb`` + ``pg_ctl`` in a temporary folder
on a free loopback port (Debian's ``postgresql`` package; no system service), stopped at the end.
Each test gets its own database, cloned from a migrated template with ``CREATE DATABASE … TEMPLATE``."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PG_USER = "postgres"


def bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian package 'postgresql'): make test installs it")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@dataclass
class Cluster:
    folder: Path
    port: int = 0
    owner: str | None = None  # the OS user running the server (postgres refuses root)
    _n: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def start(self) -> Cluster:
        bins = bindir()
        data, sock = self.folder / "data", self.folder / "sock"
        sock.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.owner = PG_USER
            pw = pwd.getpwnam(PG_USER)
            for p in (self.folder, sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        subprocess.run(_as_owner([str(bins / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
                                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], self.owner),
                       check=True, capture_output=True)
        self.port = _free_port()
        opts = (f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB")
        subprocess.run(_as_owner([str(bins / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                                  str(self.folder / "server.log"), "-w", "-t", "60", "start"], self.owner),
                       check=True, capture_output=True)
        return self

    def stop(self) -> None:
        subprocess.run(_as_owner([str(bindir() / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                                  "stop"], self.owner), capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{db}"

    def dsn(self, db: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{db}"

    async def create(self, name: str, template: str | None = None) -> str:
        import asyncpg

        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        finally:
            await conn.close()
        return self.url(name)

    async def clone(self, template: str) -> tuple[str, str]:
        name = f"t{next(self._n)}"
        return name, await self.create(name, template)

    async def drop(self, name: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
