"""A shared platform on one machine, for tests and benchmarks: gateway replicas as separate
`aicommons serve` processes on one PostgreSQL schema and one Redis, nginx balancing them, and
the failures an operator meets (a replica killed, Redis stopped, the database cut off).

Nothing here is a mock: the replicas are the real command, nginx is Debian's, Redis is a real
`redis-server` (a private one when a test stops it), and the database is cut by a TCP proxy
that drops every connection, as a network failure would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from aicommons.testing.live import TEST_ADMIN_KEY, free_port

PYTHON = sys.executable


def wait_until_up(
    url: str, timeout_s: float = 90.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until ``url`` answers (any status below 500)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process for {url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up within {timeout_s:.0f} s")


def binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/usr/bin")
    if found is None:
        raise RuntimeError(f"{name} is not installed (`make test` installs it)")
    return found


@dataclass
class Replica:
    """One `aicommons serve` process of the platform."""

    name: str
    env: dict[str, str]
    log: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    command_prefix: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, wait: bool = True) -> None:
        env = {
            **os.environ,
            **self.env,
            "AICOMMONS_PORT": str(self.port),
            "AICOMMONS_HOST": self.host,
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command_prefix, PYTHON, "-m", "aicommons.cli", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait()

    def wait(self) -> None:
        wait_until_up(f"{self.url}/health", process=self.process)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease released, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class RedisServer:
    """A private `redis-server` (nothing kept on disk) that a test may stop and start."""

    folder: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        args = [binary("redis-server"), "--port", str(self.port), "--bind", self.host]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        # Bound to a test's own address only; without this Redis refuses every non-loopback
        # client (the replicas in another network namespace).
        args += ["--protected-mode", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class TcpProxy:
    """Forwards connections from ``listen`` to ``target`` in a thread; `cut` drops every
    connection and refuses new ones until `restore`, like a network that goes away."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    def restore(self) -> None:
        async def listen() -> None:
            self._server = await asyncio.start_server(self._pipe, self.host, self.port)

        self._run(listen())

    def cut(self) -> None:
        async def drop() -> None:
            if self._server is not None:
                self._server.close()
                self._server = None
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._run(drop())

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._writers.difference_update((writer, up_writer))


