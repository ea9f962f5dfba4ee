"""Making untrusted text (decky names, messages) safe to show."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, lone surrogates (bytes that were not UTF-8, kept
# by surrogateescape) and the noncharacters U+FFFE/U+FFFF. Each would corrupt
# a terminal or an XML file. Bidirectional overrides and isolates (U+202A-E,
# U+2066-9) would let a name display as another one ("Trojan Source").
_BIDI = r"\u202a-\u202e\u2066-\u2069"
# Line and paragraph separators break a line where no newline is seen (and
# end a JavaScript string); a byte-order mark is invisible.
_INVISIBLE = r"\u2028\u2029\ufeff"
_UNSAFE = re.compile(
    rf"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff{_BIDI}{_INVISIBLE}]")
_UNSAFE_WITH_NL = re.compile(
    rf"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff{_BIDI}{_INVISIBLE}]")


def _escape(m: re.Match) -> str:
    ch = ord(m.group())
    if 0xDC80 <= ch <= 0xDCFF:  # an undecodable byte, as surrogateescape keeps it
        return f"\\x{ch - 0xDC00:02x}"
    return f"\\x{ch:02x}" if ch <= 0xFF else f"\\u{ch:04x}"


def visible(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character and undecodable byte shown as a
    visible escape (``\\x1b``, ``\\xff``) instead of being dropped or obeyed."""
    s = "" if text is None else str(text)
    return (_UNSAFE if keep_newlines else _UNSAFE_WITH_NL).sub(_escape, s)
