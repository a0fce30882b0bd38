"""What the second facts schema can say: scope (Arts 2, 3(1)), every operator role and the
Art. 25 role changes, several Annex III points and Annex I products at once, the
general-purpose model roles and systemic-risk routes; the law-enforcement exemptions of
Art. 50; one regression test per rule defect found against the Commission's checker; and
facts stored under the first schema still read."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from aicommons.governance.classifier import Decision, classify, classify_model
from aicommons.governance.facts import ApplicationFacts, GPAIModelFacts
from aicommons.governance.rules import default_rules

RULES = default_rules()


def decide(**facts: Any) -> Decision:
    return classify(ApplicationFacts(**facts), RULES)


def articles_owed(decision: Decision, addressee: str | None = None) -> set[str]:
    return {o.article for o in decision.obligations if addressee in (None, o.addressee)}


# -- scope: outside the Act is an outcome of its own ---------------------------------------


@pytest.mark.parametrize(
    ("facts", "article"),
    [
        ({"eu_links": []}, "Art. 2(1)"),
        ({"scope_exclusions": ["military_defence_national_security"]}, "Art. 2(3)"),
        ({"scope_exclusions": ["third_country_authority_cooperation"]}, "Art. 2(4)"),
        ({"scope_exclusions": ["scientific_research_only"]}, "Art. 2(6)"),
        ({"scope_exclusions": ["research_before_placing_on_market"]}, "Art. 2(8)"),
        (
            {"scope_exclusions": ["personal_non_professional_use"], "roles": ["deployer"]},
            "Art. 2(10)",
        ),
        ({"ai_system": False}, "Art. 3(1)"),
    ],
)
def test_outside_the_act_names_its_article(facts: dict[str, Any], article: str) -> None:
    # Even a prohibited practice: the Regulation does not reach it at all.
    decision = decide(social_scoring=True, **facts)
    assert decision.tiers == ["out_of_scope"]
    assert decision.articles_for("out_of_scope") == [article]
    assert decision.obligations == []
    assert "Art. 5(1)(c)" not in decision.articles


def test_each_union_link_brings_the_system_into_scope() -> None:
    for link in ("deployer_in_union", "output_used_in_union", "affected_persons_in_union"):
        assert decide(eu_links=[link], social_scoring=True).tier == "prohibited"


def test_personal_use_does_not_free_a_provider() -> None:
    facts = {"scope_exclusions": ["personal_non_professional_use"], "roles": ["provider"]}
    assert decide(interacts_with_people=True, **facts).tier == "transparency"


def test_a_model_is_checked_even_when_no_ai_system_is() -> None:
    decision = decide(ai_system=False, general_purpose_model="yes")
    assert decision.tier == "out_of_scope"
    assert decision.gpai is not None and decision.gpai.tier == "gpai"
    assert "53(1)(c)" in articles_owed(decision)


def test_a_military_model_is_outside_too() -> None:
    decision = decide(
        scope_exclusions=["military_defence_national_security"], general_purpose_model="yes"
    )
    assert decision.gpai is None and decision.obligations == []


# -- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "article"),
    [("importer", "23"), ("distributor", "24"), ("authorised_representative", "22")],
)
def test_each_operator_owes_its_own_high_risk_duties(role: str, article: str) -> None:
    decision = decide(roles=[role], annex_iii_uses=["5b_creditworthiness"])
    assert articles_owed(decision) == {article}


@pytest.mark.parametrize(
    "change", ["own_name_or_trademark", "substantial_modification", "changed_intended_purpose"]
)
def test_art_25_makes_a_distributor_the_provider(change: str) -> None:
    decision = decide(
        roles=["distributor"],
        value_chain_changes=[change],
        annex_iii_uses=["4a_employment_recruitment"],
    )
    assert "Art. 25(1)(a-c)" in decision.articles
    assert {"9", "43", "49(1)", "24"} <= articles_owed(decision)
    assert decision.human_review


def test_art_25_needs_a_high_risk_system() -> None:
    decision = decide(
        roles=["distributor"], value_chain_changes=["own_name_or_trademark"], deepfake=True
    )
    assert "Art. 25(1)(a-c)" not in decision.articles
    assert "50(2)" not in articles_owed(decision)  # a provider's duty; no provider here


def test_art_25_3_product_manufacturer_becomes_the_provider() -> None:
    decision = decide(
        roles=["product_manufacturer"],
        value_chain_changes=["product_under_own_name"],
        annex_i_products=["machinery"],
        annex_i_third_party_assessment=True,
    )
    assert "Art. 25(3)" in decision.articles
    assert {"9", "43", "48"} <= articles_owed(decision, "provider")


# -- several Annex III points and Annex I products ------------------------------------------


def test_every_declared_annex_iii_point_fires() -> None:
    decision = decide(
        annex_iii_uses=[
            "3a_education_admission",
            "4b_employment_work_relations",
            "8b_elections_influence",
        ]
    )
    cited = decision.articles_for("high_risk")
    assert {"Annex III 3(a)", "Annex III 4(b)", "Annex III 8(b)"} <= set(cited)
    fired = {f.rule_id for f in decision.fired if f.outcome == "applies"}
    assert {"AIA.III.3.a", "AIA.III.4.b", "AIA.III.8.b"} <= fired
    assert [o.article for o in decision.obligations].count("9") == 1  # owed once


def test_a_carve_out_removes_only_its_own_point() -> None:
    decision = decide(
        annex_iii_uses=["5b_creditworthiness", "5c_life_health_insurance"],
        annex_iii_carve_outs=["fraud_detection_only"],
    )
    assert "Annex III 5(c)" in decision.articles_for("high_risk")
    assert "Annex III 5(b)" not in decision.articles_for("high_risk")


def test_every_declared_annex_i_product_fires() -> None:
    decision = decide(
        annex_i_products=["medical_devices", "motor_vehicles"], annex_i_third_party_assessment=True
    )
    fired = {f.rule_id for f in decision.fired if f.outcome == "applies"}
    assert {"AIA.6.1.A", "AIA.6.1.B"} <= fired


# -- general-purpose models -----------------------------------------------------------------


def test_not_a_general_purpose_model_is_an_answer() -> None:
    decision = decide(general_purpose_model="no")
    assert decision.gpai is not None and decision.gpai.tier == "not_gpai"
    assert "Art. 3(63)" in decision.articles
    unanswered = decide()
    assert unanswered.gpai is None


def test_no_with_model_facts_is_refused() -> None:
    with pytest.raises(ValidationError, match="general_purpose_model"):
        ApplicationFacts(general_purpose_model="no", gpai_model=GPAIModelFacts())


def test_high_impact_by_evaluation_is_systemic_risk() -> None:
    decision = classify_model(GPAIModelFacts(high_impact_capabilities_evaluated=True), RULES)
    assert decision.gpai is not None and decision.gpai.systemic_risk
    assert "Art. 51(1)(a)" in decision.articles
    assert {"52", "55(1)(a)"} <= articles_owed(decision)


def test_an_evaluated_open_model_loses_the_open_source_exemption() -> None:
    model = GPAIModelFacts(
        open_licence=True, weights_public=True, high_impact_capabilities_evaluated=True
    )
    decision = classify_model(model, RULES)
    assert decision.gpai is not None and not decision.gpai.open_source_exemption
    assert "53(1)(a)" in articles_owed(decision)


def test_authorised_representative_of_a_model_provider() -> None:
    decision = classify_model(GPAIModelFacts(role="authorised_representative"), RULES)
    assert articles_owed(decision) == {"54(3)", "54(5)"}
    assert "Art. 54(3)" in decision.articles


def test_downstream_modifier_with_and_without_significant_modification() -> None:
    light = classify_model(GPAIModelFacts(role="downstream_modifier"), RULES)
    assert articles_owed(light) == set()
    assert any(f.rule_id == "AIA.GPAI.modifier" for f in light.fired)
    heavy = classify_model(
        GPAIModelFacts(role="downstream_modifier", significant_modification=True), RULES
    )
    assert {"53(1)(a)", "53(1)(c)"} <= articles_owed(heavy)


# -- Art. 50 law-enforcement exemptions ------------------------------------------------------

LAW = {"authorised_by_law_for_criminal_offences": True}


def test_50_1_exemption_unless_the_public_reports_crimes_with_it() -> None:
    exempt = decide(interacts_with_people=True, **LAW)
    assert "50(1)" not in articles_owed(exempt)
    assert next(f for f in exempt.fired if f.rule_id == "AIA.50.1").outcome == "excepted"
    reporting = decide(interacts_with_people=True, public_can_report_crime=True, **LAW)
    assert "50(1)" in articles_owed(reporting)


def test_50_2_exemption() -> None:
    decision = decide(synthetic_content=["image"], **LAW)
    assert "50(2)" not in articles_owed(decision)


def test_50_3_exemption_needs_the_authorisation_not_the_deployer_type() -> None:
    authorised = decide(emotion_inference=True, **LAW)
    assert "50(3)" not in articles_owed(authorised)
    police_alone = decide(emotion_inference=True, deployer_type="law_enforcement")
    assert "50(3)" in articles_owed(police_alone)


def test_50_4_exemptions_for_deep_fakes_and_text() -> None:
    decision = decide(deepfake=True, publishes_public_interest_text=True, **LAW)
    assert "50(4)" not in articles_owed(decision)
    outcomes = {f.rule_id: f.outcome for f in decision.fired}
    assert outcomes["AIA.50.4.deepfake"] == "excepted"
    assert outcomes["AIA.50.4.text"] == "excepted"


# -- regression tests for the defects found against the Commission's checker ---------------


def test_no_ai_literacy_for_a_free_system_outside_the_act() -> None:
    """Art. 2(12) puts the system outside the Act, Art. 4 included."""
    decision = decide(released_under_foss_licence=True)
    assert decision.tiers == ["out_of_scope"]
    assert "Art. 4" not in decision.articles and "4" not in articles_owed(decision)


def test_no_fria_for_annex_i_systems() -> None:
    """Art. 27(1) covers Art. 6(2) systems only."""
    decision = decide(
        annex_i_products=["medical_devices"],
        annex_i_third_party_assessment=True,
        deployer_type="public_authority",
    )
    assert decision.tier == "high_risk"
    assert "27" not in articles_owed(decision)


def test_no_fria_for_annex_iii_point_2() -> None:
    """Art. 27(1) excepts critical infrastructure (Annex III point 2)."""
    decision = decide(
        annex_iii_uses=["2_critical_infrastructure_safety"], deployer_type="public_authority"
    )
    assert decision.tier == "high_risk"
    assert "27" not in articles_owed(decision)
    assert "49(5)" in articles_owed(decision) and "49(1)" not in articles_owed(decision)


@pytest.mark.parametrize(
    ("facts", "owed"),
    [
        ({"annex_iii_uses": ["4a_employment_recruitment"]}, False),
        ({"annex_iii_uses": ["4a_employment_recruitment"], "provides_public_services": True}, True),
        (
            {"annex_iii_uses": ["4a_employment_recruitment"], "deployer_type": "public_authority"},
            True,
        ),
        ({"annex_iii_uses": ["5b_creditworthiness"]}, True),
        ({"annex_iii_uses": ["5c_life_health_insurance"]}, True),
    ],
)
def test_fria_only_for_the_deployers_art_27_names(facts: dict[str, Any], owed: bool) -> None:
    assert ("27" in articles_owed(decide(**facts))) is owed


def test_annex_iii_1b_needs_sensitive_or_protected_attributes() -> None:
    other = decide(biometric_categorisation=True, biometric_attributes=["other"])
    assert "Annex III 1(b)" not in other.articles and other.tier == "transparency"
    for attribute in ("age", "sex_or_gender", "ethnic_or_social_origin"):
        decision = decide(biometric_categorisation=True, biometric_attributes=[attribute])
        assert "Annex III 1(b)" in decision.articles_for("high_risk"), attribute


def test_a_deep_fake_is_synthetic_content_too() -> None:
    """A deep fake is generated or manipulated image, audio or video (Art. 3(60)): the
    provider's marking duty of 50(2) comes with the deployer's disclosure of 50(4)."""
    decision = decide(deepfake=True)
    assert {"50(2)", "50(4)"} <= articles_owed(decision)


def test_third_party_assessment_without_a_product_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ApplicationFacts(annex_i_third_party_assessment=True)
    message = str(caught.value)
    assert "annex_i_third_party_assessment" in message and "annex_i_products" in message


# -- facts stored under the first schema ------------------------------------------------------


def test_first_schema_facts_are_migrated_on_read() -> None:
    stored = {
        "description": "loan scoring",
        "role": "deployer",
        "deployer_type": "private",
        "annex_iii_use": "5b_creditworthiness",
        "annex_iii_carve_out": "none",
        "annex_i_product": "none",
        "annex_i_third_party_assessment": False,
        "gpai_model": {"training_compute_flop": 1e23},
    }
    facts = ApplicationFacts.model_validate(stored)
    assert facts.roles == ["deployer"]
    assert facts.annex_iii_uses == ["5b_creditworthiness"]
    assert facts.annex_iii_carve_outs == [] and facts.annex_i_products == []
    assert facts.general_purpose_model == "yes"
    assert ApplicationFacts.model_validate(facts.model_dump(mode="json")) == facts
    both = ApplicationFacts.model_validate({"role": "provider_and_deployer"})
    assert both.roles == ["provider", "deployer"]
