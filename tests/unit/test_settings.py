"""Settings resolution: defaults < roomsops.toml < ROOMSOPS_SECTION_KEY < options."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomsops.core.errors import InputError
from roomsops.core.settings import KEYS, WINDOWS_APP_SETTINGS, Settings, app_settings_path, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roomsops.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.source is None
    assert settings.cloud.authority_host == "https://login.microsoftonline.com"
    assert settings.cloud.ews_url == "https://outlook.office365.com/EWS/Exchange.asmx"
    assert settings.cloud.ews_resource == "https://outlook.office365.com"
    assert (settings.cloud.graph_url, settings.cloud.graph_resource) == ("https://graph.microsoft.com",) * 2
    assert settings.graph.per_mailbox_concurrency == 2
    assert settings.sync.send_invitations == "all"


def test_graph_url_may_point_elsewhere_but_tokens_stay_for_the_clouds_graph(tmp_path: Path) -> None:
    """The lab (or a proxy) answers for Graph at its own address; the token is still for Graph's resource."""
    text = '[cloud]\nname = "lab"\nauthority_host = "https://127.0.0.1:9"\news_url = "https://127.0.0.1:9/EWS/x"\n'
    settings = load_settings(str(write(tmp_path, text + 'graph_url = "https://127.0.0.1:9/"\n')), environ={})
    assert (settings.cloud.graph_url, settings.cloud.graph_resource) == (
        "https://127.0.0.1:9",
        "https://graph.microsoft.com",
    )
    gcc = load_settings(str(write(tmp_path, '[cloud]\nname = "gcc-high"\n')), environ={})
    assert gcc.cloud.graph_url == gcc.cloud.graph_resource == "https://graph.microsoft.us"


def test_priority_file_then_environment_then_options(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[sync]\nconcurrency = 2\nwindow_days_past = 3\n[network]\nproxy = "http://p:8080"\n'
    )
    env = {"ROOMSOPS_SYNC_CONCURRENCY": "5"}
    settings = load_settings(str(path), environ=env, overrides={"sync.window_days_past": 9})
    assert settings.sync.concurrency == 5  # environment beats the file
    assert settings.sync.window_days_past == 9  # options beat everything
    assert settings.network.proxy == "http://p:8080"


def test_settings_env_var_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[cloud]\nname = "gcc-high"\n')
    settings = load_settings(None, environ={"ROOMSOPS_SETTINGS": str(path)})
    assert settings.cloud.authority_host == "https://login.microsoftonline.us"
    assert settings.cloud.exchange_environment == "O365USGovGCCHigh"


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[auth]\ncertificate_file = "certs/app.pem"\n')
    settings = load_settings(str(path), environ={})
    assert settings.resolve_path(settings.auth.certificate_file) == tmp_path / "certs" / "app.pem"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[sync\n", {}, "is not valid TOML"),
        ("[sync]\nconcurrency = 'many'\n", {}, "sync.concurrency in"),
        ("[sync]\nbogus = 1\n", {}, "unknown setting sync.bogus"),
        ("[bogus]\nx = 1\n", {}, "unknown section [bogus]"),
        ("[cloud]\nname = 'mars'\n", {}, "must be one of global, gcc-high, dod, china, lab, got 'mars'"),
        ("[cloud]\nname = 'lab'\n", {}, "cloud.authority_host is not set"),
        ("[cloud]\news_url = 'http://x/EWS/Exchange.asmx'\n", {}, "must be an https:// URL"),
        ("[cloud]\ngraph_url = 'http://graph.example'\n", {}, "cloud.graph_url must be an https:// URL"),
        ("", {"ROOMSOPS_POWERSHELL_SSL": "maybe"}, "$ROOMSOPS_POWERSHELL_SSL"),
    ],
)
def test_invalid_settings_are_input_errors(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_settings(str(path), environ=env)
    assert message in info.value.message


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_settings(str(tmp_path / "nope.toml"), environ={})


def test_app_settings_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, '[rooms]\napp_settings = "conf/RoomsAppSettings.config"\n')
    settings = load_settings(str(path), environ={})
    assert app_settings_path("x.config", settings, {}) == Path("x.config")
    assert app_settings_path(None, settings, {"ROOMSOPS_APP_SETTINGS": "y.config"}) == Path("y.config")
    assert app_settings_path(None, settings, {}) == tmp_path / "conf" / "RoomsAppSettings.config"
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    bare = load_settings(None, environ={})
    assert app_settings_path(None, bare, {}, platform="win32") == Path(WINDOWS_APP_SETTINGS)
    assert app_settings_path(None, bare, {}, platform="linux") == Path("RoomsAppSettings.config")


