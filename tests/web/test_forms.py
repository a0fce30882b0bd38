"""Forms generated from the governance models parse back into the same models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData

from aicommons.governance.classifier import classify
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.rules import default_rules
from aicommons.web.forms import (
    checklist_form,
    current_values,
    facts_form,
    parse_checklist,
    parse_facts,
    validation_message,
)

# What the page submits with its defaults left ticked.
IN_SCOPE = [
    ("ai_system", "on"),
    ("roles", "provider"),
    ("roles", "deployer"),
    ("eu_links", "placed_on_union_market"),
]


def test_every_fact_has_one_control_of_the_right_kind() -> None:
    controls = {f.name: f for g in facts_form() for f in g.fields}
    expected = {n for n in ApplicationFacts.model_fields if n != "gpai_model"}
    assert expected <= set(controls)
    assert controls["annex_iii_uses"].kind == "checkboxes"
    assert "4a_employment_recruitment" in controls["annex_iii_uses"].options
    assert controls["deployer_type"].kind == "select"
    assert controls["profiles_natural_persons"].kind == "checkbox"
    assert controls["synthetic_content"].kind == "checkboxes"
    assert controls["gpai_model.training_compute_flop"].kind == "number"


def test_a_submitted_high_risk_form_classifies_as_high_risk() -> None:
    form = FormData(
        [
            ("description", "Ranks CVs"),
            *IN_SCOPE,
            ("annex_iii_uses", "4a_employment_recruitment"),
            ("annex_iii_uses", "5b_creditworthiness"),
            ("profiles_natural_persons", "on"),
            ("synthetic_content", "text"),
        ]
    )
    facts = parse_facts(form)
    assert facts.profiles_natural_persons and facts.synthetic_content == ["text"]
    assert facts.gpai_model is None
    assert facts.annex_iii_uses == ["4a_employment_recruitment", "5b_creditworthiness"]
    decision = classify(facts, default_rules())
    assert decision.tier == "high_risk"
    assert {"Annex III 4(a)", "Annex III 5(b)"} <= set(decision.articles)


def test_gpai_facts_only_when_ticked() -> None:
    form = FormData([*IN_SCOPE, ("gpai_model", "on"), ("gpai_model.training_compute_flop", "2e25")])
    facts = parse_facts(form)
    assert facts.gpai_model is not None and facts.gpai_model.training_compute_flop == 2e25
    assert current_values(facts)["gpai_model.training_compute_flop"] == 2e25


def test_a_forged_value_is_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_facts(FormData([("roles", "emperor")]))
    assert validation_message(caught.value).startswith("Roles")


def test_no_role_ticked_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_facts(FormData([("eu_links", "placed_on_union_market")]))
    assert validation_message(caught.value).startswith("Roles")


def test_checklist_update_keeps_empty_text_unset() -> None:
    assert next(f.name for f in checklist_form()) == "human_oversight_contact"
    update = parse_checklist(FormData([("log_retention_days", "200"), ("deployer_contact", "")]))
    assert update.model_dump(exclude_unset=True) == {
        "log_retention_days": 200,
        "bias_evaluated": False,
    }
