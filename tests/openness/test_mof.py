"""Model Openness Framework records: the shared files and the class rules."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aicommons.openness.mof import COMPONENTS, MofFormatError, classify, parse_mof
from aicommons.openness.osaid import check_mof
from aicommons.openness.records import load_file, load_path

OPEN_BY_CONTENT = {"code": "MIT", "data": "CDLA-Permissive-2.0", "document": "CC-BY-4.0"}


def full_release(**licence: Any) -> dict[str, Any]:
    """A record listing every component under a licence that fits its content type."""
    components = [
        {"name": rule.name, "license": OPEN_BY_CONTENT[rule.content[0]]} for rule in COMPONENTS
    ]
    return {
        "framework": {"name": "Model Openness Framework", "version": "1.0", "date": "2024-12-15"},
        "release": {"name": "Example-1B", "producer": "Lab", "license": licence,
                    "components": components},
    }  # fmt: skip


def without(document: dict[str, Any], *names: str) -> dict[str, Any]:
    kept = [c for c in document["release"]["components"] if c["name"] not in names]
    return {**document, "release": {**document["release"], "components": kept}}


@pytest.mark.parametrize(
    ("file", "mof_class", "conditional"),
    [
        ("Aquila-VL-2B.yml", 1, False),
        ("Amber.yml", 3, False),  # Apache-2.0 everywhere: not a data licence for eval data
        ("OLMo-7B.yml", 3, True),  # no technical report listed; weights under Apache-2.0
        ("Pythia-6.9B.yml", 3, True),
        ("Mistral-7B-v0.1.yml", 3, True),
        ("Llama-3-8B.yml", 0, False),  # community licence: not open
        ("Aquila-7B.yml", 0, False),
    ],
)
def test_shared_records_get_their_class(
    shared_data: Path, file: str, mof_class: int, conditional: bool
) -> None:
    record = load_file(shared_data / "mof_models" / file)
    assert record.source == "mof"
    assert record.mof_class == mof_class
    assert (record.mof_label or "").endswith("(conditional)") == conditional


def test_whole_folder_imports(shared_data: Path) -> None:
    loaded = load_path(shared_data / "mof_models")
    assert len(loaded.records) == 273 and not loaded.skipped  # _schema.json is not YAML-listed
    classes = Counter(r.mof_class for r in loaded.records)
    assert classes[1] >= 1 and classes[3] > classes[1] and classes[0] > 0


def test_llama_keeps_its_licence_and_fails_the_osaid_check(shared_data: Path) -> None:
    record = load_file(shared_data / "mof_models" / "Llama-3-8B.yml")
    assert record.licence == "Llama 3 Community License"
    assert not record.osaid_passes
    assert "final parameters" in record.osaid["reasons"][0]


def test_every_component_open_is_class_one() -> None:
    record = parse_mof(full_release())
    result = classify(record)
    assert (result.mof_class, result.is_conditional) == (1, False)
    # The OSAID wants the weights under an OSI-approved licence, not an open data licence.
    assert not check_mof(record).weights
    full = full_release()
    for component in full["release"]["components"]:
        if component["name"] == "Model parameters (Final)":
            component["license"] = "Apache-2.0"
    assert check_mof(parse_mof(full)).passes


def test_each_class_needs_its_own_and_the_lower_classes_components() -> None:
    full = full_release()
    assert classify(parse_mof(without(full, "Research paper"))).mof_class == 2
    assert classify(parse_mof(without(full, "Training code"))).mof_class == 3
    # Optional components do not matter.
    assert (
        classify(parse_mof(without(full, "Model metadata", "Sample model outputs"))).mof_class == 1
    )


def test_conditional_class_three_needs_osi_weights() -> None:
    full = full_release()
    bare = without(full, *(r.name for r in COMPONENTS if r.name != "Model parameters (Final)"))
    bare["release"]["components"][0]["license"] = "Apache-2.0"
    result = classify(parse_mof(bare))
    assert (result.mof_class, result.is_conditional) == (3, True)
    bare["release"]["components"][0]["license"] = "CDLA-Permissive-2.0"  # open, but not OSI
    assert classify(parse_mof(bare)).mof_class == 0


def test_release_licence_fills_in_by_content_type() -> None:
    full = full_release(code={"name": "Apache-2.0"}, document={"name": "CC-BY-4.0"})
    for component in full["release"]["components"]:
        component.pop("license")
    record = parse_mof(full)
    assert record.components["Training code"].licence == "Apache-2.0"
    assert record.components["Research paper"].licence == "CC-BY-4.0"
    # Datasets may be data, code or documents: the first release licence that fits is taken.
    assert record.components["Datasets"].licence == "Apache-2.0"
    assert record.components["Datasets"].is_open
    # Intermediate parameters are data; no data or distribution licence is given.
    assert record.components["Model parameters (Intermediate)"].licence is None


def test_unlicensed_component_does_not_inherit() -> None:
    full = full_release(distribution={"name": "MIT"})
    full["release"]["components"][0]["license"] = "unlicensed"
    record = parse_mof(full)
    assert record.components["Model architecture"].licence is None
    assert not record.components["Model architecture"].is_open
    # Final parameters are under a data licence, so no conditional Class III either.
    assert classify(record).mof_class == 0


def test_not_a_mof_record() -> None:
    with pytest.raises(MofFormatError):
        parse_mof({"system": {"name": "x"}})
