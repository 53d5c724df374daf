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


#: Hints long enough to be recognised with one typo (`ExchangeClientSecert`, `ExchangeServicePasword`): a value
#: stored under a misspelled key is still the secret it was meant to be.
_TYPO_HINTS = tuple(hint for hint in _HINTS if len(hint) >= 6)


def is_secret_key(key: str) -> bool:
    """True when the value stored under `key` must be masked wherever it might be shown or written; a key that
    holds one of the longer hints with one typo (a letter missing, extra, wrong or swapped) counts too."""
    folded = _SEPARATORS.sub("", key.casefold())
    if any(hint in folded for hint in _HINTS) or folded.endswith(_TOKEN_AT_END):
        return True
    return any(_holds_with_one_typo(folded, hint) for hint in _TYPO_HINTS)


def _holds_with_one_typo(text: str, hint: str) -> bool:
    """Whether some part of `text` is `hint` with one edit (insertion, deletion, substitution, transposition)."""
    for size in (len(hint) - 1, len(hint), len(hint) + 1):
        for start in range(len(text) - size + 1):
            if _one_edit(text[start : start + size], hint):
                return True
    return False


def _one_edit(a: str, b: str) -> bool:
    """`a` and `b` differ by exactly one edit (optimal string alignment distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return len(diffs) == 2 and diffs[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


_SCHEME = re.compile(r"[A-Za-z][\w+.-]*://")
#: `key=value` in a URL's query or a connection string (`?password=`, `;PWD=`), also percent-encoded inside
#: another parameter (`odbc_connect=...%3BPWD%3D...`); a lookahead, so that a pair inside another's value is seen.
_PAIR = re.compile(
    r"(?i)(?:^|(?<=[?&;=])|(?<=%3B)|(?<=%26)|(?<=%3D))"
    r"(?=(?P<key>[\w .+-]+?)(?:=|%3D)(?P<value>(?:(?!%3B|%26)[^&;])*))"
)


def mask_url_secrets(text: str, mask: str = "********") -> str:
    """`text` (a database URL, a proxy, a connection string) with the password of its userinfo and the values of
    its secret parameters (`password=`, `PWD=`, also percent-encoded inside `odbc_connect=`) replaced by `mask`.

    The userinfo runs up to the last "@" (as requests and urllib3 read a proxy; SQLAlchemy takes "/" and spaces in
    a password as they are), and a proxy may be written without its scheme (`user:password@proxy:8080`): this errs
    on the side of masking."""
    scheme = _SCHEME.match(text)
    head, rest = (text[: scheme.end()], text[scheme.end() :]) if scheme else ("", text)
    at = rest.rfind("@")
    if at > 0:
        user, colon, password = rest[:at].partition(":")
        if colon and password and not (scheme and "/" in user):
            rest = f"{user}:{mask}@{rest[at + 1 :]}"
            text = head + rest
    spans: list[tuple[int, int]] = []
    for pair in _PAIR.finditer(text):
        if pair.group("value") and is_secret_key(pair.group("key").replace("+", " ")):
            spans.append(pair.span("value"))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):  # a pair inside another's value goes with it
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    for start, end in reversed(merged):
        text = text[:start] + mask + text[end:]
    return text
