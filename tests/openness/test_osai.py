"""European Open Source AI Index records."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicommons.openness.osai import OsaiFormatError, parse_osai
from aicommons.openness.records import load_file, load_path


def test_smollm_record(shared_data: Path) -> None:
    record = load_file(shared_data / "osai_index" / "smollm.yaml")
    assert (record.source, record.record_name, record.producer) == ("osai", "SmolLM", "HuggingFace")
    assert record.origin == "International"
    assert record.licence == "Apache-2.0"
    # 10 open, preprint partial, paper closed -> (10 + 0.5) / 12
    assert record.osai_score == pytest.approx(10.5 / 12, abs=1e-4)
    assert record.osaid_passes


def test_olmo_passes_and_llama_fails_the_osaid_check(shared_data: Path) -> None:
    olmo = load_file(shared_data / "osai_index" / "OLMo.yaml")
    assert olmo.origin == "United States" and olmo.osaid_passes
    llama = load_file(shared_data / "osai_index" / "llama-3.1.yaml")
    assert not llama.osaid_passes
    assert llama.osai_score is not None and llama.osai_score < olmo.osai_score  # type: ignore[operator]


def test_whole_folder_imports_and_skips_the_template(shared_data: Path) -> None:
    loaded = load_path(shared_data / "osai_index")
    assert len(loaded.records) == 193
    assert list(loaded.skipped) == ["a_submission_template.yaml"]
    assert all(0.0 <= (r.osai_score or 0.0) <= 1.0 for r in loaded.records)


def test_model_name_applies_to_single_files_only(shared_data: Path) -> None:
    record = load_file(shared_data / "osai_index" / "smollm.yaml", model="SmolLM2-135M-Instruct")
    assert record.model == "smollm2-135m-instruct"
    with pytest.raises(ValueError, match="single file"):
        load_path(shared_data / "osai_index", model="x")


def test_unknown_class_values_count_as_closed() -> None:
    record = parse_osai(
        {"system": {"name": "X"}, "org": {"name": "Y"}, "paper": {"class": "maybe"}}, ""
    )
    assert record.classes == {"paper": "closed"} and record.score == 0.0
    with pytest.raises(OsaiFormatError):
        parse_osai({"release": {}}, "")
