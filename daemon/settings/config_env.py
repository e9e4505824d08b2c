"""Environment overrides for the configuration file.

Which variables are overrides:

- Only names that start with `HULLWATCH_` (upper case, as written) are looked at;
  everything else in the environment is ignored.
- A name with no `__` is an override only when it names a top-level scalar key:
  today that is `HULLWATCH_STATION`. Any other such name (`HULLWATCH_CONFIG`,
  `HULLWATCH_MQTT`, ...) is not an override and is ignored, so those names stay
  free for other uses.
- A name with `__` is always an override, and one that does not resolve is a
  problem naming the variable:
  - `HULLWATCH_<SECTION>__<KEY>` sets a key of a table section:
    `HULLWATCH_MQTT__PORT=18830`, `HULLWATCH_LOGGING__LEVEL=debug`.
  - `HULLWATCH_<SECTION>__<ELEMENT>__<KEY>` sets a key of one element of an
    array-of-tables section (`zones`, `sensors`). ELEMENT is a 0-based decimal
    index into the list as written in the file, or an element id. A decimal
    ELEMENT is always an index. Ids match case-insensitively with `-` and `_`
    treated alike, because variable names cannot contain `-`:
    `HULLWATCH_SENSORS__BMP_A__BUS` sets `bus` of the sensor with id `bmp-a`.

Section and key names are case-insensitive. Values stay strings: the schema
coerces them (pydantic's lax mode turns "18830" into 18830 and "true" into True).
An override can change a key, or add one to a table or element that exists; it
cannot create list elements or remove keys. When two variables name the same
key (an element by index and by id), the first in sorted order wins and the
other is a problem.

This module knows the schema only through the pydantic model it is given, and
does not import the rest of the configuration room.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args, get_origin

from pydantic import BaseModel

ENV_PREFIX: Final = "HULLWATCH_"
_SEPARATOR: Final = "__"

FieldKind = Literal["table", "array", "scalar"]
_Report = Callable[[str, str], None]  # (key path, message)


@dataclass(frozen=True)
class EnvOverrideProblem:
    """An environment variable that looks like an override but does not fit the schema."""

    variable: str
    key_path: str
    value: str
    message: str


@dataclass(frozen=True)
class EnvOverrides:
    """The configuration data with overrides applied, and where each override came from."""

    data: dict[str, Any]
    sources: dict[str, str]  # key path (`sensors[0].bus`) -> variable name
    problems: list[EnvOverrideProblem]


def normalize_id(value: str) -> str:
    """The form in which ids are compared: case-folded, with `-` and `_` alike."""
    return value.casefold().replace("-", "_")


def field_kind(annotation: Any) -> tuple[FieldKind, type[BaseModel] | None]:
    """Whether a schema field is a table (a model), an array of tables, or a scalar."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table", annotation
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return "array", item
    return "scalar", None


def apply_env_overrides(
    data: Mapping[str, Any], environ: Mapping[str, str], *, schema: type[BaseModel]
) -> EnvOverrides:
    """Apply the `HULLWATCH_*` overrides in `environ` to a copy of `data`."""
    result = EnvOverrides(data=copy.deepcopy(dict(data)), sources={}, problems=[])
    for variable in sorted(environ):
        if variable.startswith(ENV_PREFIX):
            _apply_one(result, variable, environ[variable], schema)
    return result


def _apply_one(result: EnvOverrides, variable: str, value: str, schema: type[BaseModel]) -> None:
    parts = variable.removeprefix(ENV_PREFIX).split(_SEPARATOR)
    if len(parts) == 1:
        name = parts[0].lower()
        field = schema.model_fields.get(name)
        if field is not None and field_kind(field.annotation)[0] == "scalar":
            _set(result, result.data, name, name, variable, value)
        return

    def problem(key_path: str, message: str) -> None:
        result.problems.append(EnvOverrideProblem(variable, key_path, value, message))

    section = parts[0].lower()
    field = schema.model_fields.get(section)
    if field is None:
        problem(".".join(p.lower() for p in parts), f"unknown section {section!r}")
        return
    kind, model = field_kind(field.annotation)
    if kind == "scalar" or model is None:
        problem(section, f"{section!r} is a single value: override it as {ENV_PREFIX}{parts[0]}")
        return
    if kind == "table":
        if len(parts) != 2:
            problem(section, f"expected {ENV_PREFIX}{parts[0]}__<KEY>")
            return
        table = result.data.setdefault(section, {})
        if not isinstance(table, dict):
            problem(section, f"cannot override a key of {section!r}: it is not a table in the file")
            return
        _set_key(result, table, model, section, parts[1], variable, value, problem)
        return
    if len(parts) != 3:
        problem(section, f"expected {ENV_PREFIX}{parts[0]}__<INDEX or ID>__<KEY>")
        return
    selector = parts[1]
    found = result.data.get(section)
    elements: list[Any] = found if isinstance(found, list) else []
    index = _select(elements, selector)
    if isinstance(index, str):
        problem(f"{section}[{selector.lower()}].{parts[2].lower()}", index)
        return
    element = elements[index]
    if not isinstance(element, dict):
        problem(f"{section}[{index}]", "cannot override a key: this element is not a table")
        return
    _set_key(result, element, model, f"{section}[{index}]", parts[2], variable, value, problem)


def _select(elements: list[Any], selector: str) -> int | str:
    """The index of the element `selector` names, or a message saying why there is none."""
    if selector.isdecimal():
        index = int(selector)
        if index < len(elements):
            return index
        return f"no element at index {index}: the file has {len(elements)}"
    wanted = normalize_id(selector)
    matches = [
        i
        for i, element in enumerate(elements)
        if isinstance(element, dict)
        and isinstance(element.get("id"), str)
        and normalize_id(element["id"]) == wanted
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        ids = [e["id"] for e in elements if isinstance(e, dict) and isinstance(e.get("id"), str)]
        return f"no element with id {selector!r} (ids: {', '.join(ids) or 'none'})"
    return f"id {selector!r} matches more than one element: indexes {matches}"


def _set_key(
    result: EnvOverrides,
    table: dict[str, Any],
    model: type[BaseModel],
    prefix: str,
    raw_key: str,
    variable: str,
    value: str,
    problem: _Report,
) -> None:
    key = raw_key.lower()
    key_path = f"{prefix}.{key}"
    if key not in model.model_fields:
        problem(key_path, f"unknown key {key!r}")
        return
    _set(result, table, key, key_path, variable, value)


def _set(
    result: EnvOverrides,
    table: dict[str, Any],
    key: str,
    key_path: str,
    variable: str,
    value: str,
) -> None:
    earlier = result.sources.get(key_path)
    if earlier is not None:
        message = f"{key_path} is already set by {earlier}"
        result.problems.append(EnvOverrideProblem(variable, key_path, value, message))
        return
    table[key] = value
    result.sources[key_path] = variable
