"""One openness record per model and source, loaded from MOF or OSAI YAML files."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aicommons.openness.mof import classify, is_mof_document, parse_mof
from aicommons.openness.osai import is_osai_document, parse_osai
from aicommons.openness.osaid import check_mof, check_osai
from aicommons.store.openness import OpennessRecord, Source

__all__ = ["OpennessFormatError", "OpennessRecord", "Source", "load_file", "load_path"]

logger = logging.getLogger(__name__)
SUFFIXES = (".yml", ".yaml")


class OpennessFormatError(ValueError):
    """A file that is neither a MOF nor an OSAI record."""


def record_from_document(data: Any, raw_text: str, model: str | None = None) -> OpennessRecord:
    """The record for one parsed YAML document; ``model`` names the platform model it is for."""
    if is_mof_document(data):
        mof = parse_mof(data)
        result = classify(mof)
        components = {
            n: {"licence": c.licence, "open": c.is_open} for n, c in mof.components.items()
        }
        components["_missing"] = result.to_dict()["missing"]
        return OpennessRecord(
            model=(model or mof.name).lower(),
            source="mof",
            record_name=mof.name,
            producer=mof.producer,
            origin=None,
            base_model=mof.base_model,
            licence=mof.licence or _weights_licence(components),
            mof_class=result.mof_class,
            mof_label=result.label + (" (conditional)" if result.is_conditional else ""),
            osai_score=None,
            osaid=check_mof(mof).to_dict(),
            components=components,
        )
    if is_osai_document(data):
        osai = parse_osai(data, raw_text)
        return OpennessRecord(
            model=(model or osai.name).lower(),
            source="osai",
            record_name=osai.name,
            producer=osai.organisation,
            origin=osai.origin,
            base_model=osai.base_model,
            licence=osai.licence,
            mof_class=None,
            mof_label=None,
            osai_score=round(osai.score, 4),
            osaid=check_osai(osai).to_dict(),
            components=dict(osai.classes),
        )
    raise OpennessFormatError("neither a Model Openness Framework nor an OSAI index record")


def _weights_licence(components: dict[str, Any]) -> str | None:
    final = components.get("Model parameters (Final)")
    return final.get("licence") if isinstance(final, dict) else None


def load_file(path: Path, model: str | None = None) -> OpennessRecord:
    """The record in one YAML file."""
    raw = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise OpennessFormatError(f"{path.name}: not valid YAML: {exc}") from exc
    try:
        return record_from_document(data, raw, model)
    except ValueError as exc:
        raise OpennessFormatError(f"{path.name}: {exc}") from exc


@dataclass
class LoadResult:
    records: list[OpennessRecord] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> why


def load_path(path: Path, model: str | None = None) -> LoadResult:
    """Every record in a file or in a folder's ``*.yml``/``*.yaml`` files (not recursive)."""
    if path.is_file():
        return LoadResult([load_file(path, model)])
    if not path.is_dir():
        raise OpennessFormatError(f"{path} is neither a file nor a folder")
    if model is not None:
        raise OpennessFormatError("a model name can only be given for a single file")
    result = LoadResult()
    for file in sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        try:
            result.records.append(load_file(file))
        except OpennessFormatError as exc:
            result.skipped[file.name] = str(exc)
    return result
