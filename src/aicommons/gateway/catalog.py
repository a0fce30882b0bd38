"""The models this gateway serves: specs from the models file and the database, each with
its started engine. Models added by the CLI or another replica appear on the next refresh."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from aicommons.engines.base import Engine, ModelSpec
from aicommons.engines.registry import EngineRegistry
from aicommons.errors import ConfigError, ConflictError, InvalidRequestError, NotFoundError
from aicommons.store.model_configs import ModelConfigs

logger = logging.getLogger(__name__)

DEFAULT_MODELS_FILE = Path(__file__).resolve().parent.parent / "default_models.toml"
_RESERVED = {"name", "engine", "optional"}


def read_models_file(path: Path) -> list[ModelSpec]:
    """Parse a TOML or YAML file holding ``models = [{name, engine, ...options}]``."""
    text = path.read_text(encoding="utf-8")
    data: Any = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    entries = (data or {}).get("models", [])
    specs = []
    for entry in entries:
        if not isinstance(entry, Mapping) or "name" not in entry or "engine" not in entry:
            raise ConfigError(f"{path}: every model needs a name and an engine")
        package = entry.get("package")
        if entry.get("optional") and package and importlib.util.find_spec(str(package)) is None:
            logger.warning("skipping model %s: package %s is not installed", entry["name"], package)
            continue
        options = {k: v for k, v in entry.items() if k not in _RESERVED}
        specs.append(
            ModelSpec(name=str(entry["name"]), engine=str(entry["engine"]), options=options)
        )
    return specs


def model_not_found(name: str) -> NotFoundError:
    """One answer for unknown models and forbidden ones, so keys cannot probe model names."""
    return NotFoundError(
        f"The model '{name}' does not exist or your key may not use it.",
        param="model",
        code="model_not_found",
    )


class ModelCatalog:
    """Name -> started engine, for file models and models stored in the database."""

    def __init__(
        self, registry: EngineRegistry, file_specs: list[ModelSpec], stored: ModelConfigs
    ) -> None:
        self._registry = registry
        self._file_specs = {spec.name: spec for spec in file_specs}
        self._stored = stored
        self._engines: dict[str, Engine] = {}
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        for spec in self._file_specs.values():
            await self._start_engine(spec)
        await self.refresh()

    async def close(self) -> None:
        for engine in self._engines.values():
            with contextlib.suppress(Exception):
                await engine.close()
        self._engines.clear()

    async def _start_engine(self, spec: ModelSpec) -> Engine:
        engine = self._registry.create(spec)
        await engine.start()
        self._engines[spec.name] = engine
        return engine

    async def refresh(self) -> None:
        """Start models added to the database elsewhere; stop the ones removed there."""
        async with self._lock:
            stored = {spec.name: spec for spec in await self._stored.list()}
            for name, spec in stored.items():
                if name not in self._engines and name not in self._file_specs:
                    try:
                        await self._start_engine(spec)
                    except (ConfigError, OSError) as exc:
                        logger.error("cannot start stored model %s: %s", name, exc)
            for name in [n for n, e in self._engines.items() if e.spec.source == "database"]:
                if name not in stored:
                    await self._engines.pop(name).close()

    def get(self, name: str) -> Engine:
        engine = self._engines.get(name)
        if engine is None:
            raise model_not_found(name)
        return engine

    def engines(self) -> dict[str, Engine]:
        return dict(self._engines)

    def is_from_file(self, name: str) -> bool:
        return name in self._file_specs

    async def add(self, spec: ModelSpec, persist: Callable[[], Awaitable[None]]) -> Engine:
        """Start ``spec``'s engine, then ``persist`` it, so a broken configuration is never
        stored; the engine is closed again if persisting fails."""
        async with self._lock:
            if spec.name in self._engines:
                raise ConflictError(f"a model named {spec.name!r} already exists", param="name")
            try:
                engine = await self._start_engine(spec)
            except (ConfigError, OSError, TypeError, ValueError) as exc:
                raise InvalidRequestError(
                    f"cannot start model {spec.name!r}: {exc}", param="options"
                ) from exc
            try:
                await persist()
            except BaseException:
                await self._engines.pop(spec.name).close()
                raise
            return engine
