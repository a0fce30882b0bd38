"""Registering applications: classify the declared facts, decide the status, keep the
obligations checklist, and say why a refused or pending application's keys may not be used.

Status: ``refused`` for a prohibited purpose (stored, so the attempt stays on record, and
the registration answers 403 naming the article); ``pending`` for a high-risk purpose until
the checklist is complete; ``active`` otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from aicommons.errors import PermissionDeniedError
from aicommons.governance.classifier import Decision
from aicommons.store.applications import Application

# Art. 26(6) (deployers) and Art. 19(1) (providers): logs kept at least six months.
MIN_LOG_RETENTION_DAYS = 183
PUBLIC_STATUSES = ("active", "pending")

Contact = Annotated[str, Field(min_length=3, max_length=200)]


class Checklist(BaseModel):
    """What a high-risk application must show before its keys work."""

    model_config = ConfigDict(extra="forbid")

    human_oversight_contact: Contact | None = Field(
        default=None, description="Person assigned to human oversight (Arts 14, 26(2))."
    )
    log_retention_days: Annotated[int, Field(ge=0, le=36_500)] | None = Field(
        default=None, description=f"Days logs are kept; at least {MIN_LOG_RETENTION_DAYS}."
    )
    bias_evaluated: bool = Field(
        default=False,
        description="The model was evaluated on the platform's bias suite (Art. 10(2)(f)); "
        "to be set by the leaderboard, or declared with evidence for now.",
    )
    bias_evaluation_ref: Annotated[str, Field(min_length=3, max_length=500)] | None = Field(
        default=None, description="Evidence of the bias evaluation (report URL or id)."
    )
    deployer_contact: Contact | None = Field(
        default=None, description="Contact of the deployer responsible for use (Art. 26)."
    )


class ChecklistUpdate(Checklist):
    """A partial checklist: only the fields given change."""


def missing_items(tier: str, checklist: Checklist) -> list[str]:
    """What a high-risk application still lacks, one line per item; empty for other tiers."""
    if tier != "high_risk":
        return []
    missing = []
    if not checklist.human_oversight_contact:
        missing.append("human_oversight_contact (Arts 14, 26(2): who oversees the system)")
    if (checklist.log_retention_days or 0) < MIN_LOG_RETENTION_DAYS:
        missing.append(
            f"log_retention_days >= {MIN_LOG_RETENTION_DAYS} (Art. 26(6): logs kept six months)"
        )
    if not (checklist.bias_evaluated or checklist.bias_evaluation_ref):
        missing.append(
            "bias_evaluated or bias_evaluation_ref (Art. 10(2)(f): model evaluated for bias)"
        )
    if not checklist.deployer_contact:
        missing.append("deployer_contact (Art. 26: the deployer responsible for use)")
    return missing


def status_for(decision: Decision, checklist: Checklist) -> str:
    if decision.tier == "prohibited":
        return "refused"
    return "pending" if missing_items(decision.tier, checklist) else "active"


def decision_of(app: Application) -> Decision:
    return Decision.model_validate(app.decision)


def checklist_of(app: Application) -> Checklist:
    return Checklist.model_validate(app.checklist)


def missing_for(app: Application) -> list[str]:
    return missing_items(app.tier, checklist_of(app))


def merged_checklist(app: Application, update: ChecklistUpdate) -> tuple[Checklist, str]:
    """The checklist with the fields given merged in, and the status it leads to."""
    merged = Checklist.model_validate(
        {**app.checklist, **update.model_dump(mode="json", exclude_unset=True)}
    )
    return merged, status_for(decision_of(app), merged)


def refusal_error(app: Application) -> PermissionDeniedError:
    """403 for a prohibited application, naming the article(s)."""
    articles = ", ".join(decision_of(app).articles_for("prohibited")) or "Art. 5"
    return PermissionDeniedError(
        f"Application {app.name!r} ({app.id}) is refused: its declared purpose is a "
        f"prohibited AI practice under {articles} of Regulation (EU) 2024/1689.",
        code="prohibited_practice",
    )


def pending_error(app: Application, missing: list[str]) -> PermissionDeniedError:
    """403 for a high-risk application whose checklist is not complete, listing what is missing."""
    return PermissionDeniedError(
        f"Application {app.name!r} ({app.id}) is high-risk and pending until its obligations "
        f"checklist is complete. Missing: {'; '.join(missing)}. "
        f"Complete it with PATCH /v1/applications/{app.id}/checklist.",
        code="application_pending",
    )


def register_entry(app: Application, tenant_name: str) -> dict[str, Any]:
    """One public line of the transparency register: no facts beyond purpose, no keys."""
    decision = decision_of(app)
    articles = [a for tier in decision.tiers for a in decision.articles_for(tier)]
    return {
        "tenant": tenant_name,
        "application": app.name,
        "purpose": app.description,
        "tier": app.tier,
        "tiers": decision.tiers,
        "articles": list(dict.fromkeys(articles)),
        "models": app.models,
        "status": app.status,
        "registered_at": app.created_at.isoformat(),
    }
