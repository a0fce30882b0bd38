"""The facts an application declares about its intended purpose, as enumerated values.

The classifier decides only on these fields; ``description`` is kept for people and never
read by a rule. Field names follow Reg. (EU) 2024/1689 (the AI Act); each docstring names the
provision the field serves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["provider", "deployer", "provider_and_deployer"]
DeployerType = Literal[
    "private",
    "public_authority",
    "law_enforcement",
    "migration_authority",
    "judicial_authority",
    "union_institution",
]

# Every point of Annex III areas 1-8 (25 codes); "none" when no Annex III use applies.
AnnexIIIUse = Literal[
    "none",
    "1a_remote_biometric_identification",
    "1b_biometric_categorisation",
    "1c_emotion_recognition",
    "2_critical_infrastructure_safety",
    "3a_education_admission",
    "3b_education_learning_outcomes",
    "3c_education_level_assessment",
    "3d_education_test_monitoring",
    "4a_employment_recruitment",
    "4b_employment_work_relations",
    "5a_public_benefits_eligibility",
    "5b_creditworthiness",
    "5c_life_health_insurance",
    "5d_emergency_call_triage",
    "6a_law_enforcement_victim_risk",
    "6b_law_enforcement_polygraph",
    "6c_law_enforcement_evidence_reliability",
    "6d_law_enforcement_offending_risk",
    "6e_law_enforcement_profiling",
    "7a_migration_polygraph",
    "7b_migration_risk_assessment",
    "7c_migration_asylum_visa",
    "7d_migration_identification",
    "8a_justice_legal_research",
    "8b_elections_influence",
]
ANNEX_III_USES: tuple[str, ...] = get_args(AnnexIIIUse)

# Carve-outs written into Annex III points themselves (1(a), 5(b), 7(d), 8(b)).
AnnexIIICarveOut = Literal[
    "none",
    "biometric_verification_only",
    "fraud_detection_only",
    "travel_document_check_only",
    "election_logistics_only",
]

AnnexIProduct = Literal[
    "none",
    # Section A (new legislative framework)
    "machinery",
    "toys",
    "recreational_craft",
    "lifts",
    "atex_equipment",
    "radio_equipment",
    "pressure_equipment",
    "cableways",
    "personal_protective_equipment",
    "gas_appliances",
    "medical_devices",
    "in_vitro_diagnostics",
    # Section B (only Art. 6(1), Arts 102-109 and 112 apply, Art. 2(2))
    "civil_aviation_security",
    "two_three_wheel_vehicles",
    "agricultural_vehicles",
    "marine_equipment",
    "rail_interoperability",
    "motor_vehicles",
    "civil_aviation_drones",
]
ANNEX_I_SECTION_B: tuple[str, ...] = (
    "civil_aviation_security",
    "two_three_wheel_vehicles",
    "agricultural_vehicles",
    "marine_equipment",
    "rail_interoperability",
    "motor_vehicles",
    "civil_aviation_drones",
)

Article63Condition = Literal[
    "none",
    "a_narrow_procedural_task",
    "b_improves_completed_human_activity",
    "c_detects_patterns_without_replacing_review",
    "d_preparatory_task",
]
EmotionSetting = Literal["not_applicable", "workplace", "education", "medical_or_safety", "other"]
BiometricAttribute = Literal[
    "race",
    "political_opinions",
    "trade_union_membership",
    "religious_or_philosophical_beliefs",
    "sex_life_or_sexual_orientation",
    "other",
]
RemoteBiometricIdentification = Literal["none", "post", "real_time"]
RBIPurpose = Literal[
    "not_applicable",
    "victim_search",
    "imminent_threat_or_terrorism",
    "serious_crime_suspect",
    "other",
]
CrimeRiskPrediction = Literal[
    "none", "solely_profiling", "supports_human_assessment_on_objective_facts"
]
SyntheticMedium = Literal["audio", "image", "video", "text"]


class FactsBody(BaseModel):
    # strict: a flag is a JSON boolean, not 1 or "yes"
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class GPAIModelFacts(FactsBody):
    """A general-purpose AI model the application's owner provides (Arts 51-55)."""

    training_compute_flop: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="Cumulative training compute (Art. 51(2): > 1e25 presumes it)."
    )
    designated_systemic_risk: bool = Field(
        default=False, description="Designated by the Commission (Art. 51(1)(b))."
    )
    open_licence: bool = Field(
        default=False,
        description="Free and open-source licence allowing access, use, modification and "
        "distribution (Art. 53(2)).",
    )
    weights_public: bool = Field(
        default=False, description="Parameters, architecture and usage information public."
    )
    monetised: bool = Field(
        default=False, description="Released against payment or monetised (recitals 102-104)."
    )
    on_market_before_2025_08_02: bool = Field(
        default=False, description="Placed on the market before 2 Aug 2025 (Art. 111(3))."
    )


