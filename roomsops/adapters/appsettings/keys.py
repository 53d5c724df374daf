"""The keys of RoomsAppSettings.config that ROOMS reads for its Exchange Online sync."""

TENANT_ID = "ExchangeTenantId"
APP_ID = "ExchangeAppId"
CLIENT_SECRET = "ExchangeClientSecret"
CERT_THUMBPRINT = "ExchangeCertThumbprint"
CREDENTIAL_KEYS = (TENANT_ID, APP_ID, CLIENT_SECRET, CERT_THUMBPRINT)

#: Every key ROOMS documents for RoomsAppSettings.config (the Exchange Online sync, delegated EWS, push
#: notifications, pull tuning); .NET reads appSettings keys case-insensitively, so a case variant is the same key.
KNOWN_KEYS = (
    *CREDENTIAL_KEYS,
    "ExchangeUseImpersonation",
    "ExchangeServiceUser",
    "ExchangeServicePassword",
    "ExchangeSyncResolveDistributionGroups",
    "ExchangePushNotificationEndpointUrl",
    "ExchangePushNotificationUseLegacyEndpoint",
    "BatchGetEventsSize",
    "IntervallSubscribeInMinutes",
    "FailedGetEventsTillDeactivate",
    "OAuthTokenMinutesBeforeRenew",
)


def known_key(key: str) -> str | None:
    """The documented spelling of `key` (compared case-insensitively, as .NET does), or None."""
    return next((k for k in KNOWN_KEYS if k.casefold() == key.casefold()), None)


#: Keys ROOMS reads as a boolean (`ExchangeUseImpersonation=false`, rooms-product.md; the other two by their
#: names — unverified) and as whole numbers (the pull tuning, rooms-product.md: `BatchGetEventsSize`=100, ...).
#: Another value breaks the ROOMS service's start (.NET's bool.Parse / int.Parse).
BOOLEAN_KEYS = (
    "ExchangeUseImpersonation",
    "ExchangeSyncResolveDistributionGroups",
    "ExchangePushNotificationUseLegacyEndpoint",
)
WHOLE_NUMBER_KEYS = (
    "BatchGetEventsSize",
    "IntervallSubscribeInMinutes",
    "FailedGetEventsTillDeactivate",
    "OAuthTokenMinutesBeforeRenew",
)
_INT32_MAX = 2**31 - 1


def value_problem(key: str, value: str) -> str | None:
    """Why ROOMS cannot read `value` for the documented `key` (its expected form), or None."""
    text = value.strip()
    if key in BOOLEAN_KEYS and text.casefold() not in ("true", "false"):
        return f"{key} is a boolean: true or false (not {value!r})"
    if key in WHOLE_NUMBER_KEYS and not (text.isascii() and text.isdigit() and int(text) <= _INT32_MAX):
        return f"{key} is a whole number such as 100 (not {value!r})"
    return None
