"""ResolveNames against the tenant's directory: an address (primary or alias, `smtp:` prefix allowed) resolves to
the mailbox and its PRIMARY SMTP address, which is how roomsops tells "this address is an alias of X".

A name that is not an address matches display names, aliases (mailNickname) and address local parts by prefix:
one match answers Success, several a Warning ErrorNameResolutionMultipleResults with all of them, none an Error
ErrorNameResolutionNoResults (resolvenames-operation.md, responsecode.md).
"""

from __future__ import annotations

from roomsops.lab.ews.common import Call, Operation
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.soap import M_NS, Element, failure, m, success, t
from roomsops.lab.tenant import Mailbox

MAX_CANDIDATES = 100


def _matches(call: Call, entry: str) -> list[Mailbox]:
    text = entry.strip()
    if text.lower().startswith("smtp:"):
        text = text[5:]
    if "@" in text:
        found = call.state.find_mailbox(text)
        return [found] if found is not None else []
    wanted = text.casefold()
    return [
        mb
        for mb in call.state.mailboxes
        if mb.display_name.casefold().startswith(wanted)
        or mb.alias.casefold().startswith(wanted)
        or any(a.split("@", 1)[0].casefold().startswith(wanted) for a in mb.addresses())
    ]


def _resolution(mailbox: Mailbox, full: bool) -> Element:
    contact = None
    if full:
        contact = t(
            "Contact",
            t("DisplayName", text=mailbox.display_name),
            t("EmailAddresses", t("Entry", text=f"SMTP:{mailbox.primary_smtp}", Key="EmailAddress1")),
            t("ContactSource", text="ActiveDirectory"),
        )
    return t(
        "Resolution",
        t(
            "Mailbox",
            t("Name", text=mailbox.display_name),
            t("EmailAddress", text=mailbox.primary_smtp),
            t("RoutingType", text="SMTP"),
            t("MailboxType", text="Mailbox"),
        ),
        contact,
    )


def resolve_names(call: Call) -> list[Element]:
    full = call.body.get("ReturnFullContactData", "false").lower() in ("true", "1")
    messages = []
    for entry in call.body.findall(f"{{{M_NS}}}UnresolvedEntry"):
        found = _matches(call, entry.text or "")[:MAX_CANDIDATES]
        if not found:
            messages.append(failure("ResolveNames", EwsError("ErrorNameResolutionNoResults")))
            continue
        resolution_set = m(
            "ResolutionSet",
            *(_resolution(mb, full) for mb in found),
            TotalItemsInView=str(len(found)),
            IncludesLastItemInRange="true",
        )
        if len(found) == 1:
            messages.append(success("ResolveNames", resolution_set))
        else:
            error = EwsError("ErrorNameResolutionMultipleResults", "Multiple results were found.")
            messages.append(failure("ResolveNames", error, resolution_set, response_class="Warning"))
    return messages


OPERATION = Operation("ResolveNames", resolve_names, writes=False)
