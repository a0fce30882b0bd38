"""The three front ends of the admin service, driven as their users drive them: the admin API
over HTTP, the command line in-process on the same database, and the dashboard's forms over
HTTP with a logged-in session. Each call returns what the user would read."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from click.testing import CliRunner

from aicommons.cli import main
from aicommons.testing.live import LiveServer


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


class FrontEnd(Protocol):
    via: str

    def create_tenant(self, name: str, weight: Any) -> Outcome: ...
    def set_weight(self, tenant: str, weight: Any) -> Outcome: ...
    def delete_tenant(self, tenant: str) -> Outcome: ...
    def set_limits(self, scope: str, ident: str, **limits: int) -> Outcome: ...
    def create_key(self, tenant: str, name: str, models: list[str]) -> Outcome: ...
    def revoke_key(self, key_id: str) -> Outcome: ...
    def add_model(self, name: str, engine: str, options: dict[str, Any]) -> Outcome: ...
    def remove_model(self, name: str) -> Outcome: ...


def _api_outcome(response: httpx.Response) -> Outcome:
    if response.is_success:
        return Outcome(True, response.text)
    assert response.status_code < 500, response.text
    return Outcome(False, response.json()["error"]["message"])


class ApiFrontEnd:
    via = "api"

    def __init__(self, server: LiveServer) -> None:
        self.client = server.admin()

    def create_tenant(self, name: str, weight: Any) -> Outcome:
        if isinstance(weight, str):  # a JSON number literal as a client could write it
            literal = {"inf": "Infinity", "nan": "NaN"}.get(weight, weight)
            body = f'{{"name": {json.dumps(name)}, "weight": {literal}}}'
            headers = {"content-type": "application/json"}
            return _api_outcome(self.client.post("/admin/tenants", content=body, headers=headers))
        return _api_outcome(
            self.client.post("/admin/tenants", json={"name": name, "weight": weight})
        )

    def set_weight(self, tenant: str, weight: Any) -> Outcome:
        return _api_outcome(self.client.patch(f"/admin/tenants/{tenant}", json={"weight": weight}))

    def delete_tenant(self, tenant: str) -> Outcome:
        return _api_outcome(self.client.delete(f"/admin/tenants/{tenant}"))

    def set_limits(self, scope: str, ident: str, **limits: int) -> Outcome:
        return _api_outcome(self.client.put(f"/admin/limits/{scope}/{ident}", json=limits))

    def create_key(self, tenant: str, name: str, models: list[str]) -> Outcome:
        body = {"tenant": tenant, "name": name, "models": models}
        return _api_outcome(self.client.post("/admin/keys", json=body))

    def revoke_key(self, key_id: str) -> Outcome:
        return _api_outcome(self.client.delete(f"/admin/keys/{key_id}"))

    def add_model(self, name: str, engine: str, options: dict[str, Any]) -> Outcome:
        body = {"name": name, "engine": engine, "options": options}
        return _api_outcome(self.client.post("/admin/models", json=body))

    def remove_model(self, name: str) -> Outcome:
        return _api_outcome(self.client.delete(f"/admin/models/{name}"))


class CliFrontEnd:
    via = "cli"

    def __init__(self, server: LiveServer) -> None:
        env = {
            "AICOMMONS_DATABASE_URL": server.settings.resolved_database_url,
            "AICOMMONS_DATA_DIR": str(server.settings.data_dir),
        }
        self.runner = CliRunner(env=env)

    def run(self, *args: str) -> Outcome:
        result = self.runner.invoke(main, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), result
        return Outcome(result.exit_code == 0, result.output)

    def create_tenant(self, name: str, weight: Any) -> Outcome:
        return self.run("tenants", "add", name, "--weight", str(weight))

    def set_weight(self, tenant: str, weight: Any) -> Outcome:
        return self.run("tenants", "set-weight", tenant, str(weight))

    def delete_tenant(self, tenant: str) -> Outcome:
        return self.run("tenants", "remove", tenant)

    def set_limits(self, scope: str, ident: str, **limits: int) -> Outcome:
        args = [f"--{scope}", ident]
        for name, value in limits.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        return self.run("limits", "set", *args)

    def create_key(self, tenant: str, name: str, models: list[str]) -> Outcome:
        args = ["keys", "create", tenant, "--name", name]
        for model in models:
            args += ["--model", model]
        return self.run(*args)

    def revoke_key(self, key_id: str) -> Outcome:
        return self.run("keys", "revoke", key_id)

    def add_model(self, name: str, engine: str, options: dict[str, Any]) -> Outcome:
        args = ["models", "add", name, "--engine", engine]
        for key, value in options.items():
            args += ["-o", f"{key}={value}"]
        return self.run(*args)

    def remove_model(self, name: str) -> Outcome:
        return self.run("models", "remove", name)


class DashboardFrontEnd:
    """The admin page's forms, posted by a logged-in admin session (no browser needed to
    exercise the write path; the browser tests cover the page itself)."""

    via = "dashboard"

    def __init__(self, server: LiveServer) -> None:
        self.client = httpx.Client(base_url=server.base_url, timeout=60, follow_redirects=True)
        self.client.post("/ui/login", data={"key": server.admin_key, "next": "/ui/admin"})
        page = self.client.get("/ui/admin").text
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert found, "not logged in"
        self.csrf = found.group(1)
        self.tenant_ids = {t["name"]: t["id"] for t in server.admin().get("/admin/tenants").json()}
        self._server = server

    def post(self, path: str, data: dict[str, Any]) -> Outcome:
        response = self.client.post(path, data={"csrf_token": self.csrf, **data})
        assert response.status_code < 500, response.text
        if "key_created" in response.text or 'id="new-key"' in response.text:
            return Outcome(True, response.text)
        flash = re.search(r'<p class="flash">(.*?)</p>', response.text, re.S)
        message = flash.group(1).strip() if flash else response.text
        failed = response.status_code >= 400 or not re.search(
            r"created|now has weight|saved|revoked|added|removed|deleted", message
        )
        return Outcome(not failed, message)

    def _tenant_id(self, tenant: str) -> str:
        if tenant not in self.tenant_ids:
            listed = self._server.admin().get("/admin/tenants").json()
            self.tenant_ids = {t["name"]: t["id"] for t in listed}
        return self.tenant_ids.get(tenant, tenant)

    def create_tenant(self, name: str, weight: Any) -> Outcome:
        return self.post("/ui/admin/tenants", {"name": name, "weight": str(weight)})

    def set_weight(self, tenant: str, weight: Any) -> Outcome:
        path = f"/ui/admin/tenants/{self._tenant_id(tenant)}/weight"
        return self.post(path, {"weight": str(weight)})

    def delete_tenant(self, tenant: str) -> Outcome:
        return self.post(f"/ui/admin/tenants/{self._tenant_id(tenant)}/delete", {})

    def set_limits(self, scope: str, ident: str, **limits: int) -> Outcome:
        target = f"{scope}:{self._tenant_id(ident) if scope == 'tenant' else ident}"
        return self.post("/ui/admin/limits", {"target": target, **limits})

    def create_key(self, tenant: str, name: str, models: list[str]) -> Outcome:
        data = {"tenant": self._tenant_id(tenant), "name": name, "models": models}
        return self.post("/ui/admin/keys", data)

    def revoke_key(self, key_id: str) -> Outcome:
        return self.post(f"/ui/admin/keys/{key_id}/revoke", {})

    def add_model(self, name: str, engine: str, options: dict[str, Any]) -> Outcome:
        data = {"name": name, "engine": engine, "options": json.dumps(options)}
        return self.post("/ui/admin/models", data)

    def remove_model(self, name: str) -> Outcome:
        return self.post(f"/ui/admin/models/{name}/remove", {})


FRONT_ENDS = {"api": ApiFrontEnd, "cli": CliFrontEnd, "dashboard": DashboardFrontEnd}
