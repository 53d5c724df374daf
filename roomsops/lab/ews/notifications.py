"""Pull notifications: Subscribe (PullSubscriptionRequest), GetEvents, Unsubscribe.

Events are derived from the mailbox's change log since the watermark (CreatedEvent, ModifiedEvent, DeletedEvent;
a move shows as a deletion in one folder and a creation in the other, unverified: Exchange sends MovedEvent).
No events: one StatusEvent carrying the watermark (how-to-pull-notifications-about-mailbox-events-...). Push and
streaming subscriptions are not emulated; subscriptions do not expire in the lab (unverified: Exchange ends a pull
subscription not polled within its Timeout).
"""

from __future__ import annotations

from roomsops.lab.ews.common import Call, Operation, required, resolve_folder
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.soap import (
    M_NS,
    T_NS,
    Element,
    child,
    child_text,
    failure,
    local_name,
    m,
    parse_int,
    success,
    t,
    xml_bool,
)
from roomsops.lab.ews.store import (
    Subscription,
    changes_since,
    decode_marker,
    encode_marker,
    folder_id,
    new_subscription_id,
)

EVENT_TYPES = (
    "CopiedEvent",
    "CreatedEvent",
    "DeletedEvent",
    "ModifiedEvent",
    "MovedEvent",
    "NewMailEvent",
    "FreeBusyChangedEvent",
)
EVENTS_PER_CALL = 50  # unverified: Exchange sends "more events" in batches of its own size
_EVENT_OF_CHANGE = {"Create": "CreatedEvent", "Update": "ModifiedEvent", "Delete": "DeletedEvent"}


def subscribe(call: Call) -> list[Element]:
    request = child(call.body, M_NS, "PullSubscriptionRequest")
    if request is None:
        kinds = ", ".join(local_name(e.tag) for e in call.body)
        error = EwsError(
            "ErrorInvalidSubscriptionRequest", f"The lab supports pull subscriptions only ({kinds})."
        )
        return [failure("Subscribe", error)]
    try:
        folders = _subscribed_folders(call, request)
        event_types = [(e.text or "").strip() for e in required(request, T_NS, "EventTypes")]
        if not event_types or any(e not in EVENT_TYPES for e in event_types):
            raise EwsError.schema("EventTypes holds an unknown event type")
        timeout = parse_int(child_text(request, T_NS, "Timeout"), "Timeout")
        if not 1 <= timeout <= 1440:
            raise EwsError.schema("Timeout must be between 1 and 1440 minutes")
        store = call.store
        watermark_text = next((e.text for e in request if local_name(e.tag) == "Watermark"), None)
        start = store.seq
        if watermark_text:
            decoded = decode_marker(store, watermark_text)
            if decoded is None:
                raise EwsError("ErrorInvalidWatermark")
            start = decoded
    except EwsError as error:
        return [failure("Subscribe", error)]
    subscription = Subscription(new_subscription_id(), folders, event_types, call.now, timeout)
    store.subscriptions.append(subscription)
    return [
        success(
            "Subscribe",
            m("SubscriptionId", text=subscription.id),
            m("Watermark", text=encode_marker(store, start)),
        )
    ]


def _subscribed_folders(call: Call, request: Element) -> list[str]:
    if request.get("SubscribeToAllFolders", "false").lower() in ("true", "1"):
        return []
    folder_ids = required(request, T_NS, "FolderIds")
    return [resolve_folder(call, f) for f in folder_ids]


def _subscription(call: Call) -> Subscription:
    wanted = (child_text(call.body, M_NS, "SubscriptionId") or "").strip()
    found = next((s for s in call.store.subscriptions if s.id == wanted), None)
    if found is None:
        raise EwsError("ErrorSubscriptionNotFound")
    return found


def get_events(call: Call) -> list[Element]:
    try:
        subscription = _subscription(call)
        store = call.store
        previous_text = (child_text(call.body, M_NS, "Watermark") or "").strip()
        previous = decode_marker(store, previous_text)
        if previous is None:
            raise EwsError("ErrorInvalidWatermark")
    except EwsError as error:
        return [failure("GetEvents", error)]
    folders = subscription.folders or store.item_folders()
    changes = sorted(
        (
            (change, folder)
            for folder in folders
            if store.holds_items(folder)
            for change in changes_since(store, folder, previous)
            if _EVENT_OF_CHANGE[change.kind] in subscription.event_types
        ),
        key=lambda pair: pair[0].seq,
    )
    batch = changes[:EVENTS_PER_CALL]
    more = len(changes) > EVENTS_PER_CALL
    events = []
    for change, folder in batch:
        stamp = change.item.modified if change.item is not None else call.now
        events.append(
            t(
                _EVENT_OF_CHANGE[change.kind],
                t("Watermark", text=encode_marker(store, change.seq)),
                t("TimeStamp", text=stamp),
                t(
                    "ItemId",
                    Id=change.item_id,
                    ChangeKey=change.item.change_key if change.item else "AAAAAA==",
                ),
                t("ParentFolderId", Id=folder_id(call.mailbox.id, folder), ChangeKey="AQAAAA=="),
            )
        )
    if not events:
        events.append(t("StatusEvent", t("Watermark", text=encode_marker(store, store.seq))))
    notification = m(
        "Notification",
        t("SubscriptionId", text=subscription.id),
        t("PreviousWatermark", text=previous_text),
        t("MoreEvents", text=xml_bool(more)),
        *events,
    )
    return [success("GetEvents", notification)]


def unsubscribe(call: Call) -> list[Element]:
    try:
        subscription = _subscription(call)
    except EwsError as error:
        return [failure("Unsubscribe", error)]
    call.store.subscriptions.remove(subscription)
    return [success("Unsubscribe")]


SUBSCRIBE = Operation("Subscribe", subscribe, writes=True)
GET_EVENTS = Operation("GetEvents", get_events, writes=False)
UNSUBSCRIBE = Operation("Unsubscribe", unsubscribe, writes=True)
