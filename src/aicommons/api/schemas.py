"""Request bodies of the OpenAI-compatible API: strict types, unknown fields refused."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aicommons.engines.base import ChatMessage, GenerationRequest, SamplingParams
from aicommons.errors import InvalidRequestError

BodyT = TypeVar("BodyT", bound=BaseModel)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(StrictModel):
    type: Literal["text"]
    text: str


class Message(StrictModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[TextPart]
    name: str | None = None

    def to_chat_message(self) -> ChatMessage:
        text = (
            self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)
        )
        return ChatMessage(role=self.role, content=text)


class StreamOptions(StrictModel):
    include_usage: bool = False


Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]
# Integers are bounded so that no engine, JSON encoder or database column overflows.
PositiveInt = Annotated[int, Field(ge=1, le=2**31 - 1)]
Seed = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class SamplingFields(StrictModel):
    model: ModelName
    temperature: Temperature | None = None
    top_p: TopP | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    seed: Seed | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    n: Literal[1] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _no_empty_stop(cls, value: str | list[str] | None) -> str | list[str] | None:
        items = [value] if isinstance(value, str) else value or []
        if any(not s for s in items):
            raise ValueError("stop sequences must not be empty")
        return value

    def sampling(self, max_tokens: int | None) -> SamplingParams:
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        return SamplingParams(
            max_tokens=max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=stop,
            seed=self.seed,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
        )

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatCompletionBody(SamplingFields):
    messages: Annotated[list[Message], Field(min_length=1)]
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None

    def to_request(self) -> GenerationRequest:
        both = self.max_tokens is not None and self.max_completion_tokens is not None
        if both and self.max_tokens != self.max_completion_tokens:
            raise InvalidRequestError(
                "max_tokens and max_completion_tokens disagree; send only one",
                param="max_completion_tokens",
            )
        limit = (
            self.max_completion_tokens
            if self.max_completion_tokens is not None
            else self.max_tokens
        )
        return GenerationRequest(
            model=self.model,
            sampling=self.sampling(limit),
            messages=tuple(m.to_chat_message() for m in self.messages),
        )


class CompletionBody(SamplingFields):
    prompt: str | Annotated[list[str], Field(min_length=1, max_length=1)]
    max_tokens: PositiveInt | None = 16
    echo: Literal[False] | None = None

    def to_request(self) -> GenerationRequest:
        prompt = self.prompt if isinstance(self.prompt, str) else self.prompt[0]
        return GenerationRequest(
            model=self.model, sampling=self.sampling(self.max_tokens), prompt=prompt
        )


class EmbeddingBody(StrictModel):
    model: ModelName
    input: (
        Annotated[str, Field(min_length=1)]
        | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=2048)]
    )
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


def parse_body(model: type[BodyT], raw: bytes) -> BodyT:
    """Validate a JSON body, turning the first problem into an OpenAI-style 400."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_error(exc) from None


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"str", "list[str]", "list[TextPart]", "constrained-str", "function-after"}:
            continue  # pydantic names the union branch it tried; clients do not need it
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_error(exc: ValidationError) -> InvalidRequestError:
    error = exc.errors(include_url=False)[0]
    kind, param = error["type"], _location(error["loc"]) or None
    if kind == "json_invalid":
        return InvalidRequestError(
            "We could not parse the JSON body of your request: "
            f"{error['msg'].removeprefix('Invalid JSON: ')}. Send valid UTF-8 JSON.",
            code="invalid_json",
        )
    if kind == "model_type" or (kind == "model_attributes_type" and not error["loc"]):
        return InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
    if kind == "extra_forbidden":
        return InvalidRequestError(
            f"Unrecognized request argument supplied: {param}",
            param=param,
            code="unknown_parameter",
        )
    if kind == "missing":
        return InvalidRequestError(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    return InvalidRequestError(
        f"Invalid value for '{param}': {error['msg']}.", param=param, code="invalid_value"
    )
