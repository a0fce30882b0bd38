"""nginx (Debian's package) as a reverse proxy in front of an upstream, for tests.

`make test` installs nginx when it is missing, as it does chromium for the dashboard tests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from aicommons.testing.live import free_port
from tests.engines.certificates import Certificate


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError("nginx is not installed: run `make test` (it installs nginx-light)")
    return found


def _config(folder: Path, port: int, target: str, tls: Certificate | None) -> str:
    listen = f"listen 127.0.0.1:{port} ssl;" if tls else f"listen 127.0.0.1:{port};"
    certificate = (
        f"ssl_certificate {tls.cert_file}; ssl_certificate_key {tls.key_file};" if tls else ""
    )
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    # every third request on a connection is answered with Connection: close
    keepalive_requests 3;
    gzip on;
    gzip_min_length 1;
    gzip_types application/json text/event-stream;
    server {{
        {listen}
        {certificate}
        location / {{
            proxy_pass {target};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


@contextmanager
def nginx_proxy(folder: Path, target: str, tls: Certificate | None = None) -> Iterator[str]:
    """Run nginx on a free port proxying to ``target`` (scheme://host:port); yield its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(_config(folder, port, target, tls), encoding="utf-8")
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    scheme = "https" if tls else "http"
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(url, verify=False, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (folder / "error.log").read_text(errors="replace")
                    raise RuntimeError(f"nginx did not start: {log[-2000:]}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)
