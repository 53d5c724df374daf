"""FindItem: a CalendarView (single items in a time range) or an IndexedPageItemView with a Restriction.

Series (finditem-operation.md, CalendarViewType): a CalendarView returns single items and the occurrences and
exceptions of recurring series (expanded from their masters, series.py); without one, single items and
recurring masters are returned, never occurrences.

CalendarView (calendarview.md): items ending on or after StartDate and starting before EndDate, by start; at most
MaxEntriesReturned and never more than 1,000 (the EWSFindCountLimit of Exchange Online), with TotalItemsInView
counting them all and IncludesLastItemInRange false when some were left out (as the example of
how-to-get-appointments-and-meetings-by-using-ews-in-exchange.md shows); a range over two years is
ErrorCalendarViewRangeTooBig (responsecode.md). FindItem never returns bodies or attendee lists, and names the
organizer without address (finditem-operation.md).
"""

from __future__ import annotations

import datetime as dt

from roomsops.lab.ews.common import Call, Operation, parse_shape, required, resolve_folder
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import BY_URI, View, render_item
from roomsops.lab.ews.restrictions import compile_restriction
from roomsops.lab.ews.series import occurrences_between
from roomsops.lab.ews.soap import (
    M_NS,
    T_NS,
    Element,
    child,
    failure,
    local_name,
    m,
    parse_datetime,
    parse_int,
    success,
    t,
)
from roomsops.lab.ews.store import CalendarItem

FIND_COUNT_LIMIT = 1000  # EWSFindCountLimit in Exchange Online (exchange-online.md)
_VIEWS = (
    "IndexedPageItemView",
    "CalendarView",
    "FractionalPageItemView",
    "ContactsView",
    "SeekToConditionPageItemView",
)


def _start(item: CalendarItem) -> dt.datetime:
    return parse_datetime(item.start, "Start")


def _end(item: CalendarItem) -> dt.datetime:
    return parse_datetime(item.end, "End")


def _sorted(call: Call, items: list[CalendarItem]) -> list[CalendarItem]:
    order = child(call.body, M_NS, "SortOrder")
    # Without SortOrder the lab orders by start (Exchange's default order for a calendar is unverified).
    result = sorted(items, key=lambda i: (_start(i), i.created_seq))
    if order is None:
        return result
    for field_order in reversed(list(order)):
        path = child(field_order, T_NS, "FieldURI")
        f = BY_URI.get(path.get("FieldURI", "")) if path is not None else None
        getter = f.value if f is not None else None
        if getter is None:
            raise EwsError("ErrorUnsupportedPathForQuery", "The lab sorts by simple FieldURIs only.")
        descending = field_order.get("Order", "Ascending") == "Descending"
        result.sort(key=lambda i, g=getter: _sort_key(g(i)), reverse=descending)  # type: ignore[misc]
    return result


def _sort_key(value: object) -> tuple[int, str]:
    if isinstance(value, dt.datetime):
        return (0, value.isoformat())
    if isinstance(value, bool | int):
        return (0, f"{int(value):020d}")
    return (0, str(value).casefold())


def two_years_after(start: dt.datetime) -> dt.datetime:
    """The end of the longest calendar view from `start`; past the calendar's last year, its last moment (a view
    starting in 9998 must be answered, not crash the lab)."""
    if start.year + 2 > dt.MAXYEAR:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    try:
        return start.replace(year=start.year + 2)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 2, day=28)