def test_numbers_and_choices_as_people_write_them(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[log]\nlevel = "debug"\n[network]\ntimeout_seconds = 45\n[powershell]\nport = 0\n'
    )
    env = {
        "ROOMSOPS_SYNC_CONCURRENCY": " +8 ",
        "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "0",
        "ROOMSOPS_POWERSHELL_SSL": "Off",
        "ROOMSOPS_SYNC_SEND_INVITATIONS": "none",
    }
    settings = load_settings(str(path), environ=env, overrides={"network.timeout_seconds": "1.5e1"})
    assert settings.log.level == "DEBUG"  # a log level in any case, stored as Python spells it
    assert settings.network.timeout_seconds == 15.0
    assert settings.powershell.port == 0  # 0: the default port of the scheme
    assert (settings.sync.concurrency, settings.sync.window_days_future) == (8, 0)
    assert settings.powershell.ssl is False
    assert settings.sync.send_invitations == "none"


def test_the_defaults_follow_their_own_rules() -> None:
    defaults = Settings()
    for label, key in KEYS.items():
        section, name = label.split(".")
        value = getattr(getattr(defaults, section), name)
        assert key.value(value, "the defaults") == value, label


def test_an_option_value_names_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_settings(str(write(tmp_path, "")), environ={}, overrides={"sync.window_days_past": -1})
    assert info.value.one_line() == (
        "sync.window_days_past in the command line must be a whole number from 0 to 3650, got -1 — correct "
        "sync.window_days_past in the command line"
    )


def test_a_bad_value_in_the_file_is_refused_even_when_the_environment_overrides_it(tmp_path: Path) -> None:
    path = write(tmp_path, "[network]\ntimeout_seconds = nan\n")
    with pytest.raises(
        InputError, match=r"network.timeout_seconds in .*roomsops.toml must be a number from 1 to "
    ):
        load_settings(str(path), environ={"ROOMSOPS_NETWORK_TIMEOUT_SECONDS": "30"})


URL_SETTINGS = {"cloud.authority_host", "cloud.ews_url", "cloud.graph_url", "serve.public_url"}


@pytest.mark.parametrize("label", sorted(URL_SETTINGS))
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("https://[2001:db8::5/x", "unbalanced [ or ]"),
        ("https://2001:db8::5]/x", "unbalanced [ or ]"),
        ("https://[rooms.example.com]/x", "unbalanced [ or ]"),
        ("https://rooms.example.com:44x/x", "port that is not a number"),
        ("https://rooms.example.com:99999/x", "port that is not a number"),
    ],
)
def test_a_url_setting_that_urlsplit_cannot_read_is_refused_when_settings_load(
    label: str, value: str, problem: str
) -> None:
    """review21ab: an unbalanced [ in cloud.ews_url crashed the first request (unexpected ValueError, exit 1); in
    cloud.authority_host it was 'could not connect' (exit 3). Every URL setting is read once, when settings load."""
    variable = "ROOMSOPS_" + label.upper().replace(".", "_")
    with pytest.raises(InputError) as caught:
        load_settings(environ={variable: value})
    assert str(caught.value).startswith(f"{label} in ${variable} ") and problem in str(caught.value)


def test_the_url_settings_are_the_ones_checked_and_their_password_is_never_shown() -> None:
    assert {label for label, key in KEYS.items() if key.url} == URL_SETTINGS
    with pytest.raises(InputError) as caught:
        load_settings(environ={"ROOMSOPS_CLOUD_EWS_URL": "https://user:s3cr3t-pw@[::1/EWS"})
    assert "s3cr3t-pw" not in str(caught.value) + (caught.value.remedy or "") and "user:" in str(caught.value)
    settings = load_settings(
        environ={"ROOMSOPS_CLOUD_EWS_URL": "https://[2001:db8::5]:443/EWS/Exchange.asmx"}
    )
    assert settings.cloud.ews_resource == "https://[2001:db8::5]:443"
