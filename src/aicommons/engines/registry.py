"""Engines by name. Built-ins register through the same entry-point group as plugins.

A third-party package adds an engine by declaring, in its own pyproject.toml::

    [project.entry-points."aicommons.engines"]
    myengine = "mypackage.engine:MyEngine"
"""

from __future__ import annotations

from importlib.metadata import entry_points

from aicommons.engines.base import Engine, EngineOptions, ModelSpec, validate_options
from aicommons.errors import ConfigError

ENTRY_POINT_GROUP = "aicommons.engines"


class EngineRegistry:
    """Maps engine type names to `Engine` classes, loaded lazily from entry points."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Engine]] = {}
        self._entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}

    def register(self, name: str, engine_class: type[Engine]) -> None:
        self._classes[name] = engine_class

    def names(self) -> list[str]:
        return sorted(set(self._classes) | set(self._entry_points))

    def get(self, name: str) -> type[Engine]:
        if name not in self._classes:
            entry_point = self._entry_points.get(name)
            if entry_point is None:
                known = ", ".join(self.names()) or "none"
                raise ConfigError(f"unknown engine {name!r}; installed engines: {known}")
            self._classes[name] = entry_point.load()
        return self._classes[name]

    def check(self, spec: ModelSpec) -> EngineOptions:
        """Validate ``spec``'s options against its engine's `Options` without starting it;
        a `ConfigError` names the unknown engine or the bad option."""
        try:
            engine_class = self.get(spec.engine)
        except ConfigError as exc:
            raise ConfigError(f"model {spec.name}: {exc}") from None
        return validate_options(engine_class.Options, spec.name, spec.options)

    def create(self, spec: ModelSpec) -> Engine:
        return self.get(spec.engine)(spec)
