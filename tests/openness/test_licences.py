"""Licence names as written in the records -> SPDX ids and openness by content type."""

from __future__ import annotations

import pytest

from aicommons.openness.licences import is_open, is_osi_approved, normalise


@pytest.mark.parametrize(
    ("written", "spdx"),
    [
        ("Apache 2.0", "Apache-2.0"),
        ("apache-2.0", "Apache-2.0"),
        ("MIT license", "MIT"),
        ("BSD-3", "BSD-3-Clause"),
        ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
        ("unlicensed", None),
        ("Undisclosed", None),
        ("Component not include.", None),
        ("Component Component not included", None),
        ("'Llama 2 Community License'", "Llama 2 Community License"),
    ],
)
def test_normalise(written: str, spdx: str | None) -> None:
    assert normalise(written) == spdx


def test_openness_depends_on_the_content_type() -> None:
    assert is_open("Apache-2.0", "code") and not is_open("Apache-2.0", "data")
    assert is_open("CC-BY-4.0", "document") and is_open("CC-BY-4.0", "data")
    assert not is_open("CC-BY-4.0", "code")
    assert is_open("CDLA-Permissive-2.0", ("data", "code"))
    assert not is_open("Gemma Terms of Use", ("data", "code", "document"))
    assert not is_open("CC-BY-NC-4.0", "document")
    assert is_osi_approved("MIT License") and not is_osi_approved("OpenRAIL")
