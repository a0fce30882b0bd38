"""Facts declared after registration, through each front end: the application is classified
again, its history kept, the change ledgered, and keys of a purpose now prohibited are refused
at once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml

from aicommons.governance.facts import ApplicationFacts
from aicommons.testing.live import LiveServer
from aicommons.web.forms import current_values
from tests.admin.front_ends import CliFrontEnd, DashboardFrontEnd

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"
CHATBOT = {"interacts_with_people": True, "synthetic_content": ["text"]}
WORK_EMOTIONS = {"emotion_inference": True, "emotion_setting": "workplace"}


def as_form(facts: dict[str, object]) -> dict[str, object]:
    """What the facts form sends for ``facts``: every control as the page fills it in (an
    unticked box is absent, a ticked one "on", a list one value per ticked box)."""
    form: dict[str, object] = {}
    for name, value in current_values(ApplicationFacts.model_validate(facts)).items():
        if value is True:
            form[name] = "on"
        elif value not in (False, None):
            form[name] = value
    return form


def change_through(
    front: str, server: LiveServer, app_id: str, facts: dict[str, object], tmp_path: Path
) -> None:
    if front == "api":
        with server.admin() as admin:
            answer = admin.put(f"/v1/applications/{app_id}/facts", json=facts)
        assert answer.status_code in (200, 403), answer.text
    elif front == "cli":
        path = tmp_path / "facts.yaml"
        path.write_text(yaml.safe_dump(facts))
        outcome = CliFrontEnd(server).run("apps", "change-facts", app_id, "--facts", str(path))
        assert "Art. 5" in outcome.message or outcome.ok, outcome.message
    else:
        dashboard = DashboardFrontEnd(server)
        outcome = dashboard.post(f"/ui/applications/{app_id}/facts", as_form(facts))
        assert "Facts changed" in outcome.message, outcome.message


@pytest.mark.parametrize("front", ["api", "cli", "dashboard"])
def test_new_facts_reclassify_and_a_prohibited_purpose_refuses_keys_at_once(
    front: str, server: LiveServer, tmp_path: Path
) -> None:
    tenant = f"facts-{front}"
    key = server.create_key(tenant)
    member = httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {key}"}, timeout=60
    )
    body = {"name": "helper", "facts": CHATBOT, "models": [MODEL]}
    app = member.post("/v1/applications", json=body).json()
    assert app["tier"] == "transparency" and app["status"] == "active"
    bound = server.create_key(tenant, application_id=app["id"])
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    headers = {"authorization": f"Bearer {bound}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        assert client.post("/v1/chat/completions", json=chat).status_code == 200

        change_through(front, server, app["id"], WORK_EMOTIONS, tmp_path)

        if front == "cli":
            # Without Redis the command line cannot tell the running server: its cached
            # policy of the application expires after auth_cache_seconds (docs/scaling.md).
            time.sleep(server.settings.auth_cache_seconds + 0.2)
        refused = client.post("/v1/chat/completions", json=chat)  # at once otherwise
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "prohibited_practice"
    now = member.get(f"/v1/applications/{app['id']}").json()
    assert (now["tier"], now["status"]) == ("prohibited", "refused")
    (before,) = member.get(f"/v1/applications/{app['id']}/history").json()
    assert (before["tier"], before["status"], before["facts"]["interacts_with_people"]) == (
        "transparency",
        "active",
        True,
    )
    assert before["via"].startswith({"api": "api", "cli": "cli", "dashboard": "dashboard"}[front])
    with server.admin() as admin:
        records = admin.get("/admin/ledger", params={"limit": 50}).json()["data"]
    (record,) = [
        r
        for r in records
        if r["kind"] == "governance.application.facts_changed"
        and r["payload"]["target"] == app["id"]
    ]
    details = record["payload"]["details"]
    assert (details["tier_before"], details["tier"], details["status"]) == (
        "transparency",
        "prohibited",
        "refused",
    )
    member.close()


def test_another_tenants_application_cannot_be_changed(server: LiveServer) -> None:
    owner, other = server.create_key("facts-owner"), server.create_key("facts-other")
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        app = client.post(
            "/v1/applications",
            json={"name": "mine", "facts": CHATBOT},
            headers={"authorization": f"Bearer {owner}"},
        ).json()
        answer = client.put(
            f"/v1/applications/{app['id']}/facts",
            json=WORK_EMOTIONS,
            headers={"authorization": f"Bearer {other}"},
        )
        assert answer.status_code == 404
        assert (
            client.get(
                f"/v1/applications/{app['id']}/history",
                headers={"authorization": f"Bearer {other}"},
            ).status_code
            == 404
        )
