"""review21ad: a URL's scheme is case-insensitive (RFC 3986 §3.1: "schemes are case-insensitive"; urllib, requests
and MSAL read `HTTPS://` as https). cloud.ews_url, cloud.authority_host and cloud.graph_url written with an
upper-case scheme are refused when settings load: "cloud.ews_url must be an https:// URL, got
'HTTPS://OUTLOOK.OFFICE365.COM/EWS/Exchange.asmx'", exit 2 — an error that contradicts itself (the value is an
https URL) and stops every command of an administrator whose URL is right. fix21ac's URL checks (the attack list:
"URL validation false positives") should accept any case of the scheme, as they accept any case of the host."""

from __future__ import annotations

import pytest

from roomsops.core.settings import load_settings


@pytest.mark.parametrize(
    "variable,value",
    [
        ("ROOMSOPS_CLOUD_EWS_URL", "HTTPS://outlook.office365.com/EWS/Exchange.asmx"),
        ("ROOMSOPS_CLOUD_AUTHORITY_HOST", "Https://login.microsoftonline.com"),
    ],
    ids=["ews_url", "authority_host"],
)
def test_an_upper_case_https_scheme_is_an_https_url(variable: str, value: str) -> None:
    settings = load_settings(None, environ={variable: value})
    given = settings.cloud.ews_url if "EWS" in variable else settings.cloud.authority_host
    assert given.startswith("https://"), given  # normalised: EWS and MSAL see one spelling
    assert given.casefold().rstrip("/") == value.casefold().rstrip("/")