def nginx_frame(folder: Path, connections: int) -> str:
    """The start of an nginx configuration that runs in the foreground with every file it
    writes in ``folder``, up to the opening of its ``http`` block."""
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
"""


def nginx_config(folder: Path, port: int, servers: list[str], host: str = "127.0.0.1") -> str:
    """nginx balancing ``servers`` (host:port) round robin with kept-alive connections; a
    server that refuses a connection is skipped (the request never reached it)."""
    upstreams = "\n".join(f"        server {s} max_fails=1 fail_timeout=2s;" for s in servers)
    return (
        nginx_frame(folder, 4096)
        + f"""
    upstream aicommons {{
{upstreams}
        keepalive 128;
    }}
    server {{
        listen {host}:{port} backlog=4096;
        location / {{
            proxy_pass http://aicommons;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""
    )


@contextlib.contextmanager
def nginx_running(folder: Path, config: str, host: str, port: int) -> Iterator[None]:
    """Run nginx with ``config`` (written into ``folder``) until it listens on ``port``."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(config, encoding="utf-8")
    process = subprocess.Popen(
        [binary("nginx"), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection((host, port), 1):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                log = (folder / "error.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nginx did not start: {log}")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def nginx(folder: Path, servers: list[str], host: str = "127.0.0.1") -> Iterator[str]:
    """Run nginx balancing ``servers``; yield its URL."""
    port = free_port()
    with nginx_running(folder, nginx_config(folder, port, servers, host), host, port):
        yield f"http://{host}:{port}"


def standin_models_file(
    folder: Path, upstream_url: str, name: str = "standin", **options: object
) -> Path:
    """A models file with one model: the stand-in upstream at ``upstream_url``."""
    extra = "".join(
        f"{k} = {v!r}\n" if isinstance(v, str) else f"{k} = {v}\n" for k, v in options.items()
    )
    path = folder / "models.toml"
    path.write_text(
        f'[[models]]\nname = "{name}"\nengine = "upstream"\nurl = "{upstream_url}"\n{extra}',
        encoding="utf-8",
    )
    return path


@dataclass
class Cluster:
    """Replicas of one platform (same database, same Redis, same admin key)."""

    folder: Path
    database_url: str
    redis_url: str
    redis_prefix: str
    models_file: Path
    settings: dict[str, str] = field(default_factory=dict)
    replicas: list[Replica] = field(default_factory=list)
    admin_key: str = TEST_ADMIN_KEY

    def env(self) -> dict[str, str]:
        return {
            "AICOMMONS_DATABASE_URL": self.database_url,
            "AICOMMONS_REDIS_URL": self.redis_url,
            "AICOMMONS_REDIS_PREFIX": self.redis_prefix,
            "AICOMMONS_ADMIN_KEY": self.admin_key,
            "AICOMMONS_MODELS_FILE": str(self.models_file),
            "AICOMMONS_LOAD_EMBEDDINGS": "false",
            "AICOMMONS_DATA_DIR": str(self.folder),
            **{f"AICOMMONS_{k.upper()}": v for k, v in self.settings.items()},
        }

    def add(
        self, count: int = 1, host: str = "127.0.0.1", command_prefix: tuple[str, ...] = ()
    ) -> list[Replica]:
        """Start ``count`` more replicas (in parallel) and wait until each answers."""
        new = []
        for _ in range(count):
            index = len(self.replicas)
            replica = Replica(
                f"replica-{index}",
                self.env(),
                self.folder / f"replica-{index}.log",
                host=host,
                command_prefix=command_prefix,
            )
            self.replicas.append(replica)
            new.append(replica)
        for replica in new:
            replica.start(wait=False)
        for replica in new:
            replica.wait()
        return new

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()

    def admin(self, replica: int | None = None) -> httpx.Client:
        """An admin client of ``replica`` (default: the first one still running)."""
        if replica is None:
            running = [r for r in self.replicas if r.process and r.process.poll() is None]
            chosen = running[0] if running else self.replicas[0]
        else:
            chosen = self.replicas[replica]
        return httpx.Client(
            base_url=chosen.url,
            headers={"authorization": f"Bearer {self.admin_key}"},
            timeout=60,
        )


@contextlib.contextmanager
def cluster(
    folder: Path,
    database_url: str,
    redis_url: str,
    redis_prefix: str,
    models_file: Path,
    replicas: int = 0,
    **settings: str,
) -> Iterator[Cluster]:
    """Start a cluster of ``replicas`` replicas (more can be added); stop them all at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    platform = Cluster(folder, database_url, redis_url, redis_prefix, models_file, dict(settings))
    try:
        if replicas:
            platform.add(replicas)
        yield platform
    finally:
        platform.stop()


@dataclass
class NetworkNamespace:
    """A separate host for tests: a network namespace joined to this one by a veth pair.

    Inside it, 127.0.0.1 is its own loopback; this host is ``host_ip`` and the namespace is
    ``ip``, as two machines on a link would see each other. Needs root (and a kernel that
    allows namespaces); `create` raises `PermissionError` otherwise.
    """

    name: str
    index: int

    @property
    def host_ip(self) -> str:
        return f"10.213.{self.index}.1"

    @property
    def ip(self) -> str:
        return f"10.213.{self.index}.2"

    @property
    def exec_prefix(self) -> tuple[str, ...]:
        return (binary("ip"), "netns", "exec", self.name)

    def _ip(self, *args: str) -> None:
        done = subprocess.run([binary("ip"), *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PermissionError(f"ip {' '.join(args)}: {done.stderr.strip()}")

    def create(self) -> None:
        outside, inside = f"aic{self.index}a", f"aic{self.index}b"
        self._ip("netns", "add", self.name)
        try:
            self._ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            self._ip("link", "set", inside, "netns", self.name)
            self._ip("addr", "add", f"{self.host_ip}/30", "dev", outside)
            self._ip("link", "set", outside, "up")
            self._ip("-n", self.name, "addr", "add", f"{self.ip}/30", "dev", inside)
            self._ip("-n", self.name, "link", "set", inside, "up")
            self._ip("-n", self.name, "link", "set", "lo", "up")
        except PermissionError:
            self.delete()
            raise

    def delete(self) -> None:
        # Deleting the namespace deletes the veth pair with it.
        subprocess.run([binary("ip"), "netns", "del", self.name], capture_output=True, check=False)
        subprocess.run(
            [binary("ip"), "link", "del", f"aic{self.index}a"], capture_output=True, check=False
        )


@contextlib.contextmanager
def network_namespace(index: int) -> Iterator[NetworkNamespace]:
    namespace = NetworkNamespace(f"aicommons-test-{os.getpid()}-{index}", index)
    namespace.create()
    try:
        yield namespace
    finally:
        namespace.delete()
