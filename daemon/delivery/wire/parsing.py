"""Reading a received document by the subscriber's rules, with a specific error."""

from __future__ import annotations

from typing import TypeVar

from pydantic import ValidationError

from .fields import WireDocument

D = TypeVar("D", bound=WireDocument)
_REASON_MAX_CHARS = 500


class DocumentError(ValueError):
    """A payload that is not the document its topic carries: `field: problem; ...`."""


def parse_document(model: type[D], payload: bytes | bytearray | str) -> D:
    """`payload` as a `model`, by the subscriber's rules: a field this version does not
    know is ignored (a newer daemon may add fields without a new schema version), a field
    it knows must be exactly what the contract says. Raises `DocumentError`."""
    try:
        return model.model_validate_json(payload, extra="ignore")
    except ValidationError as exc:
        raise DocumentError(explain(exc)) from None


def explain(exc: ValidationError) -> str:
    """One line: `not JSON: ...`, `not a JSON object`, or `field: problem; ...`."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        if error["type"] == "json_invalid":
            problems.append(f"not JSON: {error['msg'].removeprefix('Invalid JSON: ')}")
        elif error["type"] == "model_type" and not error["loc"]:
            problems.append("not a JSON object")
        else:
            field = ".".join(str(part) for part in error["loc"])
            problems.append(f"{field}: {error['msg']}")
    return "; ".join(problems)[:_REASON_MAX_CHARS]
