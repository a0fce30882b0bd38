"""Documents generated for an application: a Hugging Face model card for the model it uses
and a draft of the Annex IV technical documentation. Pure functions over the stored facts,
the decision and what the platform knows about the model; what nobody has told the platform
is marked ``[GAP: ...]`` for a person to fill in, never invented.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from aicommons.engines.base import Engine
from aicommons.governance.classifier import Decision
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.registration import Checklist

_LICENCE_IDS = {"apache-2.0": "apache-2.0", "mit": "mit", "bsd-3-clause": "bsd-3-clause"}


@dataclass(frozen=True)
class ModelInfo:
    """What the platform knows about a served model (no secrets, no internal URLs)."""

    name: str
    engine: str
    context_length: int | None = None
    file: str | None = None
    package: str | None = None
    package_version: str | None = None
    licence: str | None = None
    homepage: str | None = None
    summary: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def describe_model(engine: Engine) -> ModelInfo:
    """What the engine and its distribution package say about a model. Reads package
    metadata from disk: call it in a worker thread from async code."""
    options = engine.spec.options
    file = options.get("file") or options.get("path")
    package = options.get("package")
    meta: dict[str, Any] = {}
    if package:
        try:
            dist = importlib.metadata.metadata(str(package).replace("_", "-")).json
            urls = dist.get("project_url") or []
            meta = {
                "version": dist.get("version"),
                "licence": dist.get("license_expression") or dist.get("license"),
                "summary": dist.get("summary"),
                "homepage": next((u.split(", ", 1)[1] for u in urls if ", " in u), None),
            }
        except importlib.metadata.PackageNotFoundError:
            meta = {}
    return ModelInfo(
        name=engine.spec.name,
        engine=engine.spec.engine,
        context_length=engine.context_length,
        file=str(file).rsplit("/", 1)[-1] if file else None,
        package=str(package) if package else None,
        package_version=meta.get("version"),
        licence=meta.get("licence") or options.get("license"),
        homepage=meta.get("homepage"),
        summary=meta.get("summary"),
    )


@dataclass(frozen=True)
class AppDocInput:
    """An application as the documents need it."""

    id: str
    name: str
    tenant: str
    status: str
    facts: ApplicationFacts
    decision: Decision
    checklist: Checklist
    models: list[str]


def gap(what: str) -> str:
    return f"[GAP: {what}]"


def _listed(values: Sequence[str]) -> str:
    return ", ".join(values) or "none"


def _or_gap(value: Any, what: str) -> str:
    return str(value) if value not in (None, "", []) else gap(what)


def _obligation_lines(decision: Decision) -> list[str]:
    return [
        f"- **{o.addressee}**, Art. {o.article} (from {o.applies_from.isoformat()}): {o.text}"
        for o in decision.obligations
    ]


def _classification_lines(decision: Decision) -> list[str]:
    lines = [f"- Tier: **{decision.tier}** ({decision.summary()})"]
    lines += [
        f"- {f.rule_id} ({', '.join(f.articles)}), {f.outcome}: {f.reason}" for f in decision.fired
    ]
    if decision.human_review:
        lines.append("- A person must review this classification before it is relied on.")
    return lines


def model_card(app: AppDocInput, model: ModelInfo) -> str:
    """Model card markdown with YAML front matter (Hugging Face format)."""
    licence = _LICENCE_IDS.get((model.licence or "").lower(), "other")
    front: dict[str, Any] = {
        "license": licence,
        "model_name": model.name,
        "library_name": "gguf" if model.engine == "llamacpp" else model.engine,
        "pipeline_tag": "text-generation",
        "tags": ["aicommons", f"eu-ai-act-{app.decision.tier.replace('_', '-')}"],
    }
    bias = (
        f"Evaluated on the bias suite: {app.checklist.bias_evaluation_ref}"
        if app.checklist.bias_evaluation_ref
        else "Declared evaluated on the bias suite (no evidence reference given)."
        if app.checklist.bias_evaluated
        else gap("bias evaluation results from the leaderboard's bias suite")
    )
    sections = [
        f"# {model.name}",
        "",
        f"Used by the application **{app.name}** of tenant **{app.tenant}** on AI Commons.",
        "",
        "## Model details",
        f"- Engine: {model.engine}",
        f"- Weights file: {_or_gap(model.file, 'weights file')}",
        f"- Distributed in package: {_or_gap(model.package, 'distribution')}"
        + (f" {model.package_version}" if model.package_version else ""),
        f"- Licence: {_or_gap(model.licence, 'licence of the weights')}",
        f"- Homepage: {_or_gap(model.homepage, 'model homepage or repository')}",
        f"- Context length: {_or_gap(model.context_length, 'context length')} tokens",
        f"- Summary: {_or_gap(model.summary, 'model summary')}",
        f"- Training data: {gap('training data summary (Art. 53(1)(d))')}",
        "",
        "## Intended use",
        _or_gap(app.facts.description, "intended purpose of the application"),
        "",
        "## Out-of-scope use",
        "Any practice prohibited by Art. 5 of Regulation (EU) 2024/1689; the platform refuses "
        "applications declaring one.",
        "",
        "## Risk classification (EU AI Act)",
        *_classification_lines(app.decision),
        "",
        "## Bias, risks and limitations",
        bias,
        "",
        "## Evaluation",
        gap("capability and safety results from the open leaderboard"),
        "",
        "## Environmental impact",
        gap("energy per query and carbon intensity from the platform's meters"),
    ]
    return "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\n" + "\n".join(sections) + "\n"


def annex_iv(app: AppDocInput, models: list[ModelInfo]) -> str:
    """A draft of the technical documentation of Annex IV (nine sections)."""
    facts, decision, checklist = app.facts, app.decision, app.checklist
    model_lines = [
        f"- {m.name}: engine {m.engine}, licence {_or_gap(m.licence, 'licence')}, "
        f"file {_or_gap(m.file, 'weights file')}"
        for m in models
    ] or [gap("models the system uses")]
    retention = checklist.log_retention_days
    sections = [
        f"# Technical documentation (Annex IV draft): {app.name}",
        "",
        f"Application `{app.id}` of tenant {app.tenant}; status {app.status}; "
        f"rules {decision.rules_version}. Generated by AI Commons; a draft for the provider to "
        "complete, not a conformity assessment.",
        "",
        "## 1. General description",
        f"- Intended purpose: {_or_gap(facts.description, 'intended purpose')}",
        f"- Roles: {_listed(facts.roles)}; deployer type: {facts.deployer_type}",
        f"- Annex III points: {_listed(facts.annex_iii_uses)}; "
        f"Annex I products: {_listed(facts.annex_i_products)}",
        "- Models used:",
        *model_lines,
        f"- Hardware and deployment form: {gap('hardware, versions, forms of deployment')}",
        f"- Instructions for use (Art. 13): {gap('instructions for use')}",
        "",
        "## 2. Development",
        f"- Design choices and architecture: {gap('system design and architecture')}",
        f"- Data provenance and governance (Art. 10): {gap('data sheets and provenance')}",
        f"- Human oversight (Art. 14): "
        f"{_or_gap(checklist.human_oversight_contact, 'human oversight measures and contact')}",
        f"- Testing and validation: {gap('test procedures, metrics, signed test logs')}",
        f"- Cybersecurity (Art. 15): {gap('cybersecurity measures')}",
        "",
        "## 3. Monitoring, functioning and control",
        f"- Logging (Art. 12): logs kept {_or_gap(retention, 'log retention')} days "
        "(at least 183 required by Art. 26(6))",
        f"- Accuracy per group of persons: {gap('per-group accuracy and foreseeable bias')}",
        f"- Bias evaluation: {_or_gap(checklist.bias_evaluation_ref, 'bias suite evidence')}",
        "",
        "## 4. Appropriateness of the performance metrics",
        gap("why the chosen metrics fit the purpose"),
        "",
        "## 5. Risk management system (Art. 9)",
        *_classification_lines(decision),
        gap("risk management measures"),
        "",
        "## 6. Changes over the lifecycle",
        gap("relevant changes made by the provider"),
        "",
        "## 7. Harmonised standards and specifications applied",
        gap("standards or common specifications"),
        "",
        "## 8. EU declaration of conformity (Art. 47)",
        gap("copy of the declaration of conformity"),
        "",
        "## 9. Post-market monitoring plan (Art. 72)",
        gap("post-market monitoring plan"),
        "",
        "## Obligations that follow from the classification",
        *(_obligation_lines(decision) or ["- none beyond Art. 4"]),
        "",
        f"Deployer contact: {_or_gap(checklist.deployer_contact, 'deployer contact')}",
    ]
    return "\n".join(sections) + "\n"
