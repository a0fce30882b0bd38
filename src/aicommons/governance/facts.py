"""The facts an application declares about its intended purpose, as enumerated values.

The classifier decides only on these fields; ``description`` is kept for people and never
read by a rule. Field names follow Reg. (EU) 2024/1689 (the AI Act); each description names
the provision the field serves. The schema can say what the European Commission's AI Act
Service Desk compliance checker asks: scope (Arts 2 and 3(1)), every operator role and the
Art. 25 role changes, several Annex III points and Annex I products at once, and the
general-purpose model track with its roles (Arts 51-55).

Facts stored before this schema (one ``role``, one ``annex_iii_use``, one
``annex_i_product``, one ``annex_iii_carve_out``) are migrated when read
(`ApplicationFacts._migrate`), so every stored application still validates.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Art. 3(3)-(8): the operators. A person may hold several roles at once.
Role = Literal[
    "provider",
    "deployer",
    "importer",
    "distributor",
    "authorised_representative",
    "product_manufacturer",
]
# Art. 25(1)(a)-(c) and 25(3): what makes another operator the provider of a high-risk system.
ValueChainChange = Literal[
    "own_name_or_trademark",
    "substantial_modification",
    "changed_intended_purpose",
    "product_under_own_name",
]
# Art. 2(1)(a)-(g): the links to the Union that bring a system into the Act's scope.
EULink = Literal[
    "placed_on_union_market",
    "deployer_in_union",
    "output_used_in_union",
    "importer_or_distributor",
    "product_manufacturer_own_name",
    "authorised_representative_of_non_union_provider",
    "affected_persons_in_union",
]
# Art. 2(3), 2(4), 2(6), 2(8) and 2(10): uses the Regulation does not apply to.
ScopeExclusion = Literal[
    "military_defence_national_security",
    "third_country_authority_cooperation",
    "scientific_research_only",
    "research_before_placing_on_market",
    "personal_non_professional_use",
]
DeployerType = Literal[
    "private",
    "public_authority",
    "law_enforcement",
    "migration_authority",
    "judicial_authority",
    "union_institution",
]

# Every point of Annex III areas 1-8 (25 codes).
AnnexIIIUse = Literal[
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
    "biometric_verification_only",
    "fraud_detection_only",
    "travel_document_check_only",
    "election_logistics_only",
]

AnnexIProduct = Literal[
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
    # Art. 5(1)(g): inferring these is prohibited
    "race",
    "political_opinions",
    "trade_union_membership",
    "religious_or_philosophical_beliefs",
    "sex_life_or_sexual_orientation",
    # other sensitive or protected attributes (Annex III 1(b); Art. 9 GDPR, Art. 21 Charter)
    "ethnic_or_social_origin",
    "sex_or_gender",
    "age",
    "disability_or_health",
    "nationality_or_language",
    # neither sensitive nor protected (hair colour, clothing ...): not Annex III 1(b)
    "other",
]
SENSITIVE_ATTRIBUTES: tuple[str, ...] = get_args(BiometricAttribute)[:-1]
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
GeneralPurposeAnswer = Literal["not_answered", "no", "yes"]
# Arts 3(3), 54 and the Commission's GPAI guidelines on downstream modifiers.
GPAIRole = Literal["provider", "authorised_representative", "downstream_modifier"]
DEFAULT_EU_LINKS: tuple[EULink, ...] = ("placed_on_union_market",)
DEFAULT_ROLES: tuple[Role, ...] = ("provider", "deployer")


class FactsBody(BaseModel):
    # strict: a flag is a JSON boolean, not 1 or "yes"
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class GPAIModelFacts(FactsBody):
    """A general-purpose AI model the application's owner provides (Arts 51-55)."""

    role: GPAIRole = Field(
        default="provider",
        description="Provider (Art. 3(3)), authorised representative of a non-Union provider "
        "(Art. 54) or downstream modifier of someone else's model.",
    )
    significant_modification: bool = Field(
        default=False,
        description="A downstream modifier's change significantly alters the model's "
        "generality, capabilities or systemic risk: the modifier becomes its provider.",
    )
    high_impact_capabilities_evaluated: bool = Field(
        default=False,
        description="High-impact capabilities established by evaluation with technical tools, "
        "indicators and benchmarks (Art. 51(1)(a)).",
    )
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
    # -- scope: Arts 2 and 3(1) --------------------------------------------------------
    ai_system: bool = Field(
        default=True,
        description="Machine-based, with some autonomy, inferring from its input how to "
        "generate predictions, content, recommendations or decisions (Art. 3(1)).",
    )
    eu_links: list[EULink] = Field(
        default_factory=lambda: list(DEFAULT_EU_LINKS),
        description="How the system is linked to the Union (Art. 2(1)(a)-(g)); none: outside.",
    )
    scope_exclusions: list[ScopeExclusion] = Field(
        default_factory=list,
        description="Exclusions of Art. 2(3) military, defence, national security; 2(4) "
        "third-country authorities' cooperation; 2(6) scientific research only; 2(8) research "
        "before placing on the market; 2(10) purely personal non-professional use.",
    )
    released_under_foss_licence: bool = Field(
        default=False, description="The AI system itself is free and open source (Art. 2(12))."
    )
    # -- operators: Arts 3(3)-(8), 22-25 ------------------------------------------------
    roles: list[Role] = Field(
        default_factory=lambda: list(DEFAULT_ROLES),
        min_length=1,
        description="Every role held for this system (Art. 3(3)-(8)).",
    )
    value_chain_changes: list[ValueChainChange] = Field(
        default_factory=list,
        description="Own name or trademark, substantial modification, changed intended purpose "
        "(Art. 25(1)(a)-(c)); product with the AI system under own name (Art. 25(3)).",
    )
    deployer_type: DeployerType = "private"
    provides_public_services: bool = Field(
        default=False,
        description="A private deployer providing public services (Art. 27(1)).",
    )
    # -- Art. 6 and the annexes ------------------------------------------------------
    annex_iii_uses: list[AnnexIIIUse] = Field(
        default_factory=list, description="Every Annex III point the intended purpose falls under."
    )
    annex_iii_carve_outs: list[AnnexIIICarveOut] = Field(
        default_factory=list,
        description="Carve-outs written into Annex III points 1(a), 5(b), 7(d), 8(b).",
    )
    annex_i_products: list[AnnexIProduct] = Field(
        default_factory=list,
        description="Annex I products the system is, or is a safety component of (Art. 6(1)(a)).",
    )
    annex_i_third_party_assessment: bool = Field(
        default=False,
        description="An Annex I product above needs third-party conformity assessment "
        "(Art. 6(1)(b)).",
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
    authorised_by_law_for_criminal_offences: bool = Field(
        default=False,
        description="Authorised by law to detect, prevent, investigate or prosecute criminal "
        "offences (exemptions in Art. 50(1)-(4)).",
    )
    public_can_report_crime: bool = Field(
        default=False,
        description="Available for the public to report a criminal offence (then the 50(1) "
        "law-enforcement exemption does not apply).",
    )
    # -- general-purpose AI model track -------------------------------------------------
    general_purpose_model: GeneralPurposeAnswer = Field(
        default="not_answered",
        description="Whether a general-purpose AI model (Art. 3(63)) is provided with the "
        "application; 'no' is an answer of its own.",
    )
    gpai_model: GPAIModelFacts | None = None

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        """Facts stored under the first schema, in this one's shape."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        old_roles = {
            "provider": ["provider"],
            "deployer": ["deployer"],
            "provider_and_deployer": ["provider", "deployer"],
        }
        if "role" in data and "roles" not in data:
            data["roles"] = old_roles.get(data.pop("role"), [])
        for old, new in (
            ("annex_iii_use", "annex_iii_uses"),
            ("annex_iii_carve_out", "annex_iii_carve_outs"),
            ("annex_i_product", "annex_i_products"),
        ):
            if old in data and new not in data:
                value = data.pop(old)
                data[new] = [] if value in (None, "none") else [value]
        answer = data.get("general_purpose_model")
        if data.get("gpai_model") is not None and answer in (None, "not_answered"):
            data["general_purpose_model"] = "yes"
        if answer == "yes" and data.get("gpai_model") is None:
            data["gpai_model"] = {}  # a model with every model fact at its default
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ApplicationFacts:
        """Facts that contradict each other are refused, naming both."""
        if self.annex_i_third_party_assessment and not self.annex_i_products:
            raise ValueError(
                "annex_i_third_party_assessment is true but annex_i_products is empty: "
                "name the Annex I product that needs the third-party assessment"
            )
        if self.general_purpose_model == "no" and self.gpai_model is not None:
            raise ValueError(
                "general_purpose_model is 'no' but gpai_model facts are given: answer 'yes' "
                "or leave the model facts out"
            )
        return self

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
