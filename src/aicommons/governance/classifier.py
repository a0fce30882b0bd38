"""The AI Act classifier: `classify(facts, rules) -> Decision`. Pure: no I/O, no clock.

Evaluation order (after the reference's proposal, section 4):

0. Scope. Art. 2(1) (no link to the Union) and the exclusions of Art. 2(3), 2(4), 2(6),
   2(8) and 2(10) put the case outside the Act: tier ``out_of_scope`` with its article, and
   nothing else is evaluated. Not an AI system (Art. 3(1)) ends the system track only; a
   general-purpose model's own track still runs.
1. Art. 5 prohibitions. A match stops the system track; an exception re-routes the case
   (e.g. 5(1)(h) with one of its three objectives goes to Annex III 1(a)), it never clears it.
2. Art. 6(1) with Annex I (every declared product).
3. Annex III (every declared point), then the Art. 6(3) derogation, which profiling blocks.
   The derogation does not clear a case re-routed here from a prohibition.
4. Art. 25: for a high-risk system, an operator who changed it is considered its provider.
5. Art. 50 duties, stacked on top: a system can be high-risk and transparency at once.
6. Otherwise minimal (Art. 95), or outside the Act for a free and open-source system
   (Art. 2(12)); Art. 4 (AI literacy) is added to every case inside the Act.

The general-purpose model track (Arts 51-55) runs on its own whenever the facts say whether
a general-purpose model is provided. An obligation is listed when its addressee is one of
the operator's roles (those Art. 25 adds included) and its own condition, if any, holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel

from aicommons.governance.facts import ApplicationFacts, GPAIModelFacts, Role
from aicommons.governance.rules import (
    GPAITier,
    ObligationSpec,
    Rule,
    RuleException,
    RuleSet,
    Stage,
    Tier,
)

Outcome = Literal["applies", "rerouted", "excepted", "derogated"]
TIER_ORDER: tuple[Tier, ...] = (
    "out_of_scope",
    "prohibited",
    "high_risk",
    "transparency",
    "minimal",
)


class FiredRule(BaseModel):
    """A rule whose conditions held, what became of it and why."""

    rule_id: str
    title: str
    stage: Stage
    articles: list[str]
    tier: Tier | GPAITier | None
    outcome: Outcome
    reason: str
    matched: list[str]
    exception: str | None = None
    rerouted_to: str | None = None


class Obligation(BaseModel):
    addressee: Role
    article: str
    text: str
    applies_from: date
    rule_id: str
    in_force: bool | None = None


class GPAIDecision(BaseModel):
    tier: GPAITier
    systemic_risk: bool
    open_source_exemption: bool


class Decision(BaseModel):
    """The classification with everything needed to explain it."""

    tier: Tier
    tiers: list[Tier]
    articles: list[str]
    fired: list[FiredRule]
    obligations: list[Obligation]
    human_review: bool
    gpai: GPAIDecision | None = None
    rules_version: str
    evaluated_on: date | None = None

    @property
    def has_transparency_duties(self) -> bool:
        return "transparency" in self.tiers

    def articles_for(self, tier: Tier) -> list[str]:
        """The articles of the rules that put the case in ``tier``."""
        return _unique(
            a for f in self.fired if f.tier == tier and f.outcome == "applies" for a in f.articles
        )

    def summary(self) -> str:
        """One line, e.g. ``high_risk (Annex III 4(a)) + transparency (Art. 50(1))``."""
        parts = [f"{t} ({', '.join(self.articles_for(t))})" for t in self.tiers]
        return " + ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass
class _Entry:
    fired: FiredRule
    human_review: bool
    obligations: list[tuple[ObligationSpec, date]]


@dataclass
class _Run:
    """The bookkeeping of one classification."""

    facts: ApplicationFacts
    rules: RuleSet
    entries: list[_Entry] = field(default_factory=list)
    forced: dict[str, tuple[Rule, RuleException]] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)

    def stage(self, stage: Stage) -> None:
        for rule in self.rules.in_stage(stage):
            self.evaluate(rule)

    def evaluate(self, rule: Rule) -> _Entry | None:
        """Record what ``rule`` does to the case, if anything."""
        if rule.id in self.done:
            return None
        if rule.id in self.forced:
            return self._record_rerouted_here(rule, *self.forced[rule.id])
        if rule.when is None or not rule.when.holds(self.facts):
            return None
        held = rule.when.explain(self.facts)
        exception = next((e for e in rule.exceptions if e.when.holds(self.facts)), None)
        if exception is None:
            duties = _dated(self.rules.obligations_of(rule), rule)
            return self._add(rule, "applies", rule.reason, held, rule.human_review, duties)
        return self._record_exception(rule, exception, held)

    def _record_exception(self, rule: Rule, exc: RuleException, held: list[str]) -> _Entry:
        if exc.reroute_to:
            self.forced[exc.reroute_to] = (rule, exc)
        entry = self._add(
            rule,
            "rerouted" if exc.reroute_to else "excepted",
            exc.reason,
            held + exc.when.explain(self.facts),
            exc.human_review,
            _dated(exc.obligations, rule),
        )
        entry.fired.exception = exc.id
        entry.fired.rerouted_to = exc.reroute_to
        return entry

    def _record_rerouted_here(self, rule: Rule, source: Rule, exc: RuleException) -> _Entry:
        reason = f"{rule.reason} Re-routed from {source.citation}: {exc.reason}"
        held = source.when.explain(self.facts) if source.when is not None else []
        matched = held + exc.when.explain(self.facts)
        duties = _dated(self.rules.obligations_of(rule), rule)
        return self._add(rule, "applies", reason, matched, rule.human_review, duties)

    def _add(
        self,
        rule: Rule,
        outcome: Outcome,
        reason: str,
        matched: list[str],
        human_review: bool,
        obligations: list[tuple[ObligationSpec, date]],
    ) -> _Entry:
        fired = FiredRule(
            rule_id=rule.id,
            title=rule.title,
            stage=rule.stage,
            articles=rule.basis.citations(),
            tier=rule.tier,
            outcome=outcome,
            reason=reason,
            matched=_unique(matched),
        )
        entry = _Entry(fired, human_review, obligations)
        self.entries.append(entry)
        self.done.add(rule.id)
        return entry

    def applying(self, stage: Stage | None = None) -> list[_Entry]:
        return [
            e
            for e in self.entries
            if e.fired.outcome == "applies" and (stage is None or e.fired.stage == stage)
        ]

    def tiers(self) -> list[Tier]:
        found = {e.fired.tier for e in self.applying()}
        return [t for t in TIER_ORDER if t in found]

    def is_out_of_scope(self) -> bool:
        return "out_of_scope" in self.tiers()

    def roles(self) -> list[Role]:
        """The declared roles and those Art. 25 makes the operator hold."""
        granted = [
            rule.grants_role
            for e in self.applying("role_change")
            if (rule := self.rules.by_id(e.fired.rule_id)).grants_role is not None
        ]
        return list(dict.fromkeys([*self.facts.roles, *granted]))


def classify(facts: ApplicationFacts, rules: RuleSet, on: date | None = None) -> Decision:
    """Classify ``facts`` under ``rules``; ``on`` marks which obligations are in force."""
    run = _Run(facts, rules)
    run.stage("scope")
    if not run.is_out_of_scope():
        run.stage("system_scope")
        if not run.is_out_of_scope():
            run.stage("prohibition")
            if "prohibited" not in run.tiers():
                _classify_permitted_system(run)
        run.stage("gpai")
    return _decision(run, on)


def classify_model(model: GPAIModelFacts, rules: RuleSet, on: date | None = None) -> Decision:
    """The general-purpose model track alone, for a model's own facts."""
    run = _Run(ApplicationFacts(general_purpose_model="yes", gpai_model=model), rules)
    run.stage("gpai")
    return _decision(run, on)


