"""Typed settings, read from the environment (prefix ``AICOMMONS_``) or passed in by tests."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the app factory needs; nothing is read at import time."""

    model_config = SettingsConfigDict(env_prefix="AICOMMONS_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="SQLite file and generated state.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is SQLite in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    models_file: Path | None = Field(
        default=None, description="TOML or YAML model list; default: the built-in one."
    )
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    auth_cache_seconds: float = Field(default=5.0, ge=0.0)
    registry_refresh_seconds: float = Field(
        default=5.0, ge=0.0, description="How often models added by other processes are loaded."
    )
    load_embeddings: bool = Field(
        default=True, description="Serve the built-in embedding model when its package is there."
    )
    eval_data_dir: Path | None = Field(
        default=None, description="Benchmark files for `aicommons eval` (gsm8k/, bbq/, ...)."
    )
    admin_key: str | None = Field(
        default=None,
        description="Bootstrap admin key (tests, automation). Default: generate and print once.",
    )
    energy_meter: str = Field(
        default="auto", description="auto (best available), nvml, rapl or estimate."
    )
    cpu_watts_per_core: float = Field(
        default=4.0, gt=0, description="CPU estimate: TDP per core (W); 4 W is CodeCarbon's."
    )
    grid_country: str = Field(default="FR", description="ISO code for grid carbon intensity.")
    grid_intensity_g_per_kwh: float | None = Field(
        default=None, ge=0, description="Overrides the country's grid intensity (gCO2e/kWh)."
    )

    scheduler_policy: Literal["vtc", "fcfs"] = Field(
        default="vtc", description="Default fair-scheduling policy of a model's pool."
    )
    scheduler_queue_cap: int = Field(
        default=256, ge=1, description="Most waiting requests per tenant and model."
    )
    scheduler_max_wait_s: float = Field(
        default=60.0, gt=0, description="Longest wait for a place before a 429."
    )
    usage_flush_seconds: float = Field(default=1.0, gt=0)
    header_read_timeout_s: float = Field(
        default=10.0, gt=0, description="Time a client has to send a request's head."
    )
    body_read_timeout_s: float = Field(
        default=20.0, gt=0, description="Time a client has to send a request's body."
    )

    redis_url: str | None = Field(
        default=None,
        description="Shared mode: redis://host:6379/0. Many processes and machines on one "
        "Redis and one PostgreSQL database then act as one platform.",
    )
    redis_prefix: str = Field(
        default="aic",
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="Prefix of this platform's Redis keys (several platforms may share a Redis).",
    )
    lease_seconds: float = Field(
        default=10.0,
        ge=1.0,
        le=600.0,
        description="Shared mode: how long a dead replica's reservations and places are held.",
    )
    workers: int = Field(default=1, ge=1, le=256, description="Worker processes of `serve`.")

    @field_validator("admin_key")
    @classmethod
    def _refuse_weak_admin_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 24:
            raise ValueError("admin_key must be at least 24 characters; use a random secret")
        return value

    @model_validator(mode="after")
    def _refuse_split_state(self) -> Settings:
        if self.redis_url and self.resolved_database_url.startswith("sqlite"):
            raise ValueError(
                "AICOMMONS_REDIS_URL needs a PostgreSQL AICOMMONS_DATABASE_URL: replicas share "
                "one database, and SQLite is a file on one machine"
            )
        if self.workers > 1 and not self.redis_url:
            raise ValueError(
                f"{self.workers} workers need AICOMMONS_REDIS_URL (and PostgreSQL): without a "
                "shared Redis each process would keep its own budgets, limits and fair-share "
                "counters, and together they would let through more than the limits allow"
            )
        return self

    @property
    def shared(self) -> bool:
        """Whether this process is one replica among many (Redis and PostgreSQL shared)."""
        return self.redis_url is not None

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'aicommons.db').resolve()}"
