"""One local Neo4j instance: its folder, its settings, and starting and stopping it.

The instance folder (``$WBGRAPH_HOME``, default ``~/.local/share/wbgraph``; mode 0700) holds
``server.json`` (ports, memory), ``password`` (mode 0600) and the usual Neo4j folders
``conf/ data/ logs/ run/ import/``. ``conf/neo4j.conf`` is regenerated at every start;
settings of your own (TLS for Bolt, logging, ...) go into ``neo4j.extra.conf`` in the
instance folder, appended at every start (a setting wbgraph sets itself is refused there).

The server is started and stopped by Neo4j's own bootloader (``Neo4jBoot start|stop``), as
the ``neo4j`` script of the tarball does. The initial password is set with the admin tool
before the first start, read from an argument file, so it never appears on a command line
and the server never accepts the default password.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..errors import ConfigError, ServerError
from ..progress import SILENT, Progress, Summary
from .distribution import Distribution, default_cache, ensure_distribution, java_executable

HOST = "127.0.0.1"
FOLDERS = ("import", "plugins")
EXTRA_CONF = "neo4j.extra.conf"  # the user's own settings, appended to the generated neo4j.conf
BOOT_CLASS = "org.neo4j.server.startup.Neo4jBoot"
ADMIN_CLASS = "org.neo4j.server.startup.Neo4jAdminBoot"
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"

# The JVM options of the tarball's neo4j.conf, less -XX:+AlwaysPreTouch (slow starts on small machines).
JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j.layout.jsonTemplate.maxStringLength=32768",
)


@dataclass(frozen=True)
class ServerConfig:
    """Ports and memory of the local server. ``ServerConfig()`` is the smallest sizing;
    :meth:`for_machine` the one a first start uses."""

    bolt_port: int = 7687
    http_port: int = 7474
    heap: str = "1g"
    pagecache: str = "512m"

    @classmethod
    def for_machine(cls, total_bytes: int | None = None) -> ServerConfig:
        """Memory sized from the machine (``total_bytes``: its physical memory, read when None):
        a heap of 1/8 of it within 1–8 GB and a page cache of 1/4 within 0.5–32 GB, so a
        24 GB machine gives 3 GB and 6 GB. The rest stays for the operating system's file
        cache and for training, which runs beside the server."""
        total = total_bytes if total_bytes is not None else _physical_memory()
        gib = 1024**3
        heap = min(max(total // 8, gib), 8 * gib)
        pagecache = min(max(total // 4, gib // 2), 32 * gib)
        return cls(heap=_size(heap), pagecache=_size(pagecache))


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0  # unknown: the smallest sizing


def _size(n: int) -> str:
    """Bytes as Neo4j's memory setting, rounded down to whole MB (``3g`` when whole GB)."""
    mb = n // 1024**2
    return f"{mb // 1024}g" if mb % 1024 == 0 else f"{mb}m"


@dataclass(frozen=True)
class StartResult(Summary):
    already_running: bool
    pid: int
    bolt_uri: str
    browser_url: str
    seconds: float


STOP_TIMEOUT = 300.0  # seconds a stop may take (a large store's final checkpoint), then an error


@dataclass(frozen=True)
class StopResult(Summary):
    was_running: bool
    seconds: float


def default_home() -> Path:
    """The instance folder: ``$WBGRAPH_HOME`` or ``$XDG_DATA_HOME/wbgraph``."""
    if os.environ.get("WBGRAPH_HOME"):
        return Path(os.environ["WBGRAPH_HOME"])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "wbgraph"


