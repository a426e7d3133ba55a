"""Dockerfile words: quote removal and variable substitution, as moby's shell lexer does.

`process_word` turns one word (quotes, escapes, `$VAR`, `${VAR}`, `${VAR:-default}`,
`${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`) into its value; `process_words` splits a
line into such words on unquoted whitespace; `split_raw_words` splits without processing,
keeping quotes (what ENV and LABEL need before they cut `key=value`). Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping

from estiba.errors import InvalidArgument

__all__ = ["process_word", "process_words", "split_raw_words"]


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.text = text
        self.env = env
        self.escape = escape
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def words(self, split: bool) -> list[str]:
        """The words of the text; one word (whitespace kept) when not `split`."""
        words: list[str] = []
        current: list[str] = []
        started = False
        while self.pos < len(self.text):
            ch = self.peek()
            if split and ch in " \t\n":
                self.pos += 1
                if started:
                    words.append("".join(current))
                    current, started = [], False
                continue
            started = True
            if ch == "'":
                self.pos += 1
                current.append(self.single_quoted())
            elif ch == '"':
                self.pos += 1
                current.append(self.double_quoted())
            elif ch == "$":
                self.pos += 1
                current.append(self.variable())
            elif ch == self.escape:
                self.pos += 1
                if self.pos >= len(self.text):
                    current.append(ch)  # a trailing escape stays as it is
                else:
                    current.append(self.next())
            else:
                self.pos += 1
                current.append(ch)
        if started:
            words.append("".join(current))
        return words

    def single_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.next()
            if ch == "":
                raise InvalidArgument("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                return "".join(out)
            out.append(ch)

    def double_quoted(self) -> str:
        out: list[str] = []
        while True:
            ch = self.next()
            if ch == "":
                raise InvalidArgument("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                return "".join(out)
            if ch == "$":
                out.append(self.variable())
            elif ch == self.escape:
                following = self.peek()
                if following in ('"', "$", self.escape):
                    out.append(self.next())
                else:
                    out.append(ch)
            else:
                out.append(ch)

    def name(self) -> str:
        start = self.pos
        if self.peek().isdigit():  # a positional parameter: one digit, always empty here
            self.pos += 1
            return self.text[start : self.pos]
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.pos += 1
        return self.text[start : self.pos]

    def variable(self) -> str:
        """After a `$`: the value of `NAME`, `{NAME}` or `{NAME<op>word}`."""
        if self.peek() == "{":
            self.pos += 1
            return self.braced()
        name = self.name()
        if not name:
            return "$"
        return self.env.get(name, "")

    def braced(self) -> str:
        name = self.name()
        if not name:
            raise InvalidArgument(f"bad substitution: {self.text}")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch not in ("-", "+", "?"):
            raise InvalidArgument(f"unsupported modifier ({ch}) in substitution: {self.text}")
        word = self.until_brace()
        present = name in self.env and (not colon or self.env[name] != "")
        if ch == "-":
            return self.env[name] if present else word
        if ch == "+":
            return word if present else ""
        if not present:  # ?
            raise InvalidArgument(f"{name}: {word or 'is not allowed to be unset'}")
        return self.env[name]

    def until_brace(self) -> str:
        """The word of `${NAME:-word}` up to its closing brace, itself processed."""
        depth = 0
        start = self.pos
        while True:
            ch = self.next()
            if ch == "":
                raise InvalidArgument(f"missing '}}' in substitution: {self.text}")
            if ch == self.escape:
                self.pos += 1
            elif ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    break
                depth -= 1
        raw = self.text[start : self.pos - 1]
        return _Lexer(raw, self.env, self.escape).words(split=False)[0] if raw else ""


def process_word(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word with its quotes removed and its variables substituted."""
    words = _Lexer(text, env, escape).words(split=False)
    return words[0] if words else ""


def process_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """The words of `text` (split on unquoted whitespace), each processed."""
    return _Lexer(text, env, escape).words(split=True)


def split_raw_words(text: str, escape: str = "\\") -> list[str]:
    """Words split on unquoted whitespace, quotes and escapes kept (moby's parseWords)."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == escape and i + 1 < len(text):
            current.append(ch + text[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            current.append(ch)
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch in " \t\n":
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
        i += 1
    if current:
        words.append("".join(current))
    return words
