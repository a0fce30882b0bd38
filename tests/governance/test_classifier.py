"""The classifier against the reference's test cases and the edge cases around each exception.

Cases follow ../shared/reference/eu_ai_act.md, section 4 ("Test cases"), plus one case per
Annex III point and per exception.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from aicommons.errors import ConfigError
from aicommons.governance.classifier import Decision, classify, classify_model
from aicommons.governance.facts import ANNEX_III_USES, ApplicationFacts, GPAIModelFacts
from aicommons.governance.rules import RuleSet, default_rules, parse_rules

RULES = default_rules()

WORK_EMOTIONS = {"emotion_inference": True, "emotion_setting": "workplace"}
LIVE_POLICE_FR = {
    "deployer_type": "law_enforcement",
    "remote_biometric_identification": "real_time",
    "publicly_accessible_space": True,
}
CHATBOT = {"interacts_with_people": True, "synthetic_content": ["text"]}
CV_TOOL = {"annex_iii_use": "4a_employment_recruitment"}
NARROW = {"art_6_3_condition": "a_narrow_procedural_task"}

# (case id, facts, expected tier, articles that must be cited, articles that must not be)
CASES: list[tuple[str, dict[str, Any], str, list[str], list[str]]] = [
    # -- Art. 5 -------------------------------------------------------------------------
    ("manipulation", {"subliminal_or_manipulative": True}, "prohibited", ["Art. 5(1)(a)"], []),
    ("exploits-children", {"exploits_vulnerabilities": True}, "prohibited", ["Art. 5(1)(b)"], []),
    (
        "city-social-scoring",
        {"social_scoring": True, "deployer_type": "public_authority"},
        "prohibited",
        ["Art. 5(1)(c)"],
        [],
    ),
    ("private-social-scoring", {"social_scoring": True}, "prohibited", ["Art. 5(1)(c)"], []),
    (
        "offending-from-profile-alone",
        {"crime_risk_prediction": "solely_profiling", "profiles_natural_persons": True},
        "prohibited",
        ["Art. 5(1)(d)"],
        ["Annex III 6(d)"],
    ),
    (
        "offending-supports-fact-based-assessment",
        {"crime_risk_prediction": "supports_human_assessment_on_objective_facts"},
        "high_risk",
        ["Art. 5(1)(d)", "Annex III 6(d)"],
        [],
    ),
    ("face-scraping", {"untargeted_facial_scraping": True}, "prohibited", ["Art. 5(1)(e)"], []),
    ("call-centre-staff-emotions", WORK_EMOTIONS, "prohibited", ["Art. 5(1)(f)"], []),
    (
        "classroom-emotions",
        {"emotion_inference": True, "emotion_setting": "education"},
        "prohibited",
        ["Art. 5(1)(f)"],
        [],
    ),
    (
        "pilot-fatigue-safety-exception",
        {**WORK_EMOTIONS, "medical_or_safety_purpose": True},
        "high_risk",
        ["Art. 5(1)(f)", "Annex III 1(c)", "Art. 50(3)"],
        [],
    ),
    (
        "shopper-emotions",
        {"emotion_inference": True, "emotion_setting": "other"},
        "high_risk",
        ["Annex III 1(c)", "Art. 50(3)"],
        ["Art. 5(1)(f)"],
    ),
    (
        "annex-emotion-use-at-work",
        {"annex_iii_use": "1c_emotion_recognition", "emotion_setting": "workplace"},
        "prohibited",
        ["Art. 5(1)(f)"],
        [],
    ),
    (
        "annex-emotion-use-in-a-shop",
        {"annex_iii_use": "1c_emotion_recognition", "emotion_setting": "other"},
        "high_risk",
        ["Annex III 1(c)", "Art. 50(3)"],
        [],
    ),
    (
        "hospital-emotions",
        {"emotion_inference": True, "emotion_setting": "medical_or_safety"},
        "high_risk",
        ["Annex III 1(c)", "Art. 50(3)"],
        ["Art. 5(1)(f)"],
    ),
    (
        "exam-proctoring-with-emotions",
        {
            "annex_iii_use": "3d_education_test_monitoring",
            "emotion_inference": True,
            "emotion_setting": "education",
        },
        "prohibited",
        ["Art. 5(1)(f)"],
        ["Annex III 3(d)"],
    ),
    (
        "faces-to-political-opinion",
        {"biometric_categorisation": True, "biometric_attributes": ["political_opinions"]},
        "prohibited",
        ["Art. 5(1)(g)"],
        [],
    ),
    (
        "faces-to-orientation",
        {
            "biometric_categorisation": True,
            "biometric_attributes": ["other", "sex_life_or_sexual_orientation"],
        },
        "prohibited",
        ["Art. 5(1)(g)"],
        [],
    ),
    (
        "lawful-dataset-labelling",
        {
            "biometric_categorisation": True,
            "biometric_attributes": ["race"],
            "labels_lawfully_acquired_dataset": True,
        },
        "high_risk",
        ["Art. 5(1)(g)", "Annex III 1(b)", "Art. 50(3)"],
        [],
    ),
    (
        "age-band-categorisation",
        {"biometric_categorisation": True, "biometric_attributes": ["age"]},
        "high_risk",
        ["Annex III 1(b)", "Art. 50(3)"],
        ["Art. 5(1)(g)"],
    ),
    (
        "hair-colour-categorisation",
        {"biometric_categorisation": True, "biometric_attributes": ["other"]},
        "transparency",
        ["Art. 50(3)"],
        ["Annex III 1(b)", "Art. 5(1)(g)"],
    ),
    ("live-police-fr", LIVE_POLICE_FR, "prohibited", ["Art. 5(1)(h)"], ["Annex III 1(a)"]),
    (
        "live-police-fr-other-purpose",
        {**LIVE_POLICE_FR, "rbi_purpose": "other"},
        "prohibited",
        ["Art. 5(1)(h)"],
        [],
    ),
    (
        "live-police-fr-missing-child",
        {**LIVE_POLICE_FR, "rbi_purpose": "victim_search"},
        "high_risk",
        ["Art. 5(1)(h)", "Annex III 1(a)"],
        [],
    ),
    (
        "live-police-fr-terror-threat",
        {**LIVE_POLICE_FR, "rbi_purpose": "imminent_threat_or_terrorism"},
        "high_risk",
        ["Annex III 1(a)"],
        [],
    ),
    (
        "live-police-fr-suspect",
        {**LIVE_POLICE_FR, "rbi_purpose": "serious_crime_suspect"},
        "high_risk",
        ["Annex III 1(a)"],
        [],
    ),
    (
        "post-rbi-by-police",
        {**LIVE_POLICE_FR, "remote_biometric_identification": "post"},
        "high_risk",
        ["Annex III 1(a)"],
        ["Art. 5(1)(h)"],
    ),
    (
        "private-stadium-live-rbi",
        {**LIVE_POLICE_FR, "deployer_type": "private"},
        "high_risk",
        ["Annex III 1(a)"],
        ["Art. 5(1)(h)"],
    ),
    (
        "face-unlock-verification",
        {
            "annex_iii_use": "1a_remote_biometric_identification",
            "annex_iii_carve_out": "biometric_verification_only",
        },
        "minimal",
        ["Art. 95"],
        [],
    ),
    # -- Art. 6(1), Annex I ---------------------------------------------------------------
    (
        "medical-device-third-party",
        {"annex_i_product": "medical_devices", "annex_i_third_party_assessment": True},
        "high_risk",
        ["Art. 6(1)", "Annex I Section A"],
        [],
    ),
    (
        "toy-self-assessed",
        {"annex_i_product": "toys", "annex_i_third_party_assessment": False},
        "minimal",
        [],
        ["Art. 6(1)"],
    ),
    (
        "car-component",
        {"annex_i_product": "motor_vehicles", "annex_i_third_party_assessment": True},
        "high_risk",
        ["Annex I Section B"],
        [],
    ),
    # -- Annex III and Art. 6(3) ----------------------------------------------------------
    (
        "rank-cvs",
        {"annex_iii_use": "4a_employment_recruitment", "profiles_natural_persons": True},
        "high_risk",
        ["Annex III 4(a)"],
        [],
    ),
    (
        "reformat-cvs-no-ranking",
        {
            "annex_iii_use": "4a_employment_recruitment",
            "art_6_3_condition": "a_narrow_procedural_task",
        },
        "minimal",
        ["Art. 6(3)", "Annex III 4(a)"],
        [],
    ),
    (
        "reformat-cvs-with-profiling",
        {
            "annex_iii_use": "4a_employment_recruitment",
            "art_6_3_condition": "a_narrow_procedural_task",
            "profiles_natural_persons": True,
        },
        "high_risk",
        ["Annex III 4(a)", "Art. 6(3)"],
        [],
    ),
    (
        "essay-grader-preparatory",
        {
            "annex_iii_use": "3b_education_learning_outcomes",
            "art_6_3_condition": "d_preparatory_task",
        },
        "minimal",
        ["Art. 6(3)"],
        [],
    ),
    (
        "credit-scoring",
        {"annex_iii_use": "5b_creditworthiness"},
        "high_risk",
        ["Annex III 5(b)"],
        [],
    ),
    (
        "fraud-detection-only",
        {"annex_iii_use": "5b_creditworthiness", "annex_iii_carve_out": "fraud_detection_only"},
        "minimal",
        [],
        [],
    ),
    (
        "life-insurance-pricing",
        {"annex_iii_use": "5c_life_health_insurance"},
        "high_risk",
        ["Annex III 5(c)"],
        [],
    ),
    (
        "exam-proctoring",
        {"annex_iii_use": "3d_education_test_monitoring"},
        "high_risk",
        ["Annex III 3(d)"],
        ["Art. 5(1)(f)"],
    ),
    (
        "campaign-logistics",
        {
            "annex_iii_use": "8b_elections_influence",
            "annex_iii_carve_out": "election_logistics_only",
        },
        "minimal",
        [],
        [],
    ),
    (
        "passport-check",
        {
            "annex_iii_use": "7d_migration_identification",
            "annex_iii_carve_out": "travel_document_check_only",
        },
        "minimal",
        [],
        [],
    ),
    # -- Art. 50 --------------------------------------------------------------------------
    ("customer-service-chatbot", CHATBOT, "transparency", ["Art. 50(1)", "Art. 50(2)"], []),
    (
        "chatbot-obviously-ai",
        {"interacts_with_people": True, "ai_interaction_obvious": True},
        "minimal",
        [],
        [],
    ),
    (
        "face-swap-generator",
        {"synthetic_content": ["image", "video"], "deepfake": True},
        "transparency",
        ["Art. 50(2)", "Art. 50(4)(first subparagraph)"],
        [],
    ),
    (
        "satirical-deepfake",
        {"synthetic_content": ["video"], "deepfake": True, "artistic_or_satirical": True},
        "transparency",
        ["Art. 50(4)(first subparagraph, lighter rule)"],
        [],
    ),
    (
        "grammar-assistant",
        {"synthetic_content": ["text"], "assistive_editing_only": True},
        "minimal",
        ["Art. 50(2)"],  # cited as an exception that held, see test_excepted_rules_are_explained
        [],
    ),
    (
        "news-bot-unreviewed",
        {"synthetic_content": ["text"], "publishes_public_interest_text": True},
        "transparency",
        ["Art. 50(4)(second subparagraph)"],
        [],
    ),
    (
        "news-bot-edited",
        {
            "synthetic_content": ["text"],
            "publishes_public_interest_text": True,
            "human_editorial_responsibility": True,
        },
        "transparency",
        ["Art. 50(2)"],
        [],
    ),
    (
        "hr-chatbot-screening",
        {"annex_iii_use": "4a_employment_recruitment", **CHATBOT},
        "high_risk",
        ["Annex III 4(a)", "Art. 50(1)", "Art. 50(2)"],
        [],
    ),
    # -- minimal ------------------------------------------------------------------------
    ("spam-filter", {}, "minimal", ["Art. 95", "Art. 4"], []),
    (
        "foss-spam-filter",
        {"released_under_foss_licence": True},
        "out_of_scope",
        ["Art. 2(12)"],
        ["Art. 4"],
    ),
    (
        "foss-chatbot-stays-in-scope",
        {"released_under_foss_licence": True, **CHATBOT},
        "transparency",
        ["Art. 50(1)"],
        ["Art. 2(12)"],
    ),
]


def decide(facts: dict[str, Any]) -> Decision:
    return classify(ApplicationFacts(**facts), RULES)


@pytest.mark.parametrize(
    ("facts", "tier", "cited", "not_cited"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_tier_and_articles(
    facts: dict[str, Any], tier: str, cited: list[str], not_cited: list[str]
) -> None:
    decision = decide(facts)
    assert decision.tier == tier, decision.summary()
    for article in cited:
        assert article in decision.articles
    for article in not_cited:
        assert article not in decision.articles
    json.dumps(decision.to_json())  # explain-yourself output is JSON


@pytest.mark.parametrize("use", [u for u in ANNEX_III_USES if u != "none"])
def test_every_annex_iii_point_is_high_risk(use: str) -> None:
    decision = decide({"annex_iii_use": use})
    assert decision.tier == "high_risk"
    area, point = use.split("_", 1)[0][0], use.split("_", 1)[0][1:]
    expected = f"Annex III {area}({point})" if point else f"Annex III {area}"
    assert expected in decision.articles_for("high_risk")
    assert {o.article for o in decision.obligations} >= {"9", "14", "26"}


def test_transparency_stacks_on_high_risk() -> None:
    decision = decide({"emotion_inference": True, "emotion_setting": "other"})
    assert decision.tiers == ["high_risk", "transparency"]
    assert decision.has_transparency_duties
    assert decision.summary() == "high_risk (Art. 6(2), Annex III 1(c)) + transparency (Art. 50(3))"


def test_a_prohibition_stops_the_system_track() -> None:
    decision = decide({**WORK_EMOTIONS, **CHATBOT})
    assert decision.tiers == ["prohibited"]
    assert not any(a.startswith("Art. 50") for a in decision.articles)
    assert decision.human_review
    assert {o.article for o in decision.obligations} == {"5"}


def test_an_exception_reroutes_and_says_why() -> None:
    decision = decide({**LIVE_POLICE_FR, "rbi_purpose": "victim_search"})
    source = next(f for f in decision.fired if f.rule_id == "AIA.5.1.h")
    assert source.outcome == "rerouted" and source.rerouted_to == "AIA.III.1.a"
    target = next(f for f in decision.fired if f.rule_id == "AIA.III.1.a")
    assert target.outcome == "applies" and "Re-routed from Art. 5(1)(h)" in target.reason
    assert "rbi_purpose = victim_search" in target.matched
    articles = {o.article for o in decision.obligations}
    assert {"5(3)", "27", "49"} <= articles  # prior authorisation, FRIA, registration
    assert decision.human_review


def test_rerouted_case_is_not_cleared_by_the_derogation() -> None:
    facts = {
        **LIVE_POLICE_FR,
        "rbi_purpose": "victim_search",
        "art_6_3_condition": "d_preparatory_task",
    }
    assert decide(facts).tier == "high_risk"


def test_derogation_records_its_own_duties_and_drops_high_risk_ones() -> None:
    decision = decide(
        {
            "annex_iii_use": "4a_employment_recruitment",
            "art_6_3_condition": "a_narrow_procedural_task",
        }
    )
    assert {o.article for o in decision.obligations} >= {"6(4)", "49(2)"}
    assert "9" not in {o.article for o in decision.obligations}
    annex = next(f for f in decision.fired if f.rule_id == "AIA.III.4.a")
    assert annex.outcome == "derogated"
    assert decision.human_review  # a derogation claim is checked by a person


def test_profiling_blocks_the_derogation_with_a_reason() -> None:
    decision = decide(
        {
            "annex_iii_use": "4a_employment_recruitment",
            "art_6_3_condition": "a_narrow_procedural_task",
            "profiles_natural_persons": True,
        }
    )
    derogation = next(f for f in decision.fired if f.rule_id == "AIA.6.3")
    assert derogation.outcome == "excepted"
    assert "profiles natural persons" in derogation.reason
    assert "profiles_natural_persons = true" in derogation.matched


def test_excepted_rules_are_explained() -> None:
    decision = decide({"synthetic_content": ["text"], "assistive_editing_only": True})
    marking = next(f for f in decision.fired if f.rule_id == "AIA.50.2")
    assert marking.outcome == "excepted" and marking.exception == "assistive_editing"
    assert "50(2)" not in {o.article for o in decision.obligations}


def test_obligation_dates_and_in_force() -> None:
    decision = classify(
        ApplicationFacts(annex_iii_use="5b_creditworthiness", **CHATBOT),
        RULES,
        on=date(2026, 1, 1),
    )
    by_article = {o.article: o for o in decision.obligations}
    assert by_article["9"].applies_from == date(2026, 8, 2)
    assert by_article["9"].in_force is False
    assert by_article["4"].in_force is True  # AI literacy since 2 Feb 2025


def test_obligations_follow_the_role() -> None:
    deployer = classify(
        ApplicationFacts(annex_iii_use="5b_creditworthiness", role="deployer"), RULES
    )
    assert {o.addressee for o in deployer.obligations} == {"deployer"}


# -- general-purpose models ---------------------------------------------------------------

GPAI_CASES: list[tuple[str, dict[str, Any], str, bool, list[str]]] = [
    (
        "olmo-open-small",
        {"training_compute_flop": 1e23, "open_licence": True, "weights_public": True},
        "gpai",
        True,
        ["53(1)(c)", "53(1)(d)"],
    ),
    (
        "closed-small",
        {"training_compute_flop": 1e23},
        "gpai",
        False,
        ["53(1)(a)", "53(1)(b)", "53(1)(c)", "53(1)(d)"],
    ),
    (
        "open-but-over-threshold",
        {"training_compute_flop": 3.8e25, "open_licence": True, "weights_public": True},
        "gpai_systemic_risk",
        False,
        ["53(1)(a)", "52", "55(1)(a)", "55(1)(b)", "55(1)(c)", "55(1)(d)"],
    ),
    (
        "open-but-monetised",
        {"open_licence": True, "weights_public": True, "monetised": True},
        "gpai",
        False,
        ["53(1)(a)"],
    ),
    (
        "designated",
        {"designated_systemic_risk": True, "training_compute_flop": 1e22},
        "gpai_systemic_risk",
        False,
        ["55(1)(a)"],
    ),
    ("legacy-model", {"on_market_before_2025_08_02": True}, "gpai", False, ["111(3)"]),
]


@pytest.mark.parametrize(
    ("model", "tier", "exempt", "articles"),
    [case[1:] for case in GPAI_CASES],
    ids=[case[0] for case in GPAI_CASES],
)
def test_gpai_track(model: dict[str, Any], tier: str, exempt: bool, articles: list[str]) -> None:
    decision = classify_model(GPAIModelFacts(**model), RULES)
    assert decision.gpai is not None
    assert decision.gpai.tier == tier
    assert decision.gpai.open_source_exemption is exempt
    assert set(articles) <= {o.article for o in decision.obligations}
    if exempt:
        assert "53(1)(a)" not in {o.article for o in decision.obligations}


def test_threshold_is_strictly_above_1e25() -> None:
    at = classify_model(GPAIModelFacts(training_compute_flop=1e25), RULES)
    assert at.gpai is not None and not at.gpai.systemic_risk


def test_app_without_model_facts_has_no_gpai_track() -> None:
    assert decide(CHATBOT).gpai is None


# -- the rule language ---------------------------------------------------------------------


def test_rules_cover_every_annex_iii_point_and_article_5_point() -> None:
    ids = {r.id for r in RULES.rules}
    assert {f"AIA.5.1.{p}" for p in "abcdefgh"} <= ids
    annex_points = {
        c for r in RULES.in_stage("annex_iii") for c in r.basis.citations() if "Annex" in c
    }
    assert len(annex_points) == 25


BAD_RULES = {
    "unknown fact": "{fact: colour, equals: red}",
    "bad enumerated value": "{fact: emotion_setting, equals: workplce}",
    "two tests": "{fact: deepfake, equals: true, in: [true]}",
}


@pytest.mark.parametrize("condition", BAD_RULES.values(), ids=BAD_RULES.keys())
def test_bad_rules_fail_at_load(condition: str) -> None:
    text = f"""
version: t
source: test
rules:
  - id: X
    title: x
    stage: transparency
    tier: transparency
    basis: {{article: "50"}}
    applies_from: 2026-08-02
    when: {condition}
    reason: x
"""
    with pytest.raises(ConfigError):
        parse_rules(text)


def test_reroute_to_unknown_rule_fails_at_load() -> None:
    text = """
version: t
source: test
rules:
  - id: X
    title: x
    stage: prohibition
    tier: prohibited
    basis: {article: "5"}
    applies_from: 2025-02-02
    when: {fact: deepfake, equals: true}
    exceptions:
      - {id: e, when: {fact: artistic_or_satirical, equals: true}, reason: r, reroute_to: Y}
    reason: x
"""
    with pytest.raises(ConfigError, match="unknown rule 'Y'"):
        parse_rules(text)


def test_rules_round_trip_through_json() -> None:
    again = RuleSet.model_validate_json(RULES.model_dump_json(by_alias=True, exclude_unset=True))
    assert again == RULES
