"""European Open Source AI Index records (osai-index.eu; Liesenfeld & Dingemanse, FAccT 2024).

Record format: one YAML file per system (Language-Technology-Assessment/main-database) with
``system`` and ``org`` blocks and openness parameters (12 in the current template), each
``open``, ``partial`` or ``closed``.
The national origin is only written in a comment (``# - National origin: France``), so it is
read from the raw text.

Score used here: open = 1, partial = 0.5, closed = 0, averaged over the parameters the record
has (0..1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PARAMETERS = (
    "datasources_basemodel",
    "datasources_endmodel",
    "weights_basemodel",
    "weights_endmodel",
    "trainingcode",
    "code",
    "hardware_architecture",
    "preprint",
    "paper",
    "modelcard",
    "datasheet",
    "licenses",
)
# Older records also rate the package and the API; they count when present.
OPTIONAL_PARAMETERS = ("package", "api")
POINTS = {"open": 1.0, "partial": 0.5, "closed": 0.0}
_ORIGIN = re.compile(r"^#\s*-\s*National origin:\s*(.+?)\s*$", re.MULTILINE)


class OsaiFormatError(ValueError):
    """The file is not an OSAI index record."""


@dataclass(frozen=True, slots=True)
class OsaiRecord:
    name: str
    organisation: str
    origin: str | None
    base_model: str | None
    end_model: str | None
    licence: str | None
    classes: dict[str, str] = field(default_factory=dict)  # parameter -> open/partial/closed

    @property
    def score(self) -> float:
        """Mean openness over the parameters present, 0 (closed) to 1 (open)."""
        if not self.classes:
            return 0.0
        return sum(POINTS[c] for c in self.classes.values()) / len(self.classes)


def is_osai_document(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("system"), dict) and "org" in data


def parse_osai(data: Any, raw_text: str = "") -> OsaiRecord:
    """A record from one parsed OSAI YAML document and its raw text (for the origin)."""
    if not is_osai_document(data):
        raise OsaiFormatError("not an OSAI index record (system/org)")
    system = data["system"]
    name = _text(system.get("name"))
    if not name:
        raise OsaiFormatError("system.name is empty")
    classes = {}
    for parameter in (*PARAMETERS, *OPTIONAL_PARAMETERS):
        entry = data.get(parameter)
        if isinstance(entry, dict):
            value = _text(entry.get("class")).lower()
            classes[parameter] = value if value in POINTS else "closed"
    origin = _ORIGIN.search(raw_text)
    org = data.get("org") if isinstance(data.get("org"), dict) else {}
    return OsaiRecord(
        name=name,
        organisation=_text(org.get("name")),
        origin=origin.group(1) if origin else None,
        base_model=_text(system.get("basemodelname")) or None,
        end_model=_text(system.get("endmodelname")) or None,
        licence=_text(system.get("endmodellicense")) or None,
        classes=classes,
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
