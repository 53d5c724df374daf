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
