"""Throwaway PostgreSQL and Redis servers the suite starts for itself: free ports, temp dirs.

The suite never depends on a machine-wide service: each server here runs from Debian's
binaries in a temporary directory of its own, on a port the kernel found free, and is killed
with everything it started when the suite ends, however it ends (teardown, ``atexit``, and a
watchdog process for a suite killed outright).

All methods block (they start processes and wait for them): from a coroutine, call them
through ``asyncio.to_thread``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Final, Self

HOST: Final = "127.0.0.1"

# Debian installs each PostgreSQL major version's server binaries here (not on PATH).
DEBIAN_POSTGRES_BIN_DIRS: Final = Path("/usr/lib/postgresql")

# initdb and postgres refuse to run as root; as root they run as this system user, which
# Debian's postgresql-common package creates.
POSTGRES_SYSTEM_USER: Final = "postgres"

# Measured: initdb and a start take ~1.5 s on an idle 2-core machine; a start under the load of
# the whole suite (or the crash recovery after kill()) can take several times that.
START_TIMEOUT: Final = timedelta(seconds=60)
# A fast shutdown takes well under a second; past this the server is killed instead.
STOP_TIMEOUT: Final = timedelta(seconds=30)
# Readiness is polled this often while a server starts (a start takes hundreds of ms).
POLL_INTERVAL: Final = timedelta(milliseconds=50)
# Another process may take the free port between our probe and the server's bind: a first
# start tries this many ports before giving up.
PORT_ATTEMPTS: Final = 3
# Lines of a server's log quoted when it fails to start.
LOG_TAIL_LINES: Final = 20

# Runs beside each server; its stdin is a pipe from this process. Told "stopped" it exits;
# reading end-of-file instead means this process died without stopping the server (SIGKILL, a
# crash): it kills the server's whole process group ($1) and deletes its directory ($2).
WATCHDOG_SCRIPT: Final = (
    'read -r word; [ "$word" = stopped ] || { kill -KILL "-$1"; rm -rf "$2"; } 2>/dev/null'
)


class ServerError(RuntimeError):
    """A test server could not be set up, started or stopped; the message quotes its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server binaries: Debian's layout, else ``initdb`` on PATH.

    Raises:
        ServerError: No PostgreSQL server binaries are installed.

    """
    debian = sorted(
        (path.parent for path in DEBIAN_POSTGRES_BIN_DIRS.glob("*/bin/initdb")),
        key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1]
    on_path = shutil.which("initdb")
    if on_path is None:
        raise ServerError("PostgreSQL's server binaries not found: install Debian's postgresql")
    return Path(on_path).parent


class _Daemon:
    """A server process leading a process group of its own, and the watchdog of that group."""

    def __init__(self, argv: Sequence[str], log: Path, directory: Path) -> None:
        with log.open("ab") as out:
            # A session of its own: Ctrl-C at the terminal reaches pytest, whose teardown then
            # stops the server cleanly, rather than the server in the middle of a test.
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=directory, start_new_session=True,
            )  # fmt: skip
        self._watchdog = subprocess.Popen(
            ["sh", "-c", WATCHDOG_SCRIPT, "watchdog", str(self.process.pid), str(directory)],
            stdin=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, shutdown: signal.Signals) -> None:
        """Ask the server to shut down with ``shutdown``; kill its group if it takes too long."""
        if self.alive:
            self.process.send_signal(shutdown)
            try:
                self.process.wait(STOP_TIMEOUT.total_seconds())
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self._dismiss_watchdog()

    def kill(self) -> None:
        """Kill the server and every process it started at once, as a crash would."""
        # Once reaped, the group's id may belong to someone else: never signal it then.
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._dismiss_watchdog()

    def _dismiss_watchdog(self) -> None:
        stdin = self._watchdog.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                stdin.write(b"stopped\n")
            with contextlib.suppress(BrokenPipeError):
                stdin.close()
        self._watchdog.wait()


class _Server:
    """What both servers share: a temp dir, a port kept across restarts, a process, cleanup."""

    name: str
    shutdown_signal: signal.Signals

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix=f"voicedesk-{self.name}-"))
        self.log_file = self.directory / f"{self.name}.log"
        # Chosen at the first start, then kept: clients reconnect to the same address.
        self.port = 0
        self._daemon: _Daemon | None = None
        _unclosed.add(self)

    @property
    def running(self) -> bool:
        """Whether the server process is up (it may still be starting)."""
        return self._daemon is not None and self._daemon.alive

    def start(self) -> None:
        """Start the server (again) and return once it accepts connections.

        Raises:
            ServerError: It did not come up within ``START_TIMEOUT``; the log's tail says why.

        """
        if self.running:
            return
        if self.port:
            self._start_on(self.port)
            return
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._start_on(free_port())
            except ServerError:
                if attempt == PORT_ATTEMPTS:
                    raise
            else:
                return

    def stop(self) -> None:
        """Shut the server down cleanly, keeping its data and its port for :meth:`start`."""
        if self._daemon is not None:
            self._daemon.stop(self.shutdown_signal)

    def restart(self) -> None:
        """Stop the server, then start it again on the same port."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """Kill the server and its children at once (SIGKILL), as a crash would."""
        if self._daemon is not None:
            self._daemon.kill()

    def close(self) -> None:
        """Stop the server and delete its directory; the object is done with."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            _unclosed.discard(self)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _launch(self, port: int) -> _Daemon:
        raise NotImplementedError

    def _accepts_connections(self, port: int) -> bool:
        raise NotImplementedError

    def _start_on(self, port: int) -> None:
        daemon = self._daemon = self._launch(port)
        deadline = time.monotonic() + START_TIMEOUT.total_seconds()
        while not self._accepts_connections(port):
            if not daemon.alive:
                daemon.kill()
                raise self._failure(f"exited with status {daemon.process.returncode}")
            if time.monotonic() > deadline:
                daemon.kill()
                raise self._failure(f"not accepting connections after {START_TIMEOUT}")
            time.sleep(POLL_INTERVAL.total_seconds())
        self.port = port

    def _failure(self, what: str) -> ServerError:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        except OSError:
            lines = []
        return ServerError("\n".join([f"{self.name} in {self.directory}: {what}", *lines]))


