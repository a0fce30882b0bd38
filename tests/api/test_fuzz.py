"""Schemathesis over the whole OpenAPI document, with an admin key and a member key, on the
test database (SQLite, or PostgreSQL in `make test`'s second run).

Each operation gets a fixed number of generated requests, valid ones (the answer must be
documented, in status, content type and schema) and invalid ones (they must be refused with
a 4xx); no answer may be a 5xx. The platform serves a stand-in upstream model, so generated
chats run the whole pipeline (quota, policy, scheduler, ledger) in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import APIOperation

from aicommons.config import Settings
from aicommons.testing.live import LiveServer, live_server
from aicommons.testing.standin import standin_in_thread

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12  # for each key and each of valid and invalid data
TIME_CAP_S = 420.0
MODEL = "fuzzed"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class Tally:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


@pytest.fixture
def platform(tmp_path: Path, db_url: str) -> Iterator[LiveServer]:
    with standin_in_thread(model=MODEL) as standin:
        models = tmp_path / "models.toml"
        models.write_text(
            f'[[models]]\nname = "{MODEL}"\nengine = "upstream"\nurl = "{standin.base_url}"\n'
            "health_interval_s = 0\ncontext_length = 4096\n",
            encoding="utf-8",
        )
        settings = Settings(
            data_dir=tmp_path, database_url=db_url, models_file=models, load_embeddings=False
        )
        with live_server(settings) as live:
            yield live


def _served_model(case: Case, use_served: bool) -> None:
    """Point some generated bodies at the served model, so generation runs end to end."""
    if use_served and isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
        case.body["model"] = MODEL


def _no_outside_reach(case: Case) -> None:
    """Options of a model added by the fuzzer could name any host (or a hub download):
    they are replaced by none, so no request leaves 127.0.0.1."""
    if case.operation.path == "/admin/models" and isinstance(case.body, dict):
        case.body["options"] = {}


def fuzz_operation(
    operation: APIOperation,
    mode: GenerationMode,
    base_url: str,
    key: str,
    session: requests.Session,
    tally: Tally,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), use_served=st.booleans())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case, use_served: bool) -> None:
        if mode is GenerationMode.POSITIVE:  # an invalid body stays as generated
            _served_model(case, use_served)
        _no_outside_reach(case)
        response = case.call(
            base_url=base_url,
            session=session,
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )
        tally.requests += 1
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)

    run()


def test_no_request_gets_a_5xx_or_an_undocumented_answer(
    platform: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    document: dict[str, Any] = httpx.get(f"{platform.base_url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    # The key goes in the header we send; invalid cases then test the operation, not the key
    # (a request without a key or with a wrong one is refused before any input is read).
    schema.config.generation.update(with_security_parameters=False)
    keys = {"admin": platform.admin_key, "member": platform.create_key("fuzzers")}
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally()
    started = time.monotonic()
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for who, key in keys.items():
                    if time.monotonic() - started > TIME_CAP_S:
                        tally.skipped.append(f"{who} {mode.value} {operation.label}")
                        continue
                    try:
                        fuzz_operation(operation, mode, platform.base_url, key, session, tally)
                    except Unsatisfiable:
                        # no parameter or body to make invalid (e.g. GET /v1/models)
                        if mode is GenerationMode.POSITIVE:
                            raise
    elapsed = time.monotonic() - started
    with capsys.disabled():  # the count belongs in every test run's output
        print(
            f"\nschemathesis: {tally.requests} requests over {len(operations)} operations in "
            f"{elapsed:.0f} s; statuses {dict(sorted(tally.statuses.items()))}"
        )
    assert not tally.skipped, f"time cap of {TIME_CAP_S:g} s reached; not fuzzed: {tally.skipped}"
    assert not [status for status in tally.statuses if status >= 500]
    assert tally.requests >= len(operations) * 4  # every operation, both keys, both modes
