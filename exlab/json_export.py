"""A JSON export (PowerShell's ``ConvertTo-Json``) parsed whole, each way it can fail an ExlabError.

``json`` parses arrays and objects by recursion: a hostile file of a few kilobytes of ``[`` would
stop the reader with a RecursionError, not a damaged-file error naming the file.

>>> parse_json('{"Name": "Outbound to Office 365"}', "send.json", "ConvertTo-Json output")
{'Name': 'Outbound to Office 365'}
>>> parse_json("[" * 100_000, "send.json", "ConvertTo-Json output")
Traceback (most recent call last):
...
exlab.errors.CorruptInput: send.json, the document: expected ConvertTo-Json output (nested too deep to read)
"""

from __future__ import annotations

import json
from typing import Any

from exlab.errors import CorruptInput


def parse_json(text: str, name: str, expected: str, *, strict: bool = True) -> Any:
    """``text`` parsed; a syntax error names its line and column. ``strict=False`` takes control
    characters inside strings, as some exports write them."""
    try:
        return json.loads(text, strict=strict)
    except json.JSONDecodeError as err:
        raise CorruptInput(name, f"line {err.lineno} column {err.colno}", expected, err.msg) from None
    except RecursionError:
        raise CorruptInput(name, "the document", expected, "nested too deep to read") from None
