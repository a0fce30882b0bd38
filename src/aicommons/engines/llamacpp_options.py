"""The options a llamacpp model takes (the models file, `models add`, the admin API).

Kept apart from the engine so the engine's code and its configuration surface can change
independently; an option the engine reads must be declared here, or loading refuses it.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from aicommons.engines.base import EngineOptions


class LlamaCppOptions(EngineOptions):
    """Where the GGUF file is and how the model runs."""

    path: str | None = Field(default=None, description="A GGUF file on disk.")
    package: str | None = Field(default=None, description="A Python package that ships the file.")
    hf_repo: str | None = Field(default=None, description="A Hugging Face repository (cached).")
    file: str | None = Field(default=None, description="The file inside package or hf_repo.")
    n_ctx: int = Field(default=2048, ge=16, le=1 << 20, description="Context length in tokens.")
    slots: int = Field(default=1, ge=1, le=256, description="Requests run in parallel.")
    n_threads: int | None = Field(default=None, ge=1, le=1024)
    n_batch: int = Field(default=512, ge=1, le=1 << 16)

    @model_validator(mode="after")
    def _one_source(self) -> LlamaCppOptions:
        if self.path is None and self.file is None:
            raise ValueError("set 'path', 'package' + 'file' or 'hf_repo' + 'file'")
        if self.path is None and self.package is None and self.hf_repo is None:
            raise ValueError("'file' needs 'package' or 'hf_repo'")
        return self