class LocalServer:
    """The local Neo4j instance living in ``home``, run from the jars cached in ``cache``."""

    def __init__(self, home: Path | None = None, cache: Path | None = None):
        self.home = Path(home) if home else default_home()
        self.cache = Path(cache) if cache else default_cache()

    # -- layout ---------------------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def config_file(self) -> Path:
        return self.home / "server.json"

    # -- settings -------------------------------------------------------------------------
    def config(self) -> ServerConfig:
        """The saved settings, or, before the first start, the defaults sized for this machine."""
        if not self.config_file.exists():
            return ServerConfig.for_machine()
        try:
            return ServerConfig(**json.loads(self.config_file.read_text()))
        except (ValueError, TypeError) as e:
            raise ConfigError(f"Unreadable local server settings {self.config_file}: {e}") from None

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{HOST}:{self.config().bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://{HOST}:{self.config().http_port}/browser/"

    def read_password(self) -> str:
        """The generated password of the local server."""
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise ConfigError(
                "No local Neo4j server has been set up yet: run `wbgraph db start`, "
                "or set NEO4J_URI and NEO4J_PASSWORD to use your own server."
            ) from None

    # -- process --------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The process id of this instance's running server, or None."""
        try:
            pid = int((self.run_dir / "neo4j.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            return None
        except OSError:  # not Linux: trust the pid file if the process exists
            try:
                os.kill(pid, 0)
            except OSError:
                return None
            return pid
        args = [a.decode(errors="replace") for a in cmdline]
        if ENTRY_POINT in args and f"--home-dir={self.home}" in args:
            return pid
        return None

    def admin(self, *args: str, dist: Distribution | None = None, **kwargs) -> subprocess.CompletedProcess:
        """Run Neo4j's admin tool (``neo4j-admin``) on this instance with the given arguments."""
        dist = dist or ensure_distribution(self.cache)
        return subprocess.run(
            [java_executable(), "-cp", dist.classpath, ADMIN_CLASS, *args],
            env=self._neo4j_env(),
            cwd=self.home,
            **kwargs,
        )

    def _boot(self, command: str, dist: Distribution) -> subprocess.CompletedProcess:
        return subprocess.run(
            [java_executable(), "-cp", dist.classpath, BOOT_CLASS, command],
            env=self._neo4j_env(),
            cwd=self.home,
            capture_output=True,
            text=True,
        )

    def _neo4j_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
        env.update(NEO4J_HOME=str(self.home), NEO4J_CONF=str(self.conf_dir))
        return env

    # -- set-up ---------------------------------------------------------------------------
    def _prepare(self, config: ServerConfig, dist: Distribution) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        for folder in (
            self.conf_dir,
            self.data_dir,
            self.logs_dir,
            self.run_dir,
            self.home / "import",
            self.home / "plugins",
        ):
            folder.mkdir(exist_ok=True)
        self.config_file.write_text(json.dumps(asdict(config), indent=2) + "\n")
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(new_password() + "\n")
        self.password_file.chmod(0o600)
        (self.conf_dir / "neo4j.conf").write_text(render_conf(config, dist, self.home))

    def _set_initial_password(self, dist: Distribution) -> None:
        """Give user ``neo4j`` the generated password before the very first start."""
        if (self.data_dir / "dbms" / "auth.ini").exists() or (self.data_dir / "databases").exists():
            return
        argfile = self.run_dir / "initial-password.args"
        fd = os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.read_password() + "\n")
        try:
            done = self.admin("dbms", "set-initial-password", f"@{argfile}", dist=dist, capture_output=True, text=True)
        finally:
            argfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise ServerError(f"Setting the initial password failed: {last_line(done.stderr or done.stdout)}")


def new_password() -> str:
    """A random password for user neo4j (192 bits, URL-safe), never starting with ``-``.

    ``neo4j-admin dbms set-initial-password`` reads it as an argument (from an argument
    file): one starting with ``-`` would be taken for an option, and the first start would
    fail, once in 64 servers.
    """
    while True:
        password = secrets.token_urlsafe(24)
        if not password.startswith("-"):
            return password


def render_conf(config: ServerConfig, dist: Distribution, home: Path) -> str:
    """The ``neo4j.conf`` of the local instance: loopback only, authentication on, small memory."""
    settings = {
        "server.directories.lib": dist.lib,
        "server.directories.plugins": home / "plugins",
        "server.directories.data": home / "data",
        "server.directories.logs": home / "logs",
        "server.directories.run": home / "run",
        "server.directories.import": home / "import",
        "server.default_listen_address": HOST,
        "server.default_advertised_address": HOST,
        "server.bolt.enabled": "true",
        "server.bolt.listen_address": f"{HOST}:{config.bolt_port}",
        "server.bolt.advertised_address": f"{HOST}:{config.bolt_port}",
        "server.http.enabled": "true",
        "server.http.listen_address": f"{HOST}:{config.http_port}",
        "server.http.advertised_address": f"{HOST}:{config.http_port}",
        "server.https.enabled": "false",
        "dbms.security.auth_enabled": "true",
        "server.memory.heap.initial_size": config.heap,
        "server.memory.heap.max_size": config.heap,
        "server.memory.pagecache.size": config.pagecache,
        "db.tx_log.rotation.size": "64M",
        "db.tx_log.rotation.retention_policy": "256M size",
        "dbms.usage_report.enabled": "false",
        # Bolt's network threads stop after the databases have stopped and checkpointed; by
        # default Netty then idles through a quiet period twice, 5 s each (a stop took 9 s, now 2 s)
        "internal.dbms.bolt.netty_server_shutdown_quiet_period": "0",
        "internal.dbms.bolt.netty_server_shutdown_timeout": "1s",
    }
    lines = ["# Written by `wbgraph db start`; edits are overwritten at the next start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    lines += [f"server.jvm.additional={option}" for option in JVM_OPTIONS]
    extra = home / EXTRA_CONF
    if extra.is_file():
        own = extra.read_text(encoding="utf-8").splitlines()
        for line in own:
            key = line.split("=", 1)[0].strip()
            if key in settings:
                raise ConfigError(f"{extra}: {key} is set by wbgraph itself (use the options of `wbgraph db start`).")
        lines += [f"# From {extra}:"] + own
    return "\n".join(lines) + "\n"


def start(
    server: LocalServer | None = None,
    *,
    bolt_port: int | None = None,
    http_port: int | None = None,
    heap: str | None = None,
    pagecache: str | None = None,
    timeout: float = 180.0,
    progress: Progress = SILENT,
) -> StartResult:
    """Start the local Neo4j server (assembling it first if needed) and wait until Bolt answers.

    Starting a server that already runs changes nothing and says so.
    """
    server = server or LocalServer()
    began = time.monotonic()
    running = server.pid()
    if running:
        return StartResult(True, running, server.bolt_uri, server.browser_url, 0.0)

    java_executable()  # fail early, with the alternatives, when Java is missing
    dist = ensure_distribution(server.cache, progress=progress)
    changes = {
        k: v for k, v in dict(bolt_port=bolt_port, http_port=http_port, heap=heap, pagecache=pagecache).items() if v
    }
    config = replace(server.config(), **changes)
    for port in (config.bolt_port, config.http_port):
        if _port_in_use(port):
            raise ServerError(
                f"Port {port} on {HOST} is already in use by another program: "
                "choose another with --bolt-port/--http-port."
            )
    server._prepare(config, dist)
    server._set_initial_password(dist)
    # No Neo4j of this home runs and its ports are free, so a pid file left by a killed server
    # is stale: Neo4j's launcher would take a process still holding that pid (a zombie not yet
    # reaped) for a running server and refuse to start.
    (server.run_dir / "neo4j.pid").unlink(missing_ok=True)

    progress.say(f"Starting Neo4j {dist.version} in {server.home}...")
    done = server._boot("start", dist)
    if done.returncode != 0:
        raise ServerError(f"Neo4j did not start: {last_line(done.stderr or done.stdout)} (logs: {server.logs_dir})")
    pid = _wait_for_bolt(server, began + timeout)
    return StartResult(False, pid, server.bolt_uri, server.browser_url, time.monotonic() - began)


def stop(server: LocalServer | None = None) -> StopResult:
    """Stop the local Neo4j server cleanly; stopping a stopped server is not an error."""
    server = server or LocalServer()
    began = time.monotonic()
    pid = server.pid()
    if not pid:
        return StopResult(False, 0.0)
    # What Neo4j's own `neo4j stop` does (SIGTERM: the server's shutdown hook checkpoints and
    # closes the store), without starting a JVM to do it: 2-3 s less a stop.
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    while server.pid():
        if time.monotonic() - began > STOP_TIMEOUT:
            raise ServerError(
                f"Neo4j did not stop within {STOP_TIMEOUT:.0f} s (pid {pid}); see {server.logs_dir / 'neo4j.log'}"
            )
        time.sleep(0.1)
    (server.run_dir / "neo4j.pid").unlink(missing_ok=True)
    return StopResult(True, time.monotonic() - began)


def _wait_for_bolt(server: LocalServer, deadline: float) -> int:
    """Wait until the server accepts an authenticated Bolt connection; return its pid."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import ServiceUnavailable, SessionExpired

    password = server.read_password()
    while True:
        pid = server.pid()
        if not pid:
            raise ServerError(f"Neo4j exited during start-up; see {server.logs_dir / 'neo4j.log'}")
        try:
            with GraphDatabase.driver(server.bolt_uri, auth=("neo4j", password)) as driver:
                driver.verify_connectivity()
            return pid
        except (ServiceUnavailable, SessionExpired, OSError):
            if time.monotonic() > deadline:
                raise ServerError(
                    f"Neo4j did not answer on {server.bolt_uri} in time; see {server.logs_dir / 'neo4j.log'}"
                ) from None
            time.sleep(0.5)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def last_line(text: str) -> str:
    """The last line that says something (not the launcher's "Run with '--verbose'" hint)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Run with '--verbose'")] or lines
    return lines[-1] if lines else "no output"
