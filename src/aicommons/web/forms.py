"""HTML forms generated from the governance models: the application facts and the checklist.

The fields come from the Pydantic models themselves (``ApplicationFacts``, ``GPAIModelFacts``,
``Checklist``), so a new fact appears in the form without editing a template: an enumerated
value becomes a <select>, a boolean a checkbox, a list of enumerated values a set of
checkboxes, a number a number input. Only the grouping into fieldsets is declared here.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from aicommons.governance.facts import ApplicationFacts, GPAIModelFacts
from aicommons.governance.registration import Checklist, ChecklistUpdate

Kind = Literal["select", "checkbox", "checkboxes", "number", "text", "textarea"]
GPAI_PREFIX = "gpai_model."
GPAI_SWITCH = "gpai_model"

# Fieldsets in the order of the AI Act's reasoning; a fact not named here lands in "Other".
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Purpose, scope and roles (Arts 2, 3, 25)",
        (
            "description",
            "ai_system",
            "eu_links",
            "scope_exclusions",
            "released_under_foss_licence",
            "roles",
            "value_chain_changes",
            "deployer_type",
            "provides_public_services",
        ),
    ),
    (
        "High-risk uses (Art. 6, Annexes I and III)",
        (
            "annex_iii_uses",
            "annex_iii_carve_outs",
            "profiles_natural_persons",
            "art_6_3_condition",
            "annex_i_products",
            "annex_i_third_party_assessment",
        ),
    ),
    (
        "Prohibited practices (Art. 5)",
        (
            "subliminal_or_manipulative",
            "exploits_vulnerabilities",
            "social_scoring",
            "crime_risk_prediction",
            "untargeted_facial_scraping",
            "emotion_inference",
            "emotion_setting",
            "medical_or_safety_purpose",
            "biometric_categorisation",
            "biometric_attributes",
            "labels_lawfully_acquired_dataset",
            "remote_biometric_identification",
            "publicly_accessible_space",
            "rbi_purpose",
        ),
    ),
    (
        "Transparency (Art. 50)",
        (
            "interacts_with_people",
            "ai_interaction_obvious",
            "synthetic_content",
            "assistive_editing_only",
            "deepfake",
            "artistic_or_satirical",
            "publishes_public_interest_text",
            "human_editorial_responsibility",
            "authorised_by_law_for_criminal_offences",
            "public_can_report_crime",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    kind: Kind
    help: str = ""
    options: tuple[str, ...] = ()
    default: Any = None


@dataclass(slots=True)
class FieldGroup:
    title: str
    fields: list[FormField] = field(default_factory=list)


# Words a label writes as the AI Act does.
_WORDS = {
    "i": "I",
    "iii": "III",
    "ai": "AI",
    "eu": "EU",
    "foss": "FOSS",
    "rbi": "RBI",
    "art": "Art.",
}


def _label(name: str) -> str:
    words = [_WORDS.get(w, w) for w in name.replace(".", " ").replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _literal_options(annotation: Any) -> tuple[str, ...] | None:
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation))
    return None


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def form_field(name: str, info: FieldInfo) -> FormField:
    """The form control for one model field, chosen from its type."""
    annotation = _strip_optional(info.annotation)
    if get_origin(annotation) is not None and get_origin(annotation) not in (Literal, list):
        annotation = get_args(annotation)[0]  # Annotated[float, Field(...)] and friends
    help_text = info.description or ""
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    options = _literal_options(annotation)
    kind: Kind
    if options is not None:
        kind = "select"
    elif get_origin(annotation) is list:
        options = _literal_options(get_args(annotation)[0]) or ()
        kind = "checkboxes"
    elif annotation is bool:
        kind = "checkbox"
    elif annotation in (int, float):
        kind = "number"
    else:
        kind = "textarea" if name == "description" else "text"
    return FormField(name, _label(name), kind, help_text, options or (), default)


def facts_form() -> list[FieldGroup]:
    """The application facts as fieldsets; the GPAI model facts form the last one."""
    fields = {
        n: form_field(n, info)
        for n, info in ApplicationFacts.model_fields.items()
        if n != GPAI_SWITCH
    }
    answer = fields.pop("general_purpose_model")  # shown with the model facts it governs
    groups = [
        FieldGroup(title, [fields.pop(n) for n in names if n in fields]) for title, names in GROUPS
    ]
    if fields:
        groups.append(FieldGroup("Other", list(fields.values())))
    gpai = [
        answer,
        FormField(GPAI_SWITCH, "Provides a general-purpose AI model", "checkbox",
                  "Tick to declare the model facts below (Arts 51-55).", (), False),
    ]  # fmt: skip
    for n, info in GPAIModelFacts.model_fields.items():
        item = form_field(n, info)
        gpai.append(
            FormField(GPAI_PREFIX + n, item.label, item.kind, item.help, item.options, item.default)
        )
    groups.append(FieldGroup("General-purpose AI model (Arts 51-55)", gpai))
    return groups


def checklist_form() -> list[FormField]:
    return [form_field(n, info) for n, info in Checklist.model_fields.items()]


class FormValues(Protocol):
    """What the parsers need of a submitted form (Starlette's ``FormData`` has it)."""

    def getlist(self, key: str) -> list[Any]: ...


def _first(form: FormValues, name: str) -> str | None:
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    return values[0] if values else None


def _value(form: FormValues, item: FormField) -> Any:
    """The submitted value of one control; absent means "not given" (None)."""
    if item.kind == "checkbox":
        return _first(form, item.name) is not None
    if item.kind == "checkboxes":
        return [v for v in form.getlist(item.name) if isinstance(v, str)]
    raw = (_first(form, item.name) or "").strip()
    if item.kind == "number":
        if not raw:
            return None
        try:
            return float(raw) if "." in raw or "e" in raw.lower() else int(raw)
        except ValueError:
            return raw  # let the model's validation name the field
    return raw if raw or item.kind == "textarea" else None


def parse_facts(form: FormValues) -> ApplicationFacts:
    """The facts from a submitted facts form; raises pydantic's ``ValidationError``."""
    data: dict[str, Any] = {}
    gpai: dict[str, Any] = {}
    for group in facts_form():
        for item in group.fields:
            if item.name == GPAI_SWITCH:
                continue
            value = _value(form, item)
            if value is None:
                continue
            if item.name.startswith(GPAI_PREFIX):
                gpai[item.name.removeprefix(GPAI_PREFIX)] = value
            else:
                data[item.name] = value
    if _first(form, GPAI_SWITCH) is not None:
        data[GPAI_SWITCH] = gpai
    return ApplicationFacts.model_validate(data)


def parse_checklist(form: FormValues) -> ChecklistUpdate:
    """A checklist update from the form: empty text fields leave the stored value as it is."""
    data = {}
    for item in checklist_form():
        value = _value(form, item)
        if value is not None:
            data[item.name] = value
    return ChecklistUpdate.model_validate(data)


def validation_message(exc: ValidationError) -> str:
    """One line per problem, naming the field as the form labels it."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "form"
        lines.append(f"{_label(where)}: {error['msg']}")
    return "; ".join(lines)


def current_values(model: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """Values keyed like the form's controls (dotted for the GPAI facts), to prefill it."""
    data = model.model_dump(mode="json") if isinstance(model, BaseModel) else dict(model)
    gpai = data.pop(GPAI_SWITCH, None)
    if isinstance(gpai, dict):
        data[GPAI_SWITCH] = True
        data.update({GPAI_PREFIX + k: v for k, v in gpai.items()})
    return data
