"""A check of Graph JSON against Microsoft Graph's v1.0 metadata (CSDL): the oracle for the lab's Graph answers.

Every object names only properties its type declares (base types included, or the type its `@odata.type` names)
or OData annotations (`@odata.*`, `@removed`, `name@odata.*`); values have the declared type (strings, booleans,
Int32, DateTimeOffset, Date, Guid, complex and entity types, collections) and enum values are members of their enum
(flags enums: comma-separated members). tests/data/graph/v1.0-calendar.xml is the part of Microsoft's
v1.0 metadata (../shared/reference/graph/v1.0-metadata.xml) these answers need: `python -m tests.graph_csdl SRC`
extracts it again (the types reachable from the roots below).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
SUBSET = Path(__file__).parent / "data" / "graph" / "v1.0-calendar.xml"
ROOTS = (
    "event",
    "subscription",
    "changeNotificationCollection",
    "convertIdResult",
    "publicError",
    "InnerError",
    "user",
    "calendar",
)

NAVIGATION = ("event", "singleValueLegacyExtendedProperty", "multiValueLegacyExtendedProperty")


@dataclass
class Schema:
    types: dict[str, ET.Element]  # entity and complex types by name
    enums: dict[str, tuple[set[str], bool]]  # members, is flags

    def props(self, name: str) -> dict[str, tuple[str, bool]]:
        """name -> (type, nullable) of a type and its base types."""
        element = self.types[name]
        found: dict[str, tuple[str, bool]] = {}
        base = element.get("BaseType")
        if base:
            found.update(self.props(base.split(".")[-1]))
        for prop in element:
            if prop.tag in (EDM + "Property", EDM + "NavigationProperty"):
                found[str(prop.get("Name"))] = (str(prop.get("Type")), prop.get("Nullable") != "false")
        return found

    def is_open(self, name: str) -> bool:
        """A pure property bag: open and declaring nothing (resourceData). Open types that declare properties
        (event, user) are checked strictly: the lab must answer with declared properties only."""
        element = self.types[name]
        return element.get("OpenType") == "true" and not self.props(name)


@cache
def schema(path: Path = SUBSET) -> Schema:
    root = ET.parse(path).getroot()
    types: dict[str, ET.Element] = {}
    enums: dict[str, tuple[set[str], bool]] = {}
    for element in root.iter():
        if element.tag in (EDM + "EntityType", EDM + "ComplexType"):
            types[str(element.get("Name"))] = element
        elif element.tag == EDM + "EnumType":
            members = {str(m.get("Name")) for m in element if m.tag == EDM + "Member"}
            enums[str(element.get("Name"))] = (members, element.get("IsFlags") == "true")
    return Schema(types, enums)


@dataclass
class Checker:
    """Counts the answers checked and collects every violation (a path and what is wrong)."""

    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def check(self, value: Any, type_name: str, where: str = "$") -> list[str]:
        """Check one answer (an object of `type_name`, or a collection answer of it: {"value": [...]})."""
        self.checked += 1
        found: list[str] = []
        _check_object(schema(), value, type_name, where, found)
        self.violations.extend(found)
        return found

    def check_collection(self, body: Any, type_name: str, where: str = "$") -> list[str]:
        self.checked += 1
        found: list[str] = []
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            found.append(f"{where}: a collection answer needs a value array")
        else:
            for key in body:
                if key != "value" and not _annotation(key):
                    found.append(f"{where}.{key}: not a property of a collection answer")
            for i, item in enumerate(body["value"]):
                _check_object(schema(), item, type_name, f"{where}.value[{i}]", found)
        self.violations.extend(found)
        return found


def _annotation(key: str) -> bool:
    return key.startswith("@") or "@odata." in key


def _check_object(s: Schema, value: Any, type_name: str, where: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        found.append(f"{where}: expected an object of {type_name}, got {type(value).__name__}")
        return
    declared = value.get("@odata.type")
    if isinstance(declared, str):
        name = declared.lstrip("#").split(".")[-1]
        name = next((t for t in s.types if t.lower() == name.lower()), name)
        if name in s.types:
            type_name = name
        else:
            found.append(f"{where}: @odata.type {declared} is not a type of the metadata")
            return
    if type_name not in s.types:
        found.append(f"{where}: {type_name} is not in the metadata subset")
        return
    props = s.props(type_name)
    for key, item in value.items():
        if _annotation(key):
            if key == "@removed" and not (isinstance(item, dict) and isinstance(item.get("reason"), str)):
                found.append(f"{where}.@removed: needs a reason")
            continue
        if key not in props:
            if not s.is_open(type_name):
                found.append(f"{where}.{key}: {type_name} declares no property {key}")
            continue
        kind, nullable = props[key]
        _check_value(s, item, kind, nullable, f"{where}.{key}", found)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$")


def _check_value(s: Schema, value: Any, kind: str, nullable: bool, where: str, found: list[str]) -> None:
    if value is None:
        if not nullable:
            found.append(f"{where}: null for a property that is not nullable")
        return
    if kind.startswith("Collection("):
        inner = kind[len("Collection(") : -1]
        if not isinstance(value, list):
            found.append(f"{where}: expected a collection of {inner}")
            return
        for i, item in enumerate(value):
            _check_value(s, item, inner, False, f"{where}[{i}]", found)
        return
    simple = kind.split(".")[-1]
    problem = None
    if kind == "Edm.String":
        problem = None if isinstance(value, str) else "a string"
    elif kind == "Edm.Boolean":
        problem = None if isinstance(value, bool) else "a boolean"
    elif kind in ("Edm.Int32", "Edm.Int64", "Edm.Int16", "Edm.Byte"):
        problem = None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    elif kind == "Edm.Double":
        problem = None if isinstance(value, int | float) and not isinstance(value, bool) else "a number"
    elif kind == "Edm.DateTimeOffset":
        problem = (
            None if isinstance(value, str) and _OFFSET.match(value) and _iso(value) else "a DateTimeOffset"
        )
    elif kind == "Edm.Date":
        problem = None if isinstance(value, str) and _DATE.match(value) else "a Date"
    elif kind == "Edm.Guid":
        problem = None if isinstance(value, str) and _guid(value) else "a Guid"
    elif kind.startswith("Edm."):
        problem = None
    elif simple in s.enums:
        members, flags = s.enums[simple]
        parts = [p.strip() for p in value.split(",")] if isinstance(value, str) and flags else [value]
        if not all(isinstance(p, str) and p in members for p in parts):
            problem = f"a member of {simple} ({', '.join(sorted(members))})"
    elif simple in s.types:
        _check_object(s, value, simple, where, found)
        return
    else:
        problem = f"a {kind} (not in the metadata subset)"
    if problem:
        found.append(f"{where}: {value!r} is not {problem}")


def _iso(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(re.sub(r"\.(\d{1,6})\d*", r".\1", value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def extract(source: Path, target: Path = SUBSET) -> int:
    """Write the types reachable from ROOTS (structural and navigation properties, base types) to `target`."""
    root = ET.parse(source).getroot()
    by_name: dict[str, ET.Element] = {}
    for element in root.iter():
        if element.tag in (EDM + "EntityType", EDM + "ComplexType", EDM + "EnumType") and element.get("Name"):
            by_name.setdefault(str(element.get("Name")), element)
    wanted: list[str] = [r for r in ROOTS if r in by_name]
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        element = by_name[name]
        # Navigation properties: only to the types the lab answers with (an event's, its extended properties).
        refs = [(element.get("BaseType") or "", False)]
        refs += [(p.get("Type") or "", False) for p in element if p.tag == EDM + "Property"]
        refs += [(p.get("Type") or "", True) for p in element if p.tag == EDM + "NavigationProperty"]
        for raw, navigation in refs:
            simple = raw.removeprefix("Collection(").rstrip(")").split(".")[-1]
            if simple in by_name and simple not in seen and (not navigation or simple in NAVIGATION):
                wanted.append(simple)
    out = ET.Element(EDMX + "Edmx", {"Version": "4.0"})
    services = ET.SubElement(out, EDMX + "DataServices")
    graph = ET.SubElement(services, EDM + "Schema", {"Namespace": "microsoft.graph", "Alias": "graph"})
    for name in sorted(seen):
        element = by_name[name]
        copy = ET.SubElement(graph, element.tag, dict(element.attrib))
        for child in element:
            if child.tag in (EDM + "Property", EDM + "NavigationProperty", EDM + "Member"):
                ET.SubElement(copy, child.tag, dict(child.attrib))
    target.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(out)
    ET.ElementTree(out).write(target, encoding="utf-8", xml_declaration=True)
    return len(seen)


if __name__ == "__main__":
    print(extract(Path(sys.argv[1])), "types written to", SUBSET)
