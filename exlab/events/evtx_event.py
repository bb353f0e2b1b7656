"""One rendered .evtx event (the JSON shape pyevtx-rs writes) into an events-frame row.

Both engines meet here: pyevtx-rs hands over JSON, python-evtx's rendering (an
element tree) is first brought into the same shape (:func:`element_to_event`), so
the two engines build rows with one function and agree value for value.

The shape: an element with attributes is ``{"#attributes": {...}, "#text": value}``,
repeated child names get ``_1``, ``_2``... suffixes, unnamed ``<Data>`` values are
gathered as ``{"#text": [...]}``, named ones are keyed by their Name.

>>> event = {"System": {"Provider": {"#attributes": {"Name": "MSExchangeTransport"}},
...     "EventID": {"#attributes": {"Qualifiers": 16388}, "#text": 2004}, "Level": 4, "Task": 2,
...     "Keywords": "0x80000000000000", "EventRecordID": 7, "Channel": "Application",
...     "Computer": "EX01"},
...     "EventData": {"Data": {"#text": ["Outbound to Office 365", "", "454 4.7.0 ..."]}}}
>>> row = dict(zip(FIELDS, event_fields(event)))
>>> row["event_id"], row["qualifiers"], row["keywords"], row["data"]
(2004, 16388, '0x80000000000000', {'%1': 'Outbound to Office 365', '%2': '', '%3': '454 4.7.0 ...'})
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

_TEXT = "#text"
_ATTRIBUTES = "#attributes"


# The fields :func:`event_fields` returns, in its order (names of events-frame columns).
FIELDS = ("computer", "channel", "provider", "event_id", "qualifiers", "level", "task", "keywords",
          "record_id", "data")


def event_fields(event: dict) -> tuple:
    """:data:`FIELDS` of one event, as a tuple (the per-record hot path of both engines).

    Keywords are written without leading zeros, as Windows shows them:

    >>> event_fields({"System": {"EventID": "7036", "Keywords": "0x0080000000000000"}})[3::4]
    (7036, '0x80000000000000')
    """
    system = event.get("System") or {}
    event_id = system.get("EventID")
    qualifiers = None
    if type(event_id) is dict:
        qualifiers = _int((event_id.get(_ATTRIBUTES) or {}).get("Qualifiers"))
        event_id = event_id.get(_TEXT)
    if type(event_id) is not int:
        event_id = _int(event_id)
    provider = system.get("Provider")
    provider = (provider.get(_ATTRIBUTES) or {}).get("Name") if type(provider) is dict else None
    level, task, record_id = system.get("Level"), system.get("Task"), system.get("EventRecordID")
    keywords = system.get("Keywords")
    if type(keywords) is not str or keywords[2:3] == "0" and keywords != "0x0":
        keywords = _int(keywords)
        keywords = f"{keywords:#x}" if keywords is not None else None
    computer, channel = system.get("Computer"), system.get("Channel")
    return (
        computer if type(computer) is str or computer is None else _text(computer),
        channel if type(channel) is str or channel is None else _text(channel),
        provider or None,
        event_id & 0xFFFF if event_id is not None else None,
        qualifiers,
        level if type(level) is int else _int(level),
        task if type(task) is int else _int(task),
        keywords,
        record_id if type(record_id) is int else _int(record_id),
        event_data(event),
    )


def system_time(event: dict) -> str | None:
    """``System/TimeCreated/@SystemTime`` as rendered, or None.

    >>> system_time({"System": {"TimeCreated": {"#attributes": {"SystemTime": "2021-11-19T16:52:33Z"}}}})
    '2021-11-19T16:52:33Z'
    """
    created = (event.get("System") or {}).get("TimeCreated")
    if not isinstance(created, dict):
        return None
    value = (created.get(_ATTRIBUTES) or {}).get("SystemTime")
    return value if isinstance(value, str) else None


def event_data(event: dict) -> dict[str, str]:
    """EventData (or UserData) as one flat ``dict[str, str]``.

    >>> event_data({"EventData": {"SubjectUserName": "SYSTEM", "LogonType": 5, "Binary": None}})
    {'SubjectUserName': 'SYSTEM', 'LogonType': '5'}
    >>> event_data({"UserData": {"RmRestartEvent": {"RmSessionId": 0,
    ...     "Applications": {"Application": "EMET_Agent", "Application_1": "EMET Service"}}}})
    {'RmSessionId': '0', 'Application': 'EMET_Agent', 'Application_1': 'EMET Service'}
    """
    data: dict[str, str] = {}
    event_data_node = event.get("EventData")
    if type(event_data_node) is dict and "Data" not in event_data_node and "Binary" not in event_data_node \
            and _ATTRIBUTES not in event_data_node and "UserData" not in event:
        # named values only (most manifest-based events): one pass, no nesting
        for key, value in event_data_node.items():
            if type(value) is str:
                data[key] = value
            elif type(value) is dict:
                data.clear()      # nested values: take the general path below
                break
            else:
                data[key] = _text(value) or ""
        else:
            return data
    if isinstance(event_data_node, dict):
        for key, value in event_data_node.items():
            if key == "Data":
                _unnamed(value, data)
            elif key == "Binary":
                if value not in (None, ""):
                    data["Binary"] = _text(value) or ""
            elif key == _ATTRIBUTES:
                _attributes("EventData", value, data)
            elif isinstance(value, dict):
                _flatten(key, value, data)
            else:
                _add(data, key, _text(value) or "")
    elif event_data_node not in (None, ""):
        _add(data, "%1", _text(event_data_node) or "")
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        for key, value in user_data.items():
            if isinstance(value, dict):
                _flatten_children(value, data)
            else:
                _add(data, key, _text(value) or "")
    return data


def _unnamed(value: Any, data: dict[str, str]) -> None:
    if isinstance(value, dict) and _TEXT in value:
        value = value[_TEXT]
    elif isinstance(value, dict):
        _flatten("Data", value, data)
        return
    values = value if isinstance(value, list) else [value]
    start = sum(1 for key in data if key.startswith("%")) + 1
    for number, item in enumerate(values, start):
        data[f"%{number}"] = _text(item) or ""


def _flatten(name: str, node: dict, data: dict[str, str]) -> None:
    for key, value in node.items():
        if key == _TEXT:
            _add(data, name, _text(value) or "")
        elif key == _ATTRIBUTES:
            _attributes(name, value, data)
        elif isinstance(value, dict):
            _flatten(key, value, data)
        else:
            _add(data, key, _text(value) or "")


def _flatten_children(node: dict, data: dict[str, str]) -> None:
    """The children of UserData's root element (its own xmlns attributes are not data)."""
    for key, value in node.items():
        if key == _ATTRIBUTES:
            _attributes(None, value, data)
        elif key == _TEXT:
            continue
        elif isinstance(value, dict):
            _flatten(key, value, data)
        else:
            _add(data, key, _text(value) or "")


