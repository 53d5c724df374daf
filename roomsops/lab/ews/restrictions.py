"""FindItem restrictions: And/Or/Not, Exists, the comparisons and Contains, on FieldURIs and extended properties.

A restriction on a property an item does not have is false, whatever the comparison (MAPI's rule; unverified for
IsNotEqualTo). Strings compare case-insensitively (unverified: Exchange compares with the store's collation).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import Any

from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import BY_URI, find_extended, parse_extended_path
from roomsops.lab.ews.soap import T_NS, Element, child, local_name, parse_bool, parse_datetime
from roomsops.lab.ews.store import CalendarItem

Predicate = Callable[[CalendarItem], bool]

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": operator.eq,
    "IsNotEqualTo": operator.ne,
    "IsGreaterThan": operator.gt,
    "IsGreaterThanOrEqualTo": operator.ge,
    "IsLessThan": operator.lt,
    "IsLessThanOrEqualTo": operator.le,
}
_PATHS = ("FieldURI", "ExtendedFieldURI", "IndexedFieldURI")


def compile_restriction(restriction: Element) -> Predicate:
    """A predicate for the single search expression inside m:Restriction."""
    if len(restriction) != 1:
        raise EwsError.schema("Restriction needs exactly one search expression")
    return _compile(restriction[0])


def _compile(expression: Element) -> Predicate:
    name = local_name(expression.tag)
    if name in ("And", "Or"):
        parts = [_compile(e) for e in expression]
        if not parts:
            raise EwsError.schema(f"{name} needs at least one search expression")
        if name == "And":
            return lambda item: all(p(item) for p in parts)
        return lambda item: any(p(item) for p in parts)
    if name == "Not":
        if len(expression) != 1:
            raise EwsError.schema("Not needs exactly one search expression")
        inner = _compile(expression[0])
        return lambda item: not inner(item)
    if name == "Exists":
        getter = _getter(_path(expression))
        return lambda item: getter(item) is not None
    if name in _COMPARISONS:
        return _comparison(expression, _COMPARISONS[name])
    if name == "Contains":
        return _contains(expression)
    raise EwsError("ErrorUnsupportedQueryFilter", f"The restriction {name} is not supported by the lab.")


def _path(expression: Element) -> Element:
    for element in expression:
        if local_name(element.tag) in _PATHS:
            return element
    raise EwsError.schema(f"{local_name(expression.tag)} needs a FieldURI or ExtendedFieldURI")


def _getter(path: Element) -> Callable[[CalendarItem], object | None]:
    kind = local_name(path.tag)
    if kind == "FieldURI":
        f = BY_URI.get(path.get("FieldURI", ""))
        value = f.value if f is not None else None
        if value is None:
            raise EwsError("ErrorUnsupportedPathForQuery", values={"FieldURI": path.get("FieldURI", "")})
        return value
    if kind == "ExtendedFieldURI":
        wanted = parse_extended_path(path)

        def extended(item: CalendarItem) -> object | None:
            found = find_extended(item, wanted)
            if found is None:
                return None
            return found.value if found.values is None else found.values

        return extended
    raise EwsError("ErrorUnsupportedPathForQuery", "Indexed properties are not supported by the lab.")


def _constant(expression: Element) -> str:
    holder = child(expression, T_NS, "FieldURIOrConstant")
    constant = child(holder, T_NS, "Constant") if holder is not None else child(expression, T_NS, "Constant")
    if constant is None or constant.get("Value") is None:
        raise EwsError("ErrorUnsupportedQueryFilter", "The lab compares properties with constants only.")
    return constant.get("Value", "")


def _coerce(sample: object, text: str) -> object:
    """The constant in the type of the property it is compared with."""
    if isinstance(sample, bool):
        return parse_bool(text, "Constant")
    if isinstance(sample, int):
        try:
            return int(text)
        except ValueError:
            raise EwsError.schema(f"'{text}' is not an integer") from None
    if isinstance(sample, dt.datetime):
        return parse_datetime(text, "Constant")
    return text.casefold()


def _comparison(expression: Element, compare: Callable[[Any, Any], bool]) -> Predicate:
    getter = _getter(_path(expression))
    constant = _constant(expression)

    def predicate(item: CalendarItem) -> bool:
        value = getter(item)
        if value is None:
            return False
        values = value if isinstance(value, list) else [value]
        for v in values:
            left = v.casefold() if isinstance(v, str) else v
            try:
                if compare(left, _coerce(v, constant)):
                    return True
            except TypeError:
                return False
        return False

    return predicate


def _contains(expression: Element) -> Predicate:
    getter = _getter(_path(expression))
    constant = child(expression, T_NS, "Constant")
    if constant is None:
        raise EwsError.schema("Contains needs a Constant")
    wanted = constant.get("Value", "")
    mode = expression.get("ContainmentMode", "Substring")
    exact = expression.get("ContainmentComparison", "Exact") in ("Exact", "Loose")

    def predicate(item: CalendarItem) -> bool:
        value = getter(item)
        if not isinstance(value, str):
            return False
        haystack, needle = (value, wanted) if exact else (value.casefold(), wanted.casefold())
        if mode == "FullString":
            return haystack == needle
        if mode == "Prefixed":
            return haystack.startswith(needle)
        return needle in haystack

    return predicate