def _classify_permitted_system(run: _Run) -> None:
    run.stage("annex_i")
    run.stage("annex_iii")
    _apply_derogation(run)
    if "high_risk" in run.tiers():
        run.stage("role_change")
    run.stage("transparency")
    general = run.rules.in_stage("general")
    for rule in general:
        # Minimal (or outside the Act, Art. 2(12)) is the fallback: only when nothing else
        # placed the case.
        if rule.tier is not None and (not run.tiers() or rule.id in run.forced):
            run.evaluate(rule)
    if not run.is_out_of_scope():
        for rule in general:
            if rule.tier is None:
                run.evaluate(rule)


def _apply_derogation(run: _Run) -> None:
    """Art. 6(3): Annex III cases reached on their own facts may fall out of high-risk."""
    candidates = [e for e in run.applying("annex_iii") if e.fired.rule_id not in run.forced]
    if not candidates:
        return
    for rule in run.rules.in_stage("derogation"):
        entry = run.evaluate(rule)
        if entry is None or entry.fired.outcome != "applies":
            continue
        for candidate in candidates:
            candidate.fired.outcome = "derogated"
            candidate.fired.reason += f" Derogated under {rule.citation}."
            candidate.obligations = []


def _decision(run: _Run, on: date | None) -> Decision:
    tiers = run.tiers() or ["minimal"]
    for exclusive in ("out_of_scope", "prohibited"):
        if exclusive in tiers:
            tiers = [exclusive]
            break
    roles = run.roles()
    owed = [
        Obligation(
            addressee=spec.addressee,
            article=spec.article,
            text=spec.text,
            applies_from=due,
            rule_id=entry.fired.rule_id,
            in_force=None if on is None else due <= on,
        )
        for entry in run.entries
        if entry.fired.outcome != "derogated"
        for spec, due in entry.obligations
        if spec.is_owed(run.facts) and _addressed(spec, roles, entry.fired.stage)
    ]
    # Several Annex III points (or Annex I products) owe the same duties once.
    obligations = _first_of_each(owed)
    fired = [e.fired for e in run.entries]
    return Decision(
        tier=tiers[0],
        tiers=[t for t in tiers if t != "minimal" or len(tiers) == 1],
        articles=_unique(a for f in fired for a in f.articles),
        fired=fired,
        obligations=obligations,
        human_review=any(e.human_review for e in run.entries if e.fired.outcome != "derogated"),
        gpai=_gpai_decision(run),
        rules_version=run.rules.version,
        evaluated_on=on,
    )


