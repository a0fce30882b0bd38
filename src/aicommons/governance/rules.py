"""Rules as data: the record format, the condition language and the loader.

A condition is one of::

    {all: [cond, ...]}   {any: [cond, ...]}   {not: cond}
    {fact: path, equals: value}      {fact: path, in: [value, ...]}
    {fact: path, contains_any: [...]} (list facts)   {fact: path, gt: number}
    {fact: path, present: true}      (an optional group such as gpai_model is given)
    {fact: path, empty: true}        (a list fact holds nothing)

Fact paths and enumerated values are checked against `ApplicationFacts` when the rules are
loaded, so a typo in the YAML fails at start-up rather than silently never matching.
"""

from __future__ import annotations

import functools
import typing
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from aicommons.errors import ConfigError
from aicommons.governance.facts import FACT_PATHS, ApplicationFacts, GPAIModelFacts, Role

Tier = Literal["out_of_scope", "prohibited", "high_risk", "transparency", "minimal"]
GPAITier = Literal["gpai", "gpai_systemic_risk", "not_gpai"]
Stage = Literal[
    "scope",
    "system_scope",
    "prohibition",
    "annex_i",
    "annex_iii",
    "derogation",
    "role_change",
    "transparency",
    "general",
    "gpai",
]
Addressee = Role


class RuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- the condition language -----------------------------------------------------------------


class AllOf(RuleBody):
    all: list[Condition]

    def holds(self, facts: ApplicationFacts) -> bool:
        return all(c.holds(facts) for c in self.all)

    def explain(self, facts: ApplicationFacts) -> list[str]:
        return [line for c in self.all for line in c.explain(facts)]

    def describe(self) -> str:
        return "(" + " and ".join(c.describe() for c in self.all) + ")"


class AnyOf(RuleBody):
    any: list[Condition]

    def holds(self, facts: ApplicationFacts) -> bool:
        return any(c.holds(facts) for c in self.any)

    def explain(self, facts: ApplicationFacts) -> list[str]:
        first = next((c for c in self.any if c.holds(facts)), None)
        return first.explain(facts) if first is not None else []

    def describe(self) -> str:
        return "(" + " or ".join(c.describe() for c in self.any) + ")"


class Not(RuleBody):
    not_: Condition = Field(alias="not")

    def holds(self, facts: ApplicationFacts) -> bool:
        return not self.not_.holds(facts)

    def explain(self, facts: ApplicationFacts) -> list[str]:
        return [f"not ({self.not_.describe()})"]

    def describe(self) -> str:
        return f"not ({self.not_.describe()})"


class FactTest(RuleBody):
    fact: str
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    contains_any: list[Any] | None = None
    gt: float | None = None
    present: bool | None = None
    empty: bool | None = None

    @model_validator(mode="after")
    def _one_test_on_a_known_fact(self) -> FactTest:
        tests = [self.in_, self.contains_any, self.gt, self.present, self.empty]
        if sum(t is not None for t in tests) + ("equals" in self.model_fields_set) != 1:
            raise ValueError(f"fact {self.fact!r}: give exactly one test")
        if self.fact not in FACT_PATHS:
            raise ValueError(f"unknown fact {self.fact!r}")
        allowed = allowed_values(self.fact)
        wanted = [self.equals] if "equals" in self.model_fields_set else []
        wanted += self.in_ or []
        wanted += self.contains_any or []
        bad = [v for v in wanted if allowed is not None and v not in allowed]
        if bad:
            raise ValueError(
                f"fact {self.fact!r} cannot be {bad}; allowed: {sorted(allowed or [])}"
            )
        return self

    def holds(self, facts: ApplicationFacts) -> bool:
        value = facts.value(self.fact)
        if self.present is not None:
            return (value is not None) == self.present
        if self.empty is not None:
            return (not value) == self.empty
        if self.in_ is not None:
            return value in self.in_
        if self.contains_any is not None:
            return bool(set(value or ()) & set(self.contains_any))
        if self.gt is not None:
            return value is not None and value > self.gt
        return bool(value == self.equals)

    def explain(self, facts: ApplicationFacts) -> list[str]:
        return [f"{self.fact} = {_show(facts.value(self.fact))}"]

    def describe(self) -> str:
        if self.present is not None:
            return f"{self.fact} {'given' if self.present else 'not given'}"
        if self.empty is not None:
            return f"{self.fact} {'empty' if self.empty else 'not empty'}"
        if self.in_ is not None:
            return f"{self.fact} in {self.in_}"
        if self.contains_any is not None:
            return f"{self.fact} contains any of {self.contains_any}"
        if self.gt is not None:
            return f"{self.fact} > {self.gt:g}"
        return f"{self.fact} = {_show(self.equals)}"


def _condition_kind(value: Any) -> str:
    """Which condition a YAML mapping is, so that errors name the right form."""
    if isinstance(value, dict):
        return next((k for k in ("all", "any", "not") if k in value), "fact")
    names: dict[type, str] = {AllOf: "all", AnyOf: "any", Not: "not"}
    return names.get(type(value), "fact")


