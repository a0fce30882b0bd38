"""A check against the OSI Open Source AI Definition 1.0 (opensource.org/ai, October 2024).

The definition asks for three things, each under OSI-approved (or, for documentation, open)
terms. What we check, per record kind:

- **Parameters**: MOF - final parameters under an OSI-approved licence. OSAI - end-model
  weights ``open`` and licences ``open``.
- **Code**: MOF - training code, inference code and data preprocessing code all under
  OSI-approved licences (the definition wants the code to train *and* run, data processing
  included). OSAI - training code ``open`` and code ``open``.
- **Data information**: MOF - a data card under open terms (the definition asks for detailed
  information about the training data, not for the data itself). OSAI - base-model data
  sources ``open``, or ``partial`` together with an ``open`` datasheet.

A record passes when all three hold. This is a documented screening from public records, not
an OSI endorsement: the records can be stale or wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aicommons.openness.licences import is_osi_approved
from aicommons.openness.mof import MofRecord
from aicommons.openness.osai import OsaiRecord

MOF_CODE = ("Training code", "Inference code", "Data preprocessing code")


@dataclass(frozen=True, slots=True)
class OsaidCheck:
    weights: bool
    code: bool
    data_information: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def passes(self) -> bool:
        return self.weights and self.code and self.data_information

    def to_dict(self) -> dict[str, Any]:
        return {
            "passes": self.passes,
            "weights": self.weights,
            "code": self.code,
            "data_information": self.data_information,
            "reasons": self.reasons,
        }


def check_mof(record: MofRecord) -> OsaidCheck:
    """The OSAID check over a MOF record's components and licences."""
    parts = record.components
    reasons = []
    final = parts.get("Model parameters (Final)")
    weights = final is not None and is_osi_approved(final.licence)
    if not weights:
        reasons.append("final parameters are not under an OSI-approved licence")
    closed_code = [n for n in MOF_CODE if n not in parts or not is_osi_approved(parts[n].licence)]
    if closed_code:
        reasons.append(f"not under an OSI-approved licence: {', '.join(closed_code)}")
    card = parts.get("Data card")
    data_information = card is not None and card.is_open
    if not data_information:
        reasons.append("no data card under open terms")
    return OsaidCheck(weights, not closed_code, data_information, reasons)


def check_osai(record: OsaiRecord) -> OsaidCheck:
    """The OSAID check over an OSAI index record's open/partial/closed parameters."""
    c = record.classes
    reasons = []
    weights = c.get("weights_endmodel") == "open" and c.get("licenses") == "open"
    if not weights:
        reasons.append("end-model weights or licences are not open")
    code = c.get("trainingcode") == "open" and c.get("code") == "open"
    if not code:
        reasons.append("training code or code documentation is not open")
    sources = c.get("datasources_basemodel")
    data_information = sources == "open" or (sources == "partial" and c.get("datasheet") == "open")
    if not data_information:
        reasons.append("training data sources are not disclosed enough")
    return OsaidCheck(weights, code, data_information, reasons)
