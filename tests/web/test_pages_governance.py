"""Applications in a real browser: register through the generated facts form, see the AI Act
classification, complete a high-risk checklist, get refused for a prohibited purpose, and find
the application on the public transparency register."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from aicommons.testing.live import LiveServer
from tests.web.conftest import screenshot
from tests.web.pages import log_in

pytestmark = pytest.mark.slow


def open_form(page: Any, server: LiveServer, key: str, name: str) -> None:
    log_in(page, server, key, "/ui/applications")
    page.fill("#app-name", name)


def test_high_risk_application_is_pending_until_its_checklist_is_complete(
    page: Any, server: LiveServer, member_key: str
) -> None:
    open_form(page, server, member_key, "cv-ranker")
    page.fill("#f-description", "Ranks job applicants' CVs for recruiters")
    page.check("input[name=annex_iii_uses][value='4a_employment_recruitment']")
    page.check("#f-profiles_natural_persons")
    page.check("input[name=models][value='smollm2-135m-instruct']")
    screenshot(page, "application-form")
    page.click("#register")

    expect(page).to_have_url(re.compile(r"/ui/applications/app"))
    expect(page.locator("#tier")).to_contain_text("high risk")
    expect(page.locator("#status")).to_have_text("pending")
    expect(page.locator("#articles")).to_contain_text("Annex III")
    expect(page.locator("#fired")).to_contain_text("Recruitment or selection")
    expect(page.locator("#obligations tbody tr").first).to_be_visible()
    expect(page.locator("#missing li")).to_have_count(4)
    screenshot(page, "application-pending")

    page.fill("#c-human_oversight_contact", "Hiring lead <oversight@example.org>")
    page.fill("#c-log_retention_days", "200")
    page.check("#c-bias_evaluated")
    page.click("#save-checklist")
    expect(page.locator(".flash")).to_contain_text("still missing")
    expect(page.locator("#missing li")).to_have_count(1)
    page.fill("#c-deployer_contact", "HR department <hr@example.org>")
    page.click("#save-checklist")
    expect(page.locator(".flash")).to_contain_text("active")
    expect(page.locator("#status")).to_have_text("active")
    expect(page.locator("#missing-none")).to_be_visible()
    screenshot(page, "application-active")

    # The public register shows it to anyone, without logging in.
    page.context.clear_cookies()
    page.goto(f"{server.base_url}/ui/register")
    row = page.locator("#register tr", has_text="cv-ranker")
    expect(row).to_contain_text("members")
    expect(row).to_contain_text("Annex III")
    expect(row).to_contain_text("active")
    expect(page.locator(".who")).to_contain_text("Log in")
    screenshot(page, "register")


def test_prohibited_application_is_refused_naming_the_article(
    page: Any, server: LiveServer, member_key: str
) -> None:
    open_form(page, server, member_key, "social-score")
    page.fill("#f-description", "Scores citizens' trustworthiness for public services")
    page.select_option("#f-deployer_type", "public_authority")
    page.check("#f-social_scoring")
    page.click("#register")
    expect(page.locator("#refusal")).to_contain_text("prohibited AI practice under Art. 5")
    expect(page.locator("#status")).to_have_text("refused")
    expect(page.locator("#checklist-form")).to_have_count(0)
    screenshot(page, "application-refused")
    page.goto(f"{server.base_url}/ui/register")
    expect(page.locator("#register")).not_to_contain_text("social-score")


def test_a_forged_form_value_is_shown_as_an_error(
    page: Any, server: LiveServer, member_key: str
) -> None:
    open_form(page, server, member_key, "forged")
    page.evaluate(
        "document.querySelector('#f-deployer_type')"
        ".add(new Option('emperor', 'emperor', true, true))"
    )
    page.click("#register")
    expect(page.locator("#form-error")).to_contain_text("Deployer type")
    expect(page.locator("#app-name")).to_have_value("forged")


def test_another_tenants_application_does_not_exist_for_a_member(
    page: Any, server: LiveServer, member_key: str
) -> None:
    server.create_key("outsiders")
    with server.admin() as admin:
        created = admin.post(
            "/v1/applications",
            json={"name": "outsiders-app", "tenant": "outsiders", "facts": {}},
        )
    assert created.status_code == 201, created.text
    log_in(page, server, member_key, "/ui/applications")
    expect(page.locator("#applications")).not_to_contain_text("outsiders-app")
    response = page.goto(f"{server.base_url}/ui/applications/{created.json()['id']}")
    assert response.status == 404


def test_admin_registers_for_a_tenant_and_sees_every_tenants_applications(
    page: Any, server: LiveServer, member_key: str
) -> None:
    open_form(page, server, server.admin_key, "help-chatbot")
    page.select_option("#app-tenant", label="members")
    page.fill("#f-description", "Answers questions about opening hours")
    page.check("#f-interacts_with_people")
    page.click("#register")
    expect(page.locator("#tier")).to_contain_text("transparency")
    expect(page.locator("#status")).to_have_text("active")
    expect(page.locator("#articles")).to_contain_text("Art. 50")
    page.goto(f"{server.base_url}/ui/applications")
    expect(page.locator("#applications tr", has_text="help-chatbot")).to_contain_text("members")
