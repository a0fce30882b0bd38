"""What each write asks for, validated once for every front end (API, dashboard, CLI).

The models are strict (no string-to-number or bool-to-number coercion, no NaN or infinity) and
refuse unknown fields; front ends that read text (forms, command lines) convert it to numbers
before validating, so `{"weight": true}` and ``--weight nan`` fail the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from aicommons.errors import InvalidRequestError
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.registration import Checklist

Scope = Literal["tenant", "key"]
ModelT = TypeVar("ModelT", bound=BaseModel)

# The largest limit the API takes; the columns are 64-bit, so any value fits every database.
MAX_COUNT = 10**15


def no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL, and no name or reference needs one."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(no_nul)]
Name = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")
]
ModelName = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/@\-]*$")
]
Reference = Annotated[Text, Field(min_length=1, max_length=200)]
Weight = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TenantCreate(Command):
    name: Name
    weight: Weight = 1.0


class TenantUpdate(Command):
    weight: Weight | None = None


def _aware_and_representable(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2027-01-01T00:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


class KeyCreate(Command):
    tenant: Annotated[Reference, Field(description="tenant id or name")]
    name: Name = "default"
    models: Annotated[list[ModelName], Field(max_length=100)] | None = Field(
        default=None, description="models the key may use; all if null"
    )
    application_id: Reference | None = None
    # Not strict: an ISO 8601 string is how every front end writes a time.
    expires_at: Annotated[datetime | None, AfterValidator(_aware_and_representable)] = Field(
        default=None, strict=False, description="when the key stops working (with a time zone)"
    )
    admin: bool = False


class LimitsSet(Command):
    """Limits of a tenant or key; null (or absent) removes that limit."""

    tokens_per_day: Count | None = None
    tokens_per_month: Count | None = None
    requests_per_minute: Count | None = None
    tokens_per_minute: Count | None = None
    max_parallel: Count | None = None


class ModelCreate(Command):
    name: ModelName
    engine: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.\-]+$")]
    options: dict[str, Any] = Field(default_factory=dict)


class ApplicationRegistration(Command):
    name: Name
    facts: ApplicationFacts
    models: Annotated[list[ModelName], Field(max_length=20)] = Field(default_factory=list)
    checklist: Checklist | None = None


def problem(exc: ValidationError) -> InvalidRequestError:
    """The first validation problem as a 400 naming the field."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"])
    why = str(error["msg"]).removeprefix("Value error, ")
    message = f"Invalid value for '{where}': {why}." if where else why
    return InvalidRequestError(message, param=where or None, code="invalid_value")


def validated(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    """``model`` built from ``data``, or a 400 for the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise problem(exc) from None
