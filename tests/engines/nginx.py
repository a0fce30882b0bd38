"""nginx (Debian's package) as a reverse proxy in front of an upstream, for tests.

`make test` installs nginx when it is missing, as it does chromium for the dashboard tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aicommons.testing.cluster import nginx_frame, nginx_running
from aicommons.testing.live import free_port
from tests.engines.certificates import Certificate


def _config(folder: Path, port: int, target: str, tls: Certificate | None) -> str:
    listen = f"listen 127.0.0.1:{port} ssl;" if tls else f"listen 127.0.0.1:{port};"
    certificate = (
        f"ssl_certificate {tls.cert_file}; ssl_certificate_key {tls.key_file};" if tls else ""
    )
    return (
        nginx_frame(folder, 256)
        + f"""
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
    )


@contextmanager
def nginx_proxy(folder: Path, target: str, tls: Certificate | None = None) -> Iterator[str]:
    """Run nginx on a free port proxying to ``target`` (scheme://host:port); yield its URL."""
    port = free_port()
    with nginx_running(folder, _config(folder, port, target, tls), "127.0.0.1", port):
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
