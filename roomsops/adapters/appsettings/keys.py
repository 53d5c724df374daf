"""The keys of RoomsAppSettings.config that ROOMS reads for its Exchange Online sync."""

TENANT_ID = "ExchangeTenantId"
APP_ID = "ExchangeAppId"
CLIENT_SECRET = "ExchangeClientSecret"
CERT_THUMBPRINT = "ExchangeCertThumbprint"
CREDENTIAL_KEYS = (TENANT_ID, APP_ID, CLIENT_SECRET, CERT_THUMBPRINT)
