"""Which exact model a run evaluated: file and SHA-256 (or upstream revision) and
quantisation, so that results and cached responses never mix two different models."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aicommons.engines.base import Engine

# llama.cpp's `llama_ftype` values as written to `general.file_type` in GGUF files.
GGUF_FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
    38: "MXFP4_MOE",
}  # fmt: skip

_DIGESTS: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    name: str
    engine: str
    file: str | None = None
    sha256: str | None = None
    revision: str | None = None
    quantisation: str | None = None

    @property
    def cache_key(self) -> str:
        """What cached responses are filed under: the weights' digest where known."""
        return f"{self.engine}:{self.sha256 or self.revision or self.name}"[:200]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) within the process."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def quantisation_of(metadata: dict[str, str]) -> str | None:
    raw = metadata.get("general.file_type")
    if raw is None:
        return None
    try:
        return GGUF_FILE_TYPES.get(int(raw), f"ftype {raw}")
    except ValueError:
        return str(raw)


async def identify(engine: Engine) -> ModelIdentity:
    """The identity of the model behind a started engine."""
    spec = engine.spec
    path = getattr(engine, "model_path", None)
    if isinstance(path, Path):
        metadata_of = getattr(engine, "gguf_metadata", None)
        metadata = metadata_of() if callable(metadata_of) else {}
        return ModelIdentity(
            name=spec.name,
            engine=spec.engine,
            file=str(path),
            sha256=await asyncio.to_thread(file_sha256, path),
            quantisation=quantisation_of(metadata),
        )
    options = spec.options
    url = options.get("url") or (options.get("replicas") or [None])[0]
    if isinstance(url, dict):
        url = url.get("url")
    revision = str(options.get("revision") or options.get("upstream_model") or spec.name)
    return ModelIdentity(
        name=spec.name,
        engine=spec.engine,
        revision=f"{revision}@{url}" if url else revision,
        quantisation=options.get("quantisation"),
    )
