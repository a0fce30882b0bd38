"""Licence names as people write them -> SPDX ids, and which ids count as open for what.

The sets follow the Model Openness Framework's split of licences by content type (code, data,
documentation; its tool ships them in ``mof-licenses.json``, lfai/model_openness_tool), with
the code set widened to the common OSI-approved licences (opensource.org/licenses), since the
framework asks code to be under an OSI-approved licence. Anything else (Llama, Gemma, RAIL,
"research only", non-commercial Creative Commons) is not open under these rules.
"""

from __future__ import annotations

import re
from typing import Literal

ContentType = Literal["code", "data", "document"]

OSI_APPROVED = frozenset(
    {
        "0BSD", "AFL-3.0", "AGPL-3.0", "Apache-1.1", "Apache-2.0", "Artistic-2.0",
        "BSD-2-Clause", "BSD-3-Clause", "BSL-1.0", "ECL-2.0", "EPL-2.0", "EUPL-1.2",
        "GPL-2.0", "GPL-3.0", "ISC", "LGPL-2.1", "LGPL-3.0", "MIT", "MIT-0", "MPL-2.0",
        "MulanPSL-2.0", "NCSA", "UPL-1.0", "Unlicense", "Zlib",
    }
)  # fmt: skip
OPEN_DATA = frozenset(
    {
        "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "C-UDA-1.0",
        "CC-PDDC", "CC0-1.0", "PDDL-1.0", "ODC-By-1.0", "ODbL-1.0", "CC-BY-4.0",
        "CC-BY-SA-4.0",
    }
)  # fmt: skip
OPEN_DOCUMENT = frozenset(
    {"CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC-PDDC", "CC0-1.0", "FreeBSD-DOC"}
)
OPEN_BY_CONTENT: dict[ContentType, frozenset[str]] = {
    "code": OSI_APPROVED,
    "data": OPEN_DATA,
    "document": OPEN_DOCUMENT,
}

# Values that say "there is no licence" (the MOF tool's placeholders and their misspellings).
NOT_LICENSED = ("unlicensed", "undisclosed", "component not include", "license not specified",
                "proprietary", "other license", "")  # fmt: skip

_ALIASES = {
    "apache 2.0": "Apache-2.0",
    "apache2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "mit license": "MIT",
    "bsd-3": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-2": "BSD-2-Clause",
    "cc by 4.0": "CC-BY-4.0",
    "cc by-sa 4.0": "CC-BY-SA-4.0",
    "cc-by-sa 4.0": "CC-BY-SA-4.0",
    "cc0": "CC0-1.0",
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
}
_BY_LOWER = {spdx.lower(): spdx for spdx in OSI_APPROVED | OPEN_DATA | OPEN_DOCUMENT}


def normalise(licence: str | None) -> str | None:
    """The SPDX id for a licence name, the cleaned name if unknown, ``None`` if unlicensed."""
    if licence is None:
        return None
    text = re.sub(r"\s+", " ", str(licence)).strip().strip("'\".")
    lowered = text.lower()
    if any(lowered.startswith(p) for p in NOT_LICENSED if p) or not lowered:
        return None
    if "component not included" in lowered:
        return None
    return _BY_LOWER.get(lowered) or _ALIASES.get(lowered) or text


def is_open(licence: str | None, content: ContentType | tuple[ContentType, ...]) -> bool:
    """Whether ``licence`` is an open licence for (any of) the given content types."""
    spdx = normalise(licence)
    if spdx is None:
        return False
    kinds = (content,) if isinstance(content, str) else content
    return any(spdx in OPEN_BY_CONTENT[kind] for kind in kinds)


def is_osi_approved(licence: str | None) -> bool:
    return normalise(licence) in OSI_APPROVED
