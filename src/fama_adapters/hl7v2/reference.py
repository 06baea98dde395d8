"""The same messages built through hl7apy's object API: the slow, independent reference.

:func:`build_with_hl7apy` takes the segments fama's fast path encodes and
assigns every value through hl7apy's object model (groups, segments, fields,
components), at STRICT validation, so hl7apy does its own escaping and
serialising. The benchmark (``benchmarks/hl7_out.py``) times both and asserts
byte-identical output; the tests use it as an independent encoder.

hl7apy escapes ``| ^ & ~`` like fama but leaves a backslash that already looks
like an escape sequence (``\\F\\``) alone, and does not escape line breaks;
fama escapes both (``\\E\\``, ``\\X0A\\``). Identity is therefore claimed for
text without backslashes or line breaks, which the tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fama_adapters.hl7v2.er7 import Component, Field, Segment

__all__ = ["build_with_hl7apy"]

_LEAF_TYPES = frozenset({"ST", "ID", "IS", "NM", "SI", "TX", "FT", "DT", "DTM", "TM", "GTS"})

# Where each segment goes, per message structure: (group to open or "", parent key).
# Parent keys: "msg" the message, or a group opened earlier under that key.
_PLACEMENT: dict[str, dict[str, tuple[str, str, str]]] = {
    # segment id -> (group name to open, key to store it under, parent key)
    "PGL_PC6": {
        "PID": ("", "", "msg"),
        "GOL": ("PGL_PC6_GOAL", "goal", "msg"),
        "OBX": ("PGL_PC6_OBSERVATION", "obs", "goal"),
    },
    "REF_I12": {
        "RF1": ("", "", "msg"),
        "PRD": ("REF_I12_PROVIDER_CONTACT", "prd", "msg"),
        "PID": ("", "", "msg"),
        "OBR": ("REF_I12_OBSERVATION", "obr", "msg"),
        "OBX": ("REF_I12_RESULTS_NOTES", "obs", "obr"),
        "PV1": ("REF_I12_PATIENT_VISIT", "visit", "msg"),
        "NTE@visit": ("", "", "msg"),  # the referral's own notes close the message
    },
    "ORU_R01": {
        "PID": ("ORU_R01_PATIENT", "patient", "result"),
        "PV1": ("ORU_R01_VISIT", "visit", "patient"),
        "OBR": ("ORU_R01_ORDER_OBSERVATION", "order", "result"),
        "OBX": ("ORU_R01_OBSERVATION", "obs", "order"),
    },
}


def _leaf(datatype: str, raw: str, level: int) -> Any:
    """A base datatype value holding ``raw`` text: hl7apy escapes it when serialising.

    Assigning a plain string instead would make hl7apy parse it as ER7 (splitting on ``^``).
    """
    from hl7apy.factories import datatype_factory

    return datatype_factory(datatype, raw, version="2.5", validation_level=level)


def _set_component(parent: Any, name: str, value: Component) -> None:
    if value == "" or value == ():
        return
    child = getattr(parent, name)
    if isinstance(value, str):
        if child.datatype in _LEAF_TYPES:
            child.value = _leaf(child.datatype, value, child.validation_level)
        else:  # a composite component holding only its first part (CX-4 = HD-1)
            _set_component(child, f"{child.datatype.lower()}_1", value)
        return
    for k, sub in enumerate(value, 1):
        _set_component(child, f"{child.datatype.lower()}_{k}", sub)


def _set_field(segment: Any, number: int, value: Field) -> None:
    name = f"{segment.name.lower()}_{number}"
    reps = value if isinstance(value, list) else [value]
    for k, rep in enumerate(reps):
        if rep == "" or rep == ():
            continue
        field = getattr(segment, name) if k == 0 else segment.add_field(name.upper())
        parts = (rep,) if isinstance(rep, str) else rep
        dtype = (field.datatype or "ST").upper()
        if dtype in _LEAF_TYPES:
            if k == 0:
                setattr(segment, name, _leaf(dtype, str(parts[0]), segment.validation_level))
            else:
                field.value = _leaf(dtype, str(parts[0]), segment.validation_level)
            continue
        if dtype == "VARIES":
            # hl7apy cannot hold components under a field of type varies (OBX-5) through
            # its object API; it parses an ER7 value instead. fama's OBX-5 values are
            # codes and identifiers, which have nothing to escape.
            setattr(segment, name, "^".join(str(c) for c in parts).rstrip("^"))
            continue
        for j, comp in enumerate(parts, 1):
            _set_component(field, f"{dtype.lower()}_{j}", comp)


def build_with_hl7apy(segments: Sequence[Segment], *, strict: bool = True) -> str:
    """Build ``segments`` through hl7apy's object API and return its ER7 text.

    ``strict`` selects hl7apy's STRICT validation level (the default) or TOLERANT.
    """
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.core import Message

    level = VALIDATION_LEVEL.STRICT if strict else VALIDATION_LEVEL.TOLERANT
    msh_fields = segments[0][1]
    mtype = msh_fields[6]
    assert isinstance(mtype, tuple)
    structure = str(mtype[2])
    msg = Message(structure, version="2.5", validation_level=level)
    for i, value in enumerate(msh_fields, 3):
        _set_field(msg.msh, i, value)
    placement = _PLACEMENT.get(structure, {})
    containers: dict[str, Any] = {"msg": msg}
    if structure == "ORU_R01":
        containers["result"] = msg.add_group("ORU_R01_PATIENT_RESULT")
    current: Any = msg
    current_key = "msg"
    for seg_id, fields in segments[1:]:
        rule = placement.get(f"{seg_id}@{current_key}") or placement.get(seg_id)
        group, key, parent_key = rule or ("", "", "")
        if group:
            container = containers[parent_key].add_group(group)
            containers[key] = container
            segment = container.add_segment(seg_id)
            current, current_key = container, key
        elif parent_key:
            segment = containers[parent_key].add_segment(seg_id)
            current, current_key = containers[parent_key], parent_key
        else:  # NTE and the like follow the segment before them; flat structures add here
            segment = current.add_segment(seg_id)
        for number, value in enumerate(fields, 1):
            _set_field(segment, number, value)
    text: str = msg.to_er7()
    return text