def _attributes(element: str | None, attributes: Any, data: dict[str, str]) -> None:
    if not isinstance(attributes, dict):
        return
    for key, value in attributes.items():
        if key == "xmlns" or key.startswith("xmlns:"):
            continue
        _add(data, f"{element}@{key}" if element else f"@{key}", _text(value) or "")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _text(value.get(_TEXT))
    if isinstance(value, list):
        return "".join(_text(item) or "" for item in value)
    return str(value)


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None


# --- python-evtx's XML into the same shape ---------------------------------------------------



def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def element_to_event(root: Element) -> dict:
    """An ``<Event>`` element (python-evtx's rendering, parsed) in pyevtx-rs's JSON shape.

    >>> from xml.etree.ElementTree import fromstring
    >>> xml = ('<Event><System><EventID Qualifiers="16388">2004</EventID></System>'
    ...        '<EventData><Data>a</Data><Data></Data></EventData></Event>')
    >>> element_to_event(fromstring(xml))
    {'System': {'EventID': {'#attributes': {'Qualifiers': '16388'}, '#text': '2004'}}, 'EventData': {'Data': {'#text': ['a', '']}}}
    """
    event: dict[str, Any] = {}
    for child in root:
        name = _local(child.tag)
        if name == "EventData":
            event[name] = _event_data_node(child)
        else:
            _add(event, name, _node(child))
    return event


def _node(element: Element) -> Any:
    attributes = {_local(k): v for k, v in element.attrib.items()}
    children = list(element)
    if children:
        node: dict[str, Any] = {}
        if attributes:
            node[_ATTRIBUTES] = attributes
        for child in children:
            _add(node, _local(child.tag), _node(child))
        return node
    text = element.text if element.text else None
    if attributes:
        node = {_ATTRIBUTES: attributes}
        if text is not None:
            node[_TEXT] = text
        return node
    return text


def _event_data_node(element: Element) -> Any:
    children = list(element)
    if not children:
        return element.text or None
    node: dict[str, Any] = {}
    attributes = {_local(k): v for k, v in element.attrib.items()}
    if attributes:
        node[_ATTRIBUTES] = attributes
    unnamed: list[str] = []
    for child in children:
        name = _local(child.tag)
        if name == "Data" and "Name" in child.attrib:
            _add(node, child.attrib["Name"], child.text or "")
        elif name == "Data" and not list(child):
            unnamed.append(child.text or "")
            node.setdefault("Data", None)
        else:
            _add(node, name, _node(child))
    if unnamed:
        node["Data"] = {_TEXT: unnamed if len(unnamed) > 1 else unnamed[0]}
    return node


def unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object whose repeated keys get ``_1``, ``_2``... suffixes (pyevtx-rs writes
    repeated ``<Data Name=..>`` as repeated keys; a plain decode keeps only the last).

    >>> import json
    >>> json.loads('{"LogonGuid": "a", "LogonGuid": "b"}', object_pairs_hook=unique_keys)
    {'LogonGuid': 'a', 'LogonGuid_1': 'b'}
    """
    node: dict = {}
    for name, value in pairs:
        _add(node, name, value)
    return node


def count_keys(node: Any) -> int:
    """How many keys a decoded JSON value holds, at every depth.

    >>> count_keys({"a": 1, "b": {"c": [{"d": 2}]}})
    4
    """
    if type(node) is dict:
        count, values = len(node), node.values()
    elif type(node) is list:
        count, values = 0, node
    else:
        return 0
    for value in values:
        if type(value) is dict or type(value) is list:
            count += count_keys(value)
    return count


def _add(node: dict, name: str, value: Any) -> None:
    """Put ``value`` under ``name``, or ``name_1``, ``name_2``... when the name is taken."""
    if name in node:
        number = 1
        while f"{name}_{number}" in node:
            number += 1
        name = f"{name}_{number}"
    node[name] = value
