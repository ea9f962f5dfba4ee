"""``text.visible``: untrusted text shown, never obeyed by a terminal."""

from __future__ import annotations

import unicodedata

import pytest

from decnet_audit.text import visible


@pytest.mark.parametrize("raw, shown", [
    ("web-01", "web-01"),
    ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),   # ANSI colour
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),         # terminal title (OSC)
    ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),
    ("nul\x00del\x7f", "nul\\x00del\\x7f"),
    ("\x9b31m", "\\x9b31m"),                           # C1 CSI: one byte, same effect
    ("\u202egnp.exe", "\\u202egnp.exe"),               # right-to-left override
    ("\u2066x\u2069", "\\u2066x\\u2069"),
    ("bad\udcffbyte", "bad\\xffbyte"),                 # undecodable byte (surrogateescape)
    ("lone\ud800", "lone\\ud800"),
    ("\ufffe", "\\ufffe"),
    ("<script>alert('x')</script>", "<script>alert('x')</script>"),  # HTML is not its job
    ("héllo 日本 ✓", "héllo 日本 ✓"),                   # printable Unicode untouched
])
def test_visible(raw, shown):
    assert visible(raw) == shown


def test_keep_newlines_keeps_only_newline_and_tab():
    assert visible("a\nb\tc\rd\x1b", keep_newlines=True) == "a\nb\tc\\x0dd\\x1b"


def test_none_and_non_strings():
    assert visible(None) == ""
    assert visible(42) == "42"
    assert visible(["\x1b"]) == "['\\x1b']"


def test_output_is_always_printable():
    every = "".join(chr(i) for i in range(0x300)) + "\u202a\u202e\u2066\u2069\udc80"
    out = visible(every)
    # No control character, no surrogate, no bidi override survives.
    assert [ch for ch in out if unicodedata.category(ch) in ("Cc", "Cs")] == []
    assert not set(out) & set("\u202a\u202e\u2066\u2069")
    assert out.encode("utf-8")


def test_line_separators_and_byte_order_mark_are_escaped():
    # Each breaks a console line where no newline shows, or hides in a name.
    assert visible("a\u2028b\u2029c\ufeffd") == "a\\u2028b\\u2029c\\ufeffd"
    assert visible("a\u2028b", keep_newlines=True) == "a\\u2028b"
