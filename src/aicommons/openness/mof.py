"""Model Openness Framework (MOF v1, LF AI & Data) records and their class.

Record format: the per-model YAML files of lfai/model_openness_tool (``framework`` +
``release`` with ``license`` and ``components``). Rules implemented here:

1. Components and classes (MOF v1; the tool's ``mof.settings.yml``):
   - Class III, Open Model: model architecture, final parameters, technical report,
     evaluation results, model card, data card (sample model outputs optional).
   - Class II, Open Tooling: Class III plus training code, inference code, evaluation code and
     evaluation data (supporting libraries and tools optional).
   - Class I, Open Science: Class II plus research paper, datasets, data preprocessing code and
     intermediate parameters (model metadata optional).
2. A component counts when it is listed with an open licence for one of its content types
   (code, data, document; see `licences`). A component with no licence of its own takes the
   release-wide licence for its content type (``license.code``/``data``/``document``), else
   ``license.distribution``; ``unlicensed`` and similar placeholders mean no licence.
3. A model is in the best class whose required components (its own and those of the lower
   classes) all count. As in the MOF tool, final parameters under an OSI-approved licence give
   a *conditional* Class III even when other Class III components are missing.
4. Otherwise the model is unclassified (class 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aicommons.openness.licences import ContentType, is_open, is_osi_approved, normalise


@dataclass(frozen=True, slots=True)
class ComponentRule:
    name: str
    mof_class: int
    content: tuple[ContentType, ...]
    required: bool = True


COMPONENTS: tuple[ComponentRule, ...] = (
    ComponentRule("Model architecture", 3, ("code",)),
    ComponentRule("Model parameters (Final)", 3, ("data", "code")),
    ComponentRule("Technical report", 3, ("document", "code")),
    ComponentRule("Evaluation results", 3, ("document", "code")),
    ComponentRule("Model card", 3, ("document", "code")),
    ComponentRule("Data card", 3, ("document", "code")),
    ComponentRule("Sample model outputs", 3, ("data", "code", "document"), required=False),
    ComponentRule("Training code", 2, ("code",)),
    ComponentRule("Inference code", 2, ("code",)),
    ComponentRule("Evaluation code", 2, ("code",)),
    ComponentRule("Evaluation data", 2, ("data",)),
    ComponentRule("Supporting libraries and tools", 2, ("code",), required=False),
    ComponentRule("Research paper", 1, ("document",)),
    ComponentRule("Datasets", 1, ("data", "code", "document")),
    ComponentRule("Data preprocessing code", 1, ("code",)),
    ComponentRule("Model parameters (Intermediate)", 1, ("data",)),
    ComponentRule("Model metadata", 1, ("data",), required=False),
)
RULES = {rule.name: rule for rule in COMPONENTS}
CLASS_LABELS = {
    0: "Unclassified",
    1: "Class I - Open Science",
    2: "Class II - Open Tooling",
    3: "Class III - Open Model",
}
FINAL_PARAMETERS = "Model parameters (Final)"


class MofFormatError(ValueError):
    """The file is not a Model Openness Framework record."""


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    licence: str | None  # SPDX id or cleaned name; None if unlicensed
    is_open: bool


@dataclass(frozen=True, slots=True)
class MofRecord:
    name: str
    producer: str
    base_model: str | None
    licence: str | None
    framework_version: str
    components: dict[str, Component] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MofClass:
    mof_class: int
    label: str
    is_conditional: bool
    missing: dict[int, list[str]]  # class -> required components that do not count

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.mof_class,
            "label": self.label,
            "conditional": self.is_conditional,
            "missing": {str(k): v for k, v in self.missing.items()},
        }


def is_mof_document(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("framework"), dict)
        and data["framework"].get("name") == "Model Openness Framework"
        and isinstance(data.get("release"), dict)
    )


def parse_mof(data: Any) -> MofRecord:
    """A record from one parsed MOF YAML document."""
    if not is_mof_document(data):
        raise MofFormatError("not a Model Openness Framework record (framework/release)")
    release = data["release"]
    name = str(release.get("name") or "").strip()
    if not name:
        raise MofFormatError("release.name is empty")
    global_licences = _global_licences(release.get("license"))
    components = {}
    for item in release.get("components") or []:
        if not isinstance(item, dict) or item.get("name") not in RULES:
            continue  # unknown components do not count towards any class
        rule = RULES[item["name"]]
        licence = _component_licence(item, rule, global_licences)
        components[rule.name] = Component(rule.name, licence, is_open(licence, rule.content))
    return MofRecord(
        name=name,
        producer=str(release.get("producer") or ""),
        base_model=str(release.get("origin") or "") or None,
        licence=global_licences.get("distribution"),
        framework_version=str(data["framework"].get("version") or ""),
        components=components,
    )


def _global_licences(value: Any) -> dict[str, str | None]:
    if not isinstance(value, dict):
        return {}
    found = {}
    for kind in ("distribution", "code", "data", "document"):
        entry = value.get(kind)
        if isinstance(entry, dict):
            found[kind] = normalise(entry.get("name"))
    return found


def _component_licence(
    item: dict[str, Any], rule: ComponentRule, global_licences: dict[str, str | None]
) -> str | None:
    if "license" in item:
        return normalise(item["license"])
    for kind in rule.content:
        if global_licences.get(kind):
            return global_licences[kind]
    return global_licences.get("distribution")


def classify(record: MofRecord) -> MofClass:
    """The record's MOF class under the rules in this module's docstring."""
    missing: dict[int, list[str]] = {}
    for level in (3, 2, 1):
        needed = [r.name for r in COMPONENTS if r.required and r.mof_class >= level]
        missing[level] = [
            n for n in needed if not (n in record.components and record.components[n].is_open)
        ]
    for level in (1, 2, 3):
        if not missing[level]:
            return MofClass(level, CLASS_LABELS[level], False, missing)
    final = record.components.get(FINAL_PARAMETERS)
    if final is not None and is_osi_approved(final.licence):
        return MofClass(3, CLASS_LABELS[3], True, missing)
    return MofClass(0, CLASS_LABELS[0], False, missing)
