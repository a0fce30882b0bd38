"""The options an upstream model takes: its servers, their credentials, timeouts, limits.

Credentials go in ``api_key`` or ``headers`` (per model or per replica) and are never shown:
a URL is shown without its user, password and query, and one carrying them is refused.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from aicommons.engines.base import EngineOptions


def _plain_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    if parts.username or parts.password or parts.query:
        raise ValueError(
            "put credentials in 'api_key' or 'headers', not in the URL "
            "(a URL with a user, a password or a query string would be shown to operators)"
        )
    return url.rstrip("/")


BaseUrl = Annotated[str, AfterValidator(_plain_base_url)]
Headers = dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,100}$")], str]


class ReplicaOptions(BaseModel):
    """One server of the model, with credentials of its own if they differ."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: BaseUrl
    api_key: str | None = None
    headers: Headers = Field(default_factory=dict)


class UpstreamOptions(EngineOptions):
    """An OpenAI-compatible server (``url``) or several (``replicas``)."""

    url: BaseUrl | None = None
    replicas: list[BaseUrl | ReplicaOptions] = Field(default_factory=list, max_length=256)
    api_key: str | None = Field(default=None, description="Sent as a bearer token; never shown.")
    headers: Headers = Field(default_factory=dict, description="Sent with every request.")
    upstream_model: str | None = Field(default=None, description="Its name on the upstream.")
    context_length: int | None = Field(
        default=None,
        ge=16,
        le=1 << 24,
        description="Tokens the model attends to; default: the upstream's max_model_len.",
    )
    concurrency: int = Field(default=64, ge=1, le=100_000)
    continuous_usage_stats: bool = False
    max_attempts: int | None = Field(default=None, ge=1, le=256)
    health_interval_s: float = Field(default=10.0, ge=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    write_timeout_s: float = Field(default=30.0, gt=0)
    pool_timeout_s: float = Field(default=30.0, gt=0)
    loglikelihood_max_tokens: int = Field(default=0, ge=0, le=16)
    loglikelihood_batch: int = Field(default=32, ge=1, le=4096)
    ca_file: str | None = Field(
        default=None, description="CA certificates (PEM) to trust for https:// upstreams."
    )
    verify_tls: bool = Field(default=True, description="Check https:// certificates.")

    @model_validator(mode="after")
    def _needs_a_server(self) -> UpstreamOptions:
        if self.url is None and not self.replicas:
            raise ValueError("an upstream model needs 'url' or 'replicas'")
        if self.url is not None and self.replicas:
            raise ValueError("give 'url' or 'replicas', not both")
        return self

    def replica_list(self) -> list[ReplicaOptions]:
        """Every server, with the model's credentials where a replica has none of its own."""
        raw = self.replicas or [self.url or ""]
        out = []
        for item in raw:
            replica = ReplicaOptions(url=item) if isinstance(item, str) else item
            out.append(
                ReplicaOptions(
                    url=replica.url,
                    api_key=replica.api_key or self.api_key,
                    headers={**self.headers, **replica.headers},
                )
            )
        return out
