"""The one contract every engine implements, and the values that cross it.

An engine knows nothing of tenants or keys: it turns a `GenerationRequest` into text (all at
once or as a stream of `TextChunk`s closed by a `Finish`) and texts into embeddings.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aicommons.errors import ConfigError

Role = Literal["system", "user", "assistant", "tool", "developer"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A chat (``messages``) or plain completion (``prompt``) request for one model."""

    model: str
    sampling: SamplingParams
    messages: tuple[ChatMessage, ...] | None = None
    prompt: str | None = None

    @property
    def is_chat(self) -> bool:
        return self.messages is not None


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True, slots=True)
class TextChunk:
    """New text; ``num_tokens`` is how many generated tokens it holds (0 if unknown)."""

    text: str
    num_tokens: int = 1


@dataclass(frozen=True, slots=True)
class Finish:
    """The end of a generation: why it stopped and what it cost."""

    reason: str
    usage: Usage


StreamEvent = TextChunk | Finish


@dataclass(slots=True)
class Completion:
    text: str
    finish_reason: str
    usage: Usage


@dataclass(slots=True)
class EmbeddingResult:
    vectors: list[list[float]]
    prompt_tokens: int


@dataclass(frozen=True, slots=True)
class LoglikelihoodRequest:
    """Score ``continuation`` given ``context`` (lm-evaluation-harness convention: trailing
    spaces of the context move onto the continuation; context + continuation is tokenised
    whole and split at the token count of the context alone)."""

    context: str
    continuation: str


@dataclass(frozen=True, slots=True)
class LoglikelihoodResult:
    """Sum of the continuation tokens' log-probabilities, and whether greedy decoding
    would have produced every one of them."""

    logprob: float
    is_greedy: bool
    num_tokens: int


def move_trailing_space(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's `_encode_pair` rule: trailing whitespace of the context belongs to the
    continuation, so " Paris" is scored as one token, not a lone space plus "Paris"."""
    stripped = context.rstrip()
    if len(stripped) == len(context):
        return context, continuation
    return stripped, context[len(stripped) :] + continuation


# Output tokens a request may use when it names no max_tokens: its reservation against
# budgets is bounded by this (per model: the `default_max_tokens` option).
DEFAULT_MAX_TOKENS = 512


class EngineOptions(BaseModel):
    """Options every model takes, whatever its engine; an engine's `Options` adds its own.

    Unknown keys are refused, so a misspelt option is an error naming it, not a default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduler: Literal["vtc", "fcfs"] | None = Field(
        default=None, description="Fair-scheduling policy of the model's pool."
    )
    max_in_flight: int | None = Field(
        default=None, ge=1, description="Requests dispatched at once (default: the engine's)."
    )
    default_max_tokens: int = Field(
        default=DEFAULT_MAX_TOKENS,
        ge=1,
        le=1_000_000,
        description="Output tokens of a request that names no max_tokens.",
    )


def validate_options(
    options_class: type[EngineOptions], model: str, options: Mapping[str, Any]
) -> EngineOptions:
    """Check ``options`` against an engine's `Options`; a `ConfigError` names the bad key."""
    try:
        return options_class.model_validate(dict(options))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = ".".join(str(part) for part in error["loc"]) or "options"
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(options_class.model_fields))
            raise ConfigError(
                f"model {model}: unknown option {key!r}; this engine takes: {known}"
            ) from None
        raise ConfigError(f"model {model}: option {key!r}: {error['msg']}") from None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How one served model is configured: its public name, engine and engine options."""

    name: str
    engine: str
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str = "file"


class Engine(ABC):  # noqa: B024 - every hook has a sensible default
    """Serves one model. Subclasses override `stream` (or `embed`) and set their flags."""

    can_chat: ClassVar[bool] = False
    can_complete: ClassVar[bool] = False
    can_stream: ClassVar[bool] = False
    can_embed: ClassVar[bool] = False
    can_loglikelihood: ClassVar[bool] = False
    # True when every gateway replica sends to the same capacity (a remote server), so the
    # fair scheduler's pool for it is shared by the replicas; False for an engine in-process.
    shares_capacity: ClassVar[bool] = False
    # The options this engine takes; a subclass with its own keys sets its own model.
    Options: ClassVar[type[EngineOptions]] = EngineOptions

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.options = validate_options(self.Options, spec.name, spec.options)

    @property
    def default_max_tokens(self) -> int:
        """Output tokens of a request that names no max_tokens (its bounded reservation)."""
        return self.options.default_max_tokens

    @property
    def context_length(self) -> int | None:
        """Tokens the model can attend to, when the engine knows it."""
        return None

    @property
    def concurrency(self) -> int:
        """How many requests the engine runs at once without queueing them itself."""
        return 1

    async def count_prompt_tokens(self, request: GenerationRequest) -> int:
        """Prompt tokens of ``request``. This default estimates four characters a token;
        engines with a tokenizer count exactly. Usage reported at the end is authoritative."""
        if request.messages is not None:
            chars = sum(len(m.content) + 8 for m in request.messages)
        else:
            chars = len(request.prompt or "")
        return chars // 4 + 1

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Load weights or open connections. Called once before the first request."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what `start` acquired."""

    async def is_healthy(self) -> bool:
        return True

    def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        """Yield `TextChunk`s, then exactly one `Finish`. Closing the iterator aborts."""
        raise NotImplementedError(f"engine {type(self).__name__} does not generate text")

    async def generate(self, request: GenerationRequest) -> Completion:
        """Generate the whole answer; by default by collecting `stream`."""
        parts: list[str] = []
        finish: Finish | None = None
        async for event in self.stream(request):
            if isinstance(event, TextChunk):
                parts.append(event.text)
            else:
                finish = event
        if finish is None:  # pragma: no cover - an engine bug, not a client error
            raise RuntimeError(f"engine {type(self).__name__} ended without a Finish")
        return Completion(text="".join(parts), finish_reason=finish.reason, usage=finish.usage)

    async def embed(self, texts: list[str]) -> EmbeddingResult:
        raise NotImplementedError(f"engine {type(self).__name__} does not embed")

    async def loglikelihood(
        self, requests: list[LoglikelihoodRequest]
    ) -> list[LoglikelihoodResult]:
        """Score each continuation given its context; results in the order of ``requests``."""
        raise NotImplementedError(f"engine {type(self).__name__} does not score text")

    def describe(self) -> dict[str, Any]:
        """Public facts for /v1/models and the admin API (no secrets)."""
        return {"engine": self.spec.engine, "context_length": self.context_length}
