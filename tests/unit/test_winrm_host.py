"""`powershell.host` takes the management host's name or address alone (review21c #26): a port or a URL is a
configuration error named with the settings to write instead; names and IPv6 addresses pass."""

from __future__ import annotations

import dataclasses

import pytest

from roomsops.adapters.exo.session import check_host
from roomsops.core.errors import InputError
from roomsops.core.settings import PowershellSettings, Settings


def _settings(host: str) -> Settings:
    return dataclasses.replace(Settings(), powershell=PowershellSettings(host=host))


@pytest.mark.parametrize("host", ["mgmt.contoso.com", "10.0.0.5", "::1", "fe80::1"])
def test_a_host_name_or_address_passes(host: str) -> None:
    check_host(_settings(host))


@pytest.mark.parametrize(
    ("host", "advice"),
    [
        ("mgmt.contoso.com:5986", 'powershell.host = "mgmt.contoso.com" and powershell.port = 5986'),
        (
            "https://10.0.0.5:5986/wsman",
            'powershell.host = "10.0.0.5" and powershell.port = 5986 and powershell.ssl = true',
        ),
        ("http://mgmt/wsman", 'powershell.host = "mgmt" and powershell.ssl = false'),
    ],
)
def test_a_port_or_url_names_what_to_write(host: str, advice: str) -> None:
    with pytest.raises(InputError) as caught:
        check_host(_settings(host))
    assert "powershell.host" in caught.value.message
    assert advice in (caught.value.remedy or "")
