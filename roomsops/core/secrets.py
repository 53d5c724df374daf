"""The one rule for which keys hold secrets: `config show`, the audit log, the log and error lines use it.

Keys come from RoomsAppSettings.config (`SmtpPwd`, `DatabaseConnectionString`, `MapsApiKey`), cmdlet
parameters and roomsops' own records (`client_secret`, `access_token`), so the rule ignores case and the
separators `_ - . ` and looks for parts of words, not whole keys.
"""

from __future__ import annotations

import re

# A connection string carries a password; an API key is a password by another name.
_HINTS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "apikey",
    "connectionstring",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "assertion",
    "privatekey",
    "credential",
    "sastoken",
    # Keys by other names: certificate and SSH passphrases; storage, Service Bus and cloud access keys
    # (AccountKey, SharedAccessKey, SecretAccessKey); keys that sign or encrypt.
    "passphrase",
    "accesskey",
    "accountkey",
    "signingkey",
    "encryptionkey",
)
# Not every "token": ROOMS has tuning keys such as OAuthTokenMinutesBeforeRenew that are no secrets,
# but a key that ends in token (`token`, `BearerToken`) names one.
_TOKEN_AT_END = ("token", "tokens")
_SEPARATORS = re.compile(r"[\s_.\-]+")


def is_secret_key(key: str) -> bool:
    """True when the value stored under `key` must be masked wherever it might be shown or written."""
    folded = _SEPARATORS.sub("", key.casefold())
    return any(hint in folded for hint in _HINTS) or folded.endswith(_TOKEN_AT_END)