def _calendar_view(
    call: Call, view: Element, items: list[CalendarItem]
) -> tuple[list[CalendarItem], int, bool]:
    start = parse_datetime(view.get("StartDate"), "StartDate")
    end = parse_datetime(view.get("EndDate"), "EndDate")
    if end < start:
        raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate")
    limit = two_years_after(start)
    if end > limit:
        raise EwsError("ErrorCalendarViewRangeTooBig")
    wanted = (
        parse_int(view.get("MaxEntriesReturned"), "MaxEntriesReturned")
        if view.get("MaxEntriesReturned")
        else None
    )
    if wanted is not None and wanted < 1:
        raise EwsError("ErrorInvalidPagingMaxRows")
    inside: list[CalendarItem] = []
    for item in items:
        if item.recurrence is not None:
            # A calendar view shows a series as its occurrences and exceptions, never its master.
            inside += occurrences_between(item, start, end)
        elif _end(item) >= start and _start(item) < end:
            inside.append(item)
    inside = _sorted(call, inside)
    cap = min(wanted or FIND_COUNT_LIMIT, FIND_COUNT_LIMIT)
    return inside[:cap], len(inside), len(inside) <= cap


def find_item(call: Call) -> list[Element]:
    body = call.body
    shape = parse_shape(child(body, M_NS, "ItemShape"))
    views = [e for e in body if local_name(e.tag) in _VIEWS]
    view = views[0] if views else None
    if view is not None and local_name(view.tag) not in ("IndexedPageItemView", "CalendarView"):
        raise EwsError("ErrorInvalidOperation", f"The lab supports no {local_name(view.tag)}.")
    restriction = child(body, M_NS, "Restriction")
    if restriction is not None and view is not None and local_name(view.tag) == "CalendarView":
        # Exchange refuses a restriction together with a calendar view (finditem.md: CalendarView or Restriction).
        raise EwsError("ErrorInvalidRestriction", "A restriction cannot be combined with a calendar view.")
    predicate = compile_restriction(restriction) if restriction is not None else None
    traversal = body.get("Traversal", "Shallow")
    messages = []
    for folder_element in required(body, M_NS, "ParentFolderIds"):
        try:
            folder = resolve_folder(call, folder_element)
            candidates = (
                call.store.in_folder(folder)
                if call.store.holds_items(folder) and traversal in ("Shallow", "Deep")
                else []
            )
            if predicate is not None:
                candidates = [i for i in candidates if predicate(i)]
            if view is not None and local_name(view.tag) == "CalendarView":
                if not call.store.is_calendar(folder):
                    # A calendar view is for calendar folders (Deleted Items and Inbox are mail folders).
                    raise EwsError("ErrorCalendarFolderIsInvalidForCalendarView")
                page, total, last = _calendar_view(call, view, candidates)
                attributes: dict[str, str] = {}
            else:
                page, total, last, attributes = _indexed_page(view, _sorted(call, candidates))
        except EwsError as error:
            messages.append(failure("FindItem", error))
            continue
        rendered = [render_item(i, shape, View(call.mailbox.id, find=True)) for i in page]
        root = m(
            "RootFolder",
            t("Items", *rendered),
            **attributes,
            TotalItemsInView=str(total),
            IncludesLastItemInRange="true" if last else "false",
        )
        messages.append(success("FindItem", root))
    return messages


def _indexed_page(
    view: Element | None, items: list[CalendarItem]
) -> tuple[list[CalendarItem], int, bool, dict[str, str]]:
    wanted = FIND_COUNT_LIMIT
    offset = 0
    from_end = False
    if view is not None:
        if view.get("MaxEntriesReturned") is not None:
            wanted = parse_int(view.get("MaxEntriesReturned"), "MaxEntriesReturned")
        offset = parse_int(view.get("Offset", "0"), "Offset")
        from_end = view.get("BasePoint", "Beginning") == "End"
    if wanted < 1:
        raise EwsError("ErrorInvalidPagingMaxRows")
    if offset < 0:
        raise EwsError("ErrorInvalidIndexedPagingParameters", "The paging offset must not be negative.")
    count = min(wanted, FIND_COUNT_LIMIT)
    ordered = list(reversed(items)) if from_end else items
    page = ordered[offset : offset + count]
    if from_end:
        page.reverse()
    next_offset = offset + len(page)
    last = next_offset >= len(items)
    return page, len(items), last, {"IndexedPagingOffset": str(next_offset)}


OPERATION = Operation("FindItem", find_item, writes=False)
