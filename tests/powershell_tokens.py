"""A PowerShell tokenizer for test oracles: what PowerShell itself sees in a rendered runbook.

tree-sitter-powershell reads only the ASCII quote characters as quotes, so it cannot catch a quoting
bug with typographic quotes. PowerShell's lexer (PowerShell Language Specification 3.0, appendix B.1
"Lexical grammar", https://learn.microsoft.com/powershell/scripting/lang-spec/chapter-15; the engine's
`SpecialChars` in src/System.Management.Automation/engine/parser/CharTraits.cs) treats:

- single-quote-character: ' U+2018 U+2019 U+201A U+201B. A verbatim string opens with any of them and
  ends at the next one that is not followed by another; two in a row stand for one (the second is kept).
- double-quote-character: " U+201C U+201D U+201E. An expandable string: backtick escapes the next
  character, two quotes in a row stand for one, `$(...)` nests a subexpression (with its own strings).
- dash: - U+2013 U+2014 U+2015 (so `–Force` is the parameter -Force).
- here-strings: @' or @" (any quote character of the kind) at the end of a line, closed by the quote and @
  at the start of a line.
- comments: # to the end of the line; <# ... #> delimited.

It covers what the runbooks use, not the whole language: tokens are strings (verbatim, expandable, here),
variables, parameters (a dash and a letter), comments, newlines, punctuation and bare words.

`expressions` also evaluates the one expression form roomsops' `psquote` writes for characters outside
printable ASCII: a parenthesized concatenation of verbatim strings and `[char]0xHHHH` casts, starting with a
string (`('Ren' + [char]0x00E9 + '@x')`), read as one verbatim value (UTF-16 surrogate pairs joined).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
DOUBLE_QUOTES = '"\u201c\u201d\u201e'
DASHES = "-\u2013\u2014\u2015"
_PUNCTUATION = "(){}[];,|&=+*/%!<>.:@"
_NEWLINES = "\r\n"


class TokenizeError(ValueError):
    """The text does not tokenize (e.g. a string is never closed): PowerShell would not parse it."""


@dataclass(frozen=True)
class Token:
    kind: str  # verbatim | expandable | here_verbatim | here_expandable | variable | parameter | comment
    #            newline | punctuation | word
    text: str  # the source text of the token
    value: str  # strings: what PowerShell reads (verbatim: exact; expandable: escapes resolved, $ left in)
    start: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        token, i = _next(source, i)
        if token is not None:
            tokens.append(token)
    return tokens


def string_literals(source: str) -> list[str]:
    """The values of the verbatim (single-quoted) strings, in order; a `psquote` concatenation is one value."""
    return [t.value for t in expressions(source) if t.kind in ("verbatim", "here_verbatim")]


_CHAR_CODE = re.compile(r"0x[0-9A-Fa-f]{1,4}")


def expressions(source: str) -> list[Token]:
    """The tokens, with each `('a' + [char]0xHHHH + 'b')` concatenation replaced by one verbatim token whose
    value is what PowerShell computes. Anything else in parentheses is left as tokens."""
    tokens = tokenize(source)
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        found = _concatenation(tokens, i)
        if found is None:
            out.append(tokens[i])
            i += 1
            continue
        value, end = found
        start = tokens[i].start
        stop = tokens[end - 1].start + len(tokens[end - 1].text)
        out.append(Token("verbatim", source[start:stop], value, start))
        i = end
    return out


def _operand(tokens: list[Token], i: int) -> tuple[list[int], int] | None:
    """A verbatim string (its UTF-16 code units) or `[char]0xHHHH` at `i`: (units, index after)."""
    if i < len(tokens) and tokens[i].kind == "verbatim":
        data = tokens[i].value.encode("utf-16-be", "surrogatepass")
        return [int.from_bytes(data[k : k + 2], "big") for k in range(0, len(data), 2)], i + 1
    shape = [(t.kind, t.text.casefold()) for t in tokens[i : i + 3]]
    if shape == [("punctuation", "["), ("word", "char"), ("punctuation", "]")] and i + 3 < len(tokens):
        code = tokens[i + 3]
        if code.kind == "word" and _CHAR_CODE.fullmatch(code.text):
            return [int(code.text, 16)], i + 4
    return None


def _concatenation(tokens: list[Token], i: int) -> tuple[str, int] | None:
    if tokens[i].text != "(" or i + 1 >= len(tokens) or tokens[i + 1].kind != "verbatim":
        return None  # PowerShell's + concatenates only when the left operand is a string
    units: list[int] = []
    j = i + 1
    while True:
        operand = _operand(tokens, j)
        if operand is None:
            return None
        units += operand[0]
        j = operand[1]
        if j < len(tokens) and tokens[j].text == "+":
            j += 1
            continue
        if j < len(tokens) and tokens[j].text == ")":
            data = b"".join(unit.to_bytes(2, "big") for unit in units)
            return data.decode("utf-16-be", "surrogatepass"), j + 1
        return None


def _next(s: str, i: int) -> tuple[Token | None, int]:
    c = s[i]
    if c in _NEWLINES:
        end = i + 2 if s.startswith("\r\n", i) else i + 1
        return Token("newline", s[i:end], "", i), end
    if c == "`" and i + 1 < len(s) and s[i + 1] in _NEWLINES:  # line continuation
        return None, i + (3 if s.startswith("\r\n", i + 1) else 2)
    if c.isspace():
        return None, i + 1
    if c == "#":
        end = _line_end(s, i)
        return Token("comment", s[i:end], "", i), end
    if s.startswith("<#", i):
        end = s.find("#>", i + 2)
        if end == -1:
            raise TokenizeError(f"a <# comment opened at {i} is never closed")
        return Token("comment", s[i : end + 2], "", i), end + 2
    if c == "@" and i + 1 < len(s) and s[i + 1] in SINGLE_QUOTES + DOUBLE_QUOTES and _at_line_end(s, i + 2):
        return _here_string(s, i)
    if c in SINGLE_QUOTES:
        return _verbatim(s, i)
    if c in DOUBLE_QUOTES:
        return _expandable(s, i)
    if c == "$":
        return _variable(s, i)
    if c in DASHES and i + 1 < len(s) and (s[i + 1].isalpha() or s[i + 1] == "_"):
        end = _word_end(s, i + 1)
        return Token("parameter", s[i:end], "-" + s[i + 1 : end], i), end
    if c in _PUNCTUATION:
        return Token("punctuation", c, c, i), i + 1
    end = _word_end(s, i)
    return Token("word", s[i:end], s[i:end], i), end


def _line_end(s: str, i: int) -> int:
    ends = [p for p in (s.find("\r", i), s.find("\n", i)) if p != -1]
    return min(ends) if ends else len(s)


def _at_line_end(s: str, i: int) -> bool:
    rest = s[i : _line_end(s, i)]
    return not rest.strip(" \t")


def _word_end(s: str, i: int) -> int:
    end = i
    while end < len(s):
        c = s[end]
        if c.isspace() or c in _PUNCTUATION or c in SINGLE_QUOTES or c in DOUBLE_QUOTES or c in "$#`":
            break
        end += 1
    return max(end, i + 1)


def _verbatim(s: str, i: int) -> tuple[Token, int]:
    value: list[str] = []
    j = i + 1
    while j < len(s):
        c = s[j]
        if c in SINGLE_QUOTES:
            if j + 1 < len(s) and s[j + 1] in SINGLE_QUOTES:
                value.append(s[j + 1])
                j += 2
                continue
            return Token("verbatim", s[i : j + 1], "".join(value), i), j + 1
        value.append(c)
        j += 1
    raise TokenizeError(f"the single-quoted string opened at {i} is never closed")


def _expandable(s: str, i: int) -> tuple[Token, int]:
    value: list[str] = []
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == "`" and j + 1 < len(s):
            value.append(s[j + 1])
            j += 2
        elif c in DOUBLE_QUOTES:
            if j + 1 < len(s) and s[j + 1] in DOUBLE_QUOTES:
                value.append(s[j + 1])
                j += 2
                continue
            return Token("expandable", s[i : j + 1], "".join(value), i), j + 1
        elif s.startswith("$(", j):
            end = _subexpression_end(s, j + 1)
            value.append(s[j:end])
            j = end
        else:
            value.append(c)
            j += 1
    raise TokenizeError(f"the double-quoted string opened at {i} is never closed")


def _subexpression_end(s: str, i: int) -> int:
    """`s[i]` is "("; the index just past its matching ")", strings inside skipped as tokens."""
    depth = 0
    j = i
    while j < len(s):
        token, after = _next(s, j)
        if token is not None and token.kind == "punctuation":
            depth += {"(": 1, ")": -1}.get(token.text, 0)
            if depth == 0:
                return after
        j = after
    raise TokenizeError(f"the subexpression opened at {i} is never closed")


def _variable(s: str, i: int) -> tuple[Token, int]:
    if s.startswith("${", i):
        end = s.find("}", i)
        if end == -1:
            raise TokenizeError(f"the variable opened at {i} is never closed")
        return Token("variable", s[i : end + 1], s[i + 2 : end], i), end + 1
    if s.startswith("$(", i):
        return Token("punctuation", "$", "$", i), i + 1  # $( ... ): the parenthesis follows as a token
    j = i + 1
    while j < len(s) and (s[j].isalnum() or s[j] in "_:?^$"):
        j += 1
    return Token("variable", s[i:j], s[i + 1 : j], i), j


def _here_string(s: str, i: int) -> tuple[Token, int]:
    opener = s[i + 1]
    closers = SINGLE_QUOTES if opener in SINGLE_QUOTES else DOUBLE_QUOTES
    body_start = _line_end(s, i)
    body_start += 2 if s.startswith("\r\n", body_start) else 1
    j = body_start
    while j < len(s):
        line_end = _line_end(s, j)
        if j + 1 < len(s) and s[j] in closers and s[j + 1] == "@":
            body_end = j - (2 if s[j - 2 : j] == "\r\n" else 1)
            kind = "here_verbatim" if closers is SINGLE_QUOTES else "here_expandable"
            return Token(kind, s[i : j + 2], s[body_start : max(body_end, body_start)], i), j + 2
        j = line_end + (2 if s.startswith("\r\n", line_end) else 1)
    raise TokenizeError(f"the here-string opened at {i} is never closed")


def as_windows_powershell_reads(text: str, code_page: str = "cp1252") -> str:
    """`text` as Windows PowerShell 5.1 reads a UTF-8 file without a byte-order mark: in the ANSI code page.

    The five bytes cp1252 leaves undefined become the control characters of the same value, as Windows'
    MultiByteToWideChar does."""
    data = text.encode("utf-8")
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8")
    return data.decode(code_page, errors="windows_passthrough")


def _passthrough(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("windows_passthrough", _passthrough)