def _first_of_each(owed: list[Obligation]) -> list[Obligation]:
    """One obligation per addressee and article, the first rule's."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for obligation in owed:
        key = (obligation.addressee, obligation.article)
        if key not in seen:
            seen.add(key)
            kept.append(obligation)
    return kept


def _addressed(spec: ObligationSpec, roles: list[Role], stage: Stage) -> bool:
    # The model track's rules already select by the model role (provider, authorised
    # representative, modifier); the system's roles do not apply to them.
    return stage == "gpai" or spec.addressee in roles


def _gpai_decision(run: _Run) -> GPAIDecision | None:
    entries = [e.fired for e in run.entries if e.fired.stage == "gpai"]
    if not entries:
        return None
    if any(f.tier == "not_gpai" for f in entries):
        return GPAIDecision(tier="not_gpai", systemic_risk=False, open_source_exemption=False)
    systemic = any(f.tier == "gpai_systemic_risk" and f.outcome == "applies" for f in entries)
    exempt = any(f.exception == "open_source" for f in entries)
    return GPAIDecision(
        tier="gpai_systemic_risk" if systemic else "gpai",
        systemic_risk=systemic,
        open_source_exemption=exempt,
    )


def _dated(specs: list[ObligationSpec], rule: Rule) -> list[tuple[ObligationSpec, date]]:
    """Each obligation with its date: its own where given, else its rule's."""
    return [(spec, spec.applies_from or rule.applies_from) for spec in specs]


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
