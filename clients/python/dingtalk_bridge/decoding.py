"""Decoding the bridge's answers, one event at a time.

A pull or listing answer is one JSON document, but one poison payload (say nested 3,000 deep, which
Python's json refuses with RecursionError) must fail only its own event. When the whole document
does not decode, it is split into members and events without recursion, and each is decoded alone.
"""

import json
import re
from typing import Any, Dict, List, Optional, Tuple

from .errors import BridgeDecodeError

Event = Dict[str, Any]

_STRUCTURAL = re.compile(r'["\[\]{}]')
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_SCALAR_END = re.compile(r"[\s,\]}]")
_UNDECODABLE = (ValueError, RecursionError)


def _why(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply for this client to decode"
    return str(error)[:200] or type(error).__name__


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _value_end(text: str, i: int) -> int:
    """The index just past the JSON value that starts at ``text[i]``, found by counting brackets."""
    if i >= len(text):
        raise ValueError("truncated JSON")
    if text[i] == '"':
        match = _STRING.match(text, i)
        if not match:
            raise ValueError("unterminated string")
        return match.end()
    if text[i] not in "[{":
        match = _SCALAR_END.search(text, i)
        return match.start() if match else len(text)
    depth = 0
    while True:
        match = _STRUCTURAL.search(text, i)
        if not match:
            raise ValueError("truncated JSON")
        i = match.start()
        if text[i] == '"':
            string = _STRING.match(text, i)
            if not string:
                raise ValueError("unterminated string")
            i = string.end()
            continue
        depth += 1 if text[i] in "[{" else -1
        i += 1
        if depth == 0:
            return i


def _items(text: str, i: int, keyed: bool) -> List[Tuple[Optional[str], int, int]]:
    """The (key, start, end) of each member of the object (or element of the array) at ``text[i]``."""
    opening, closing = ("{", "}") if keyed else ("[", "]")
    if text[i:i + 1] != opening:
        raise ValueError("expected %r" % opening)
    items: List[Tuple[Optional[str], int, int]] = []
    i = _skip_ws(text, i + 1)
    if text[i:i + 1] == closing:
        return items
    while True:
        key = None
        if keyed:
            end = _value_end(text, i)
            key = json.loads(text[i:end])
            if not isinstance(key, str):
                raise ValueError("object key is not a string")
            i = _skip_ws(text, end)
            if text[i:i + 1] != ":":
                raise ValueError("expected ':'")
            i = _skip_ws(text, i + 1)
        end = _value_end(text, i)
        items.append((key, i, end))
        i = _skip_ws(text, end)
        if text[i:i + 1] == closing:
            return items
        if text[i:i + 1] != ",":
            raise ValueError("expected ',' or %r" % closing)
        i = _skip_ws(text, i + 1)


def _decode_event(text: str, start: int, end: int) -> Event:
    try:
        return json.loads(text[start:end])
    except _UNDECODABLE:
        pass
    event: Event = {}
    for key, s, e in _items(text, start, keyed=True):
        try:
            event[key] = json.loads(text[s:e])  # type: ignore[index]
        except _UNDECODABLE as error:
            event[key] = None  # type: ignore[index]
            event.setdefault("decodeError", "%s: %s" % (key, _why(error)))
    return event


def _decode_by_event(text: str) -> Dict[str, Any]:
    doc: Dict[str, Any] = {}
    for key, start, end in _items(text, _skip_ws(text, 0), keyed=True):
        if key == "events":
            doc[key] = [_decode_event(text, s, e) for _, s, e in _items(text, start, keyed=False)]
        else:
            doc[key] = json.loads(text[start:end])  # type: ignore[index]
    return doc


def _decode(text: str, listing: bool) -> Dict[str, Any]:
    """The answer's JSON; for a listing, an event that cannot be decoded comes back on its own
    with ``decodeError`` set (and the undecodable member as None) instead of failing the rest."""
    try:
        return json.loads(text)
    except _UNDECODABLE as error:
        failure: BaseException = error
    if listing:
        try:
            return _decode_by_event(text)
        except _UNDECODABLE as error:
            failure = error
    raise BridgeDecodeError("the bridge's answer could not be decoded: %s" % _why(failure), None, "bad_response")