class ApplicationFacts(FactsBody):
    """What an application does, as the AI Act's rules need to know it."""

    description: str = Field(
        default="", max_length=4000, description="For people; no rule reads it."
    )
    role: Role = "provider_and_deployer"
    deployer_type: DeployerType = "private"
    released_under_foss_licence: bool = Field(
        default=False, description="The AI system itself is free and open source (Art. 2(12))."
    )
    # -- Art. 6 and the annexes ------------------------------------------------------
    annex_iii_use: AnnexIIIUse = "none"
    annex_iii_carve_out: AnnexIIICarveOut = "none"
    annex_i_product: AnnexIProduct = "none"
    annex_i_third_party_assessment: bool = Field(
        default=False, description="The product needs third-party conformity assessment."
    )
    profiles_natural_persons: bool = Field(
        default=False, description="Profiling in the sense of Art. 4(4) GDPR (blocks Art. 6(3))."
    )
    art_6_3_condition: Article63Condition = "none"
    # -- Art. 5 ----------------------------------------------------------------------
    subliminal_or_manipulative: bool = Field(
        default=False, description="Techniques that materially distort behaviour (5(1)(a))."
    )
    exploits_vulnerabilities: bool = Field(
        default=False, description="Exploits age, disability or social situation (5(1)(b))."
    )
    social_scoring: bool = Field(
        default=False, description="Scores people with detrimental treatment (5(1)(c))."
    )
    crime_risk_prediction: CrimeRiskPrediction = "none"
    untargeted_facial_scraping: bool = Field(
        default=False, description="Scrapes faces from the internet or CCTV (5(1)(e))."
    )
    emotion_inference: bool = Field(
        default=False, description="Infers emotions or intentions from biometric data (Art. 3(39))."
    )
    emotion_setting: EmotionSetting = "not_applicable"
    medical_or_safety_purpose: bool = Field(
        default=False, description="Medical or safety reasons (exception in 5(1)(f))."
    )
    biometric_categorisation: bool = False
    biometric_attributes: list[BiometricAttribute] = Field(default_factory=list)
    labels_lawfully_acquired_dataset: bool = Field(
        default=False, description="Labelling or filtering lawfully acquired datasets (5(1)(g))."
    )
    remote_biometric_identification: RemoteBiometricIdentification = "none"
    publicly_accessible_space: bool = False
    rbi_purpose: RBIPurpose = "not_applicable"
    # -- Art. 50 ---------------------------------------------------------------------
    interacts_with_people: bool = False
    ai_interaction_obvious: bool = Field(
        default=False, description="Obvious to a reasonably well-informed person (50(1))."
    )
    synthetic_content: list[SyntheticMedium] = Field(default_factory=list)
    assistive_editing_only: bool = Field(
        default=False, description="Only assists standard editing; no substantial change (50(2))."
    )
    deepfake: bool = False
    artistic_or_satirical: bool = Field(
        default=False, description="Evidently artistic, creative, satirical or fictional (50(4))."
    )
    publishes_public_interest_text: bool = False
    human_editorial_responsibility: bool = False
    # -- general-purpose AI model track -------------------------------------------------
    gpai_model: GPAIModelFacts | None = None

    def value(self, path: str) -> Any:
        """The value at a dotted path such as ``gpai_model.training_compute_flop``."""
        current: Any = self
        for part in path.split("."):
            if current is None:
                return None
            current = getattr(current, part)
        return current


FACT_PATHS: frozenset[str] = frozenset(
    [n for n in ApplicationFacts.model_fields if n != "description"]
    + [f"gpai_model.{n}" for n in GPAIModelFacts.model_fields]
)


def facts_schema() -> dict[str, Any]:
    """The JSON Schema of `ApplicationFacts`, for clients and forms."""
    return ApplicationFacts.model_json_schema()