class PostgresServer(_Server):
    """A PostgreSQL server of its own, with a superuser ``postgres`` trusted from 127.0.0.1.

    :meth:`stop` and :meth:`start` keep the data directory and the port, so a test can take
    the server down (an outage) and bring it back where its clients expect it; :meth:`kill`
    crashes it, and the next :meth:`start` recovers. ``with PostgresServer() as server:`` starts
    it and deletes everything at the end.

    Args:
        durable: False turns fsync off (faster; a crash of the machine, not of the server,
            may lose data): for the suite's shared server, whose data nobody keeps.

    """

    name = "postgres"
    shutdown_signal = signal.SIGINT  # PostgreSQL's "fast" shutdown: clients are disconnected

    def __init__(self, *, durable: bool = True) -> None:
        self.bin_dir = postgres_bin_dir()
        self.durable = durable
        owner = _postgres_system_account() if os.geteuid() == 0 else None
        super().__init__()
        self.data_dir = self.directory / "data"
        if owner is not None:
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)

    @property
    def admin_dsn(self) -> str:
        """A libpq/asyncpg DSN of the superuser on the ``postgres`` database."""
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL (asyncpg driver) of ``database`` on this server."""
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its SQLAlchemy URL (asyncpg driver)."""
        self._run("createdb", "-h", HOST, "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def start(self) -> None:
        """Create the cluster on the first start, then start it; see :meth:`_Server.start`."""
        if not self.data_dir.exists():
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
            )  # fmt: skip
        super().start()

    def _launch(self, port: int) -> _Daemon:
        settings = {
            "listen_addresses": HOST,
            # Its own socket directory: Debian's /var/run/postgresql is not everyone's to write.
            "unix_socket_directories": str(self.directory),
        }
        if not self.durable:
            # Commits still reach the kernel before they return, so only a crash of the
            # machine loses them; synchronous_commit=off would lose them to a kill() as well.
            settings |= {"fsync": "off", "full_page_writes": "off"}
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        argv = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(port)]
        return _Daemon(_as_postgres_user([*argv, *options]), self.log_file, self.directory)

    def _accepts_connections(self, port: int) -> bool:
        pg_isready = [str(self.bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(port)]
        return subprocess.run(pg_isready, check=False).returncode == 0

    def _run(self, program: str, *args: str) -> None:
        argv = _as_postgres_user([str(self.bin_dir / program), *args])
        with self.log_file.open("ab") as out:
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.directory)
        if result.returncode != 0:
            raise self._failure(f"{program} exited with status {result.returncode}")


def _postgres_system_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError as err:
        raise ServerError(
            f"running as root, PostgreSQL needs the {POSTGRES_SYSTEM_USER!r} system user to run"
            " as: install Debian's postgresql, which creates it"
        ) from err


def _as_postgres_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    # setpriv execs the program itself (runuser would stay in between as its parent), so the
    # process we start and signal is the server.
    user = POSTGRES_SYSTEM_USER
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv]


class RedisServer(_Server):
    """A Redis server of its own, keeping nothing on disk (no RDB snapshots, no AOF)."""

    name = "redis"
    shutdown_signal = signal.SIGTERM

    @property
    def url(self) -> str:
        """The server's ``redis://`` URL (database 0)."""
        return f"redis://{HOST}:{self.port}/0"

    def _launch(self, port: int) -> _Daemon:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerError("redis-server not found: install Debian's redis-server")
        argv = [
            binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
            "--dir", str(self.directory), "--daemonize", "no", "--logfile", "",
        ]  # fmt: skip
        return _Daemon(argv, self.log_file, self.directory)

    def _accepts_connections(self, port: int) -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False


# Servers not closed yet: killed at interpreter exit if a teardown never ran.
_unclosed: set[_Server] = set()


@atexit.register
def _close_leftovers() -> None:
    for server in list(_unclosed):
        server.kill()
        server.close()
