"""GetItem: items by id, many per request, each answered in its own response message (in request order).

An id may name an item, a series' master or one occurrence (t:ItemId, t:OccurrenceItemId, t:RecurringMasterItemId;
see series.py)."""

from __future__ import annotations

from roomsops.lab.ews.common import Call, Operation, find_target, item_ids, items_container, parse_shape
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import View, render_item
from roomsops.lab.ews.soap import M_NS, Element, child, failure, success


def get_item(call: Call) -> list[Element]:
    shape = parse_shape(child(call.body, M_NS, "ItemShape"))
    view = View(call.mailbox.id)
    messages = []
    for element in item_ids(call):
        try:
            item = find_target(call, element).shown()
        except EwsError as error:
            messages.append(failure("GetItem", error, items_container()))
            continue
        messages.append(success("GetItem", items_container(render_item(item, shape, view))))
    return messages


OPERATION = Operation("GetItem", get_item, writes=False)
