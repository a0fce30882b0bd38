"""Governance end to end: register applications over HTTP, bind keys to them and call the
real model with the official openai client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest
import yaml

from aicommons.store.applications import Applications
from aicommons.store.database import Database
from aicommons.testing.live import LiveServer

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m-instruct"
CHATBOT = {"interacts_with_people": True, "synthetic_content": ["text"], "description": "helpdesk"}
CREDIT = {"annex_iii_use": "5b_creditworthiness", "description": "scores loan applicants"}


def as_key(server: LiveServer, key: str | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=60)


def client_for(server: LiveServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)


def register(server: LiveServer, key: str, name: str, facts: dict[str, Any]) -> httpx.Response:
    with as_key(server, key) as member:
        return member.post(
            "/v1/applications", json={"name": name, "facts": facts, "models": [MODEL]}
        )


@pytest.fixture(scope="module")
def tenant_key(server: LiveServer) -> str:
    """A key of tenant gov-lab not bound to any application."""
    return server.create_key("gov-lab")


def app_key(server: LiveServer, tenant: str, app_id: str) -> str:
    return server.create_key(tenant, application_id=app_id)


def ask(client: openai.OpenAI) -> Any:
    return client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=3
    )


def test_transparency_app_gets_header_and_field(server: LiveServer, tenant_key: str) -> None:
    created = register(server, tenant_key, "helpdesk", CHATBOT)
    assert created.status_code == 201, created.text
    app = created.json()
    assert app["tiers"] == ["transparency"] and app["status"] == "active"
    client = client_for(server, app_key(server, "gov-lab", app["id"]))

    raw = ask(client)
    assert raw.headers["ai-generated"] == "true"
    reply = raw.parse()
    assert reply.choices[0].message.content is not None
    mark = (reply.model_extra or {})["ai_generated"]
    assert mark["value"] is True and "50(2)" in mark["basis"]

    with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=3, stream=True
    ) as streamed:
        assert streamed.headers["ai-generated"] == "true"
        chunks = list(streamed.parse())
    assert chunks and all((c.model_extra or {})["ai_generated"]["value"] for c in chunks)

    completion = client.completions.with_raw_response.create(model=MODEL, prompt="A", max_tokens=2)
    assert completion.headers["ai-generated"] == "true"
    assert "ai_generated" in (completion.parse().model_extra or {})


def test_unbound_key_is_not_marked(server: LiveServer, tenant_key: str) -> None:
    raw = ask(client_for(server, tenant_key))
    assert "ai-generated" not in raw.headers
    assert "ai_generated" not in (raw.parse().model_extra or {})


def test_prohibited_app_is_refused_at_registration_and_its_keys_never_work(
    server: LiveServer, tenant_key: str
) -> None:
    refused = register(
        server,
        tenant_key,
        "mood-at-work",
        {"emotion_inference": True, "emotion_setting": "workplace"},
    )
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "prohibited_practice" and "Art. 5(1)(f)" in error["message"]
    app_id = error["message"].split("(")[1].split(")")[0]
    with as_key(server, tenant_key) as member:
        stored = member.get(f"/v1/applications/{app_id}").json()
    assert stored["status"] == "refused"
    with server.admin() as admin:
        bound = admin.post("/admin/keys", json={"tenant": "gov-lab", "application_id": app_id})
    assert bound.status_code == 403 and "Art. 5(1)(f)" in bound.text


def test_key_of_an_application_refused_later_is_refused_by_the_gateway(
    server: LiveServer,
) -> None:
    """Another process (the CLI, an operator) refuses an application whose key exists."""
    key = server.create_key("gov-old")
    with as_key(server, key) as member:
        app = member.post(
            "/v1/applications", json={"name": "ok", "facts": CHATBOT, "models": [MODEL]}
        ).json()
    client = client_for(server, app_key(server, "gov-old", app["id"]))
    assert ask(client).headers["ai-generated"] == "true"

    async def refuse() -> None:
        db = Database(server.settings.resolved_database_url)
        try:
            async with db.write() as session:
                await Applications.update_checklist(session, app["id"], {}, "refused")
        finally:
            await db.close()

    asyncio.run(refuse())
    server.app.state.services.policy.forget(app["id"])  # instead of waiting cache_seconds
    with pytest.raises(openai.PermissionDeniedError) as caught:
        ask(client)
    assert "prohibited" in str(caught.value)


def test_pending_high_risk_app_works_once_checklist_is_complete(
    server: LiveServer, tenant_key: str
) -> None:
    created = register(server, tenant_key, "loans", CREDIT)
    assert created.status_code == 201
    app = created.json()
    assert app["status"] == "pending" and len(app["missing"]) == 4
    client = client_for(server, app_key(server, "gov-lab", app["id"]))
    with pytest.raises(openai.PermissionDeniedError) as caught:
        ask(client)
    message = str(caught.value)
    assert "log_retention_days >= 183" in message and "deployer_contact" in message

    with as_key(server, tenant_key) as member:
        path = f"/v1/applications/{app['id']}/checklist"
        partial = member.patch(path, json={"log_retention_days": 100, "deployer_contact": "ops"})
        assert partial.json()["status"] == "pending"
        with pytest.raises(openai.PermissionDeniedError):
            ask(client)
        done = member.patch(
            path,
            json={
                "log_retention_days": 183,
                "human_oversight_contact": "Ana <ana@lab.example>",
                "bias_evaluated": True,
            },
        )
        assert done.json()["status"] == "active" and done.json()["missing"] == []
        assert member.patch(path, json={"log_retention_days": -1}).status_code == 400
        assert member.patch(path, json={"colour": "red"}).status_code == 400
    assert ask(client).parse().choices[0].message.content is not None


def test_tenant_isolation_and_listing(server: LiveServer, tenant_key: str) -> None:
    other = server.create_key("gov-other")
    created = register(server, tenant_key, "isolated", CHATBOT).json()
    with as_key(server, other) as stranger:
        assert stranger.get(f"/v1/applications/{created['id']}").status_code == 404
        path = f"/v1/applications/{created['id']}/checklist"
        assert stranger.patch(path, json={"deployer_contact": "ops"}).status_code == 404
        assert stranger.get(f"/v1/applications/{created['id']}/annex-iv").status_code == 404
        assert created["id"] not in {a["id"] for a in stranger.get("/v1/applications").json()}
        denied = stranger.post(
            "/v1/applications", json={"name": "x", "facts": {}, "tenant": "gov-lab"}
        )
        assert denied.status_code == 403
    with as_key(server, tenant_key) as member:
        assert created["id"] in {a["id"] for a in member.get("/v1/applications").json()}
    with server.admin() as admin:
        assert admin.get(f"/v1/applications/{created['id']}").status_code == 200
        by_admin = admin.post(
            "/v1/applications", json={"name": "for-other", "facts": {}, "tenant": "gov-other"}
        )
        assert by_admin.status_code == 201 and by_admin.json()["tier"] == "minimal"
    with server.admin() as admin:
        foreign = admin.post(
            "/admin/keys", json={"tenant": "gov-other", "application_id": created["id"]}
        )
    assert foreign.status_code == 404


def test_bad_registrations_get_400(server: LiveServer, tenant_key: str) -> None:
    assert register(server, tenant_key, "bad", {"emotion_setting": "office"}).status_code == 400
    assert register(server, tenant_key, "bad", {"colour": "red"}).status_code == 400
    with as_key(server, tenant_key) as member:
        unknown = member.post(
            "/v1/applications", json={"name": "m", "facts": {}, "models": ["no-such-model"]}
        )
        assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "models"
        assert register(server, tenant_key, "dup", {}).status_code == 201
        assert register(server, tenant_key, "dup", {}).status_code == 409
    with as_key(server) as anonymous:
        assert (
            anonymous.post("/v1/applications", json={"name": "x", "facts": {}}).status_code == 401
        )


def test_public_register_lists_no_secrets(server: LiveServer, tenant_key: str) -> None:
    register(server, tenant_key, "public-bot", CHATBOT)
    with as_key(server) as anonymous:
        response = anonymous.get("/v1/register")
    assert response.status_code == 200
    entries = response.json()["data"]
    entry = next(e for e in entries if e["application"] == "public-bot")
    assert entry["tenant"] == "gov-lab" and entry["purpose"] == "helpdesk"
    assert entry["articles"] == ["Art. 50(1)", "Art. 50(2)"] and entry["models"] == [MODEL]
    assert all(e["status"] in ("active", "pending") for e in entries)
    text = response.text
    assert "sk-aic-" not in text and "key_hash" not in text and "checklist" not in text


def test_facts_schema_and_dry_run(server: LiveServer, tenant_key: str) -> None:
    with as_key(server) as anonymous:
        schema = anonymous.get("/v1/governance/facts-schema").json()
    uses = schema["properties"]["annex_iii_uses"]["items"]["enum"]
    assert "1a_remote_biometric_identification" in uses and "8b_elections_influence" in uses
    with as_key(server, tenant_key) as member:
        decision = member.post(
            "/v1/governance/classify",
            json={"crime_risk_prediction": "supports_human_assessment_on_objective_facts"},
        ).json()
        assert decision["tier"] == "high_risk" and "Annex III 6(d)" in decision["articles"]
        assert member.post("/v1/governance/classify", json={"x": 1}).status_code == 400
        # Facts in the first schema's shape are still understood.
        old_shape = member.post(
            "/v1/governance/classify", json={"annex_iii_use": "5b_creditworthiness"}
        ).json()
        assert "Annex III 5(b)" in old_shape["articles"]
        contradiction = member.post(
            "/v1/governance/classify", json={"annex_i_third_party_assessment": True}
        )
        assert contradiction.status_code == 400
        assert "annex_i_products" in contradiction.json()["error"]["message"]
        names = {a["name"] for a in member.get("/v1/applications").json()}
    assert "crime" not in names  # a dry run registers nothing


def test_model_card_and_annex_iv(server: LiveServer, tenant_key: str) -> None:
    facts = {**CREDIT, "interacts_with_people": True}
    app = register(server, tenant_key, "documented", facts).json()
    with as_key(server, tenant_key) as member:
        card = member.get(f"/v1/applications/{app['id']}/model-card")
        annex = member.get(f"/v1/applications/{app['id']}/annex-iv")
        wrong = member.get(f"/v1/applications/{app['id']}/model-card?model=other")
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/markdown")
    front = yaml.safe_load(card.text.split("---\n")[1])
    assert front["license"] == "apache-2.0" and front["model_name"] == MODEL
    assert "scores loan applicants" in card.text and "[GAP:" in card.text
    assert annex.status_code == 200 and "## 9. Post-market monitoring plan" in annex.text
    assert "Annex III 5(b)" in annex.text and MODEL in annex.text
    assert wrong.status_code == 400
    json.dumps(app["decision"])