Condition = Annotated[
    Union[  # noqa: UP007 (forward references need the typing form)
        Annotated[AllOf, Tag("all")],
        Annotated[AnyOf, Tag("any")],
        Annotated[Not, Tag("not")],
        Annotated[FactTest, Tag("fact")],
    ],
    Discriminator(_condition_kind),
]
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def allowed_values(path: str) -> frozenset[Any] | None:
    """The enumerated values a fact may take, or None where it is a number."""
    model: type[BaseModel] = ApplicationFacts
    parts = path.split(".")
    for part in parts[:-1]:
        model = GPAIModelFacts if part == "gpai_model" else model
    annotation = model.model_fields[parts[-1]].annotation
    return _literal_values(annotation)


def _literal_values(annotation: Any) -> frozenset[Any] | None:
    if annotation is bool:
        return frozenset([True, False])
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return frozenset(typing.get_args(annotation))
    if origin in (list, Union) or str(origin) == "<class 'types.UnionType'>":
        values: set[Any] = set()
        for arg in typing.get_args(annotation):
            if arg is type(None):
                values.add(None)
                continue
            inner = _literal_values(arg)
            if inner is None:
                return None
            values |= inner
        return frozenset(values)
    return None


# -- rule records ---------------------------------------------------------------------------


class Basis(RuleBody):
    """Where a rule comes from: an article (paragraph, point) and/or an annex point."""

    act: str = "32024R1689"
    article: str | None = None
    paragraph: str | None = None
    point: str | None = None
    annex: str | None = None
    annex_point: str | None = None

    def citations(self) -> list[str]:
        found: list[str] = []
        if self.article:
            text = f"Art. {self.article}"
            text += f"({self.paragraph})" if self.paragraph else ""
            text += f"({self.point})" if self.point else ""
            found.append(text)
        if self.annex:
            found.append(f"Annex {self.annex} {self.annex_point or ''}".strip())
        return found


class ObligationSpec(RuleBody):
    addressee: Addressee
    article: str
    text: str
    applies_from: date | None = None  # where it differs from the rule's date
    when: Condition | None = None  # owed only where this holds (e.g. Art. 27(1)'s deployers)

    def is_owed(self, facts: ApplicationFacts) -> bool:
        return self.when is None or self.when.holds(facts)


class RuleException(RuleBody):
    """A case the rule does not cover; it goes to ``reroute_to`` (if given) instead."""

    id: str
    when: Condition
    reason: str
    reroute_to: str | None = None
    obligations: list[ObligationSpec] = Field(default_factory=list)
    human_review: bool = False


class Rule(RuleBody):
    id: str
    title: str
    stage: Stage
    tier: Tier | GPAITier | None = None
    basis: Basis
    applies_from: date
    when: Condition | None = None  # None: reached only when an exception reroutes here
    exceptions: list[RuleException] = Field(default_factory=list)
    obligations: list[ObligationSpec] = Field(default_factory=list)
    obligation_set: str | list[str] | None = None
    grants_role: Role | None = None  # Art. 25: the operator is considered to hold this role
    human_review: bool = False
    reason: str

    @property
    def citation(self) -> str:
        return ", ".join(self.basis.citations())

    @property
    def obligation_sets(self) -> list[str]:
        named = self.obligation_set
        if named is None:
            return []
        return [named] if isinstance(named, str) else named


class RuleSet(RuleBody):
    version: str
    source: str
    obligation_sets: dict[str, list[ObligationSpec]] = Field(default_factory=dict)
    rules: list[Rule]

    @model_validator(mode="after")
    def _references_resolve(self) -> RuleSet:
        ids = [r.id for r in self.rules]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
        for rule in self.rules:
            for name in rule.obligation_sets:
                if name not in self.obligation_sets:
                    raise ValueError(f"{rule.id}: no obligation set {name!r}")
            for exc in rule.exceptions:
                if exc.reroute_to and exc.reroute_to not in ids:
                    raise ValueError(f"{rule.id}: reroute to unknown rule {exc.reroute_to!r}")
        return self

    def by_id(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def in_stage(self, stage: Stage) -> list[Rule]:
        return [r for r in self.rules if r.stage == stage]

    def obligations_of(self, rule: Rule) -> list[ObligationSpec]:
        shared = [spec for name in rule.obligation_sets for spec in self.obligation_sets[name]]
        return [*rule.obligations, *shared]


# -- loading --------------------------------------------------------------------------------


def parse_rules(text: str, origin: str = "rules") -> RuleSet:
    """Rules from YAML text; a `ConfigError` naming the problem if they do not validate."""
    try:
        return RuleSet.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{origin} are not valid rules: {exc}") from exc


def load_rules(path: Path | None = None) -> RuleSet:
    """Read and validate a rules file (default: the rules shipped with the package)."""
    if path is None:
        text = resources.files("aicommons.governance").joinpath("rules.yaml").read_text("utf-8")
        return parse_rules(text, "the built-in rules")
    return parse_rules(path.read_text("utf-8"), str(path))


@functools.cache
def default_rules() -> RuleSet:
    """The built-in rules, read once per process."""
    return load_rules()
