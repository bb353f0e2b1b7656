"""Event exports read in the wrong time zone, told by the server's own protocol log.

Event Viewer's CSV and text exports (and Get-EventLog / Get-WinEvent exports without an offset) write
local times; exlab reads them in the case's ``tz`` (else UTC), or a server's own zone (``server_tz``).
When a server's export was written in another zone, its failures are off by the zones' difference.
The SMTP send protocol log writes UTC: each failed delivery is an event 2004 and a refused session of
the same server, logged within a second. :func:`zone_shifts` finds the files whose failures match the
server's refused sessions only when moved by whole or quarter hours, and by how much.

>>> import pandas as pd
>>> sessions = pd.to_datetime(["2025-10-14 15:06:41.2", "2025-10-14 15:21:41.7", "2025-10-14 15:36:42.0"], utc=True)
>>> events = sessions - pd.Timedelta(hours=-9)          # written in UTC+9, read as UTC: 9 hours late
>>> points = pd.DataFrame({"origin": ["session"] * 3 + ["event"] * 3, "server": ["EX02"] * 6,
...                        "time": list(sessions) + list(events), "source": ["SEND1.LOG"] * 3 + ["EX02/app.csv"] * 3})
>>> [(server, file, shift / pd.Timedelta(hours=1)) for server, file, shift, _ in zone_shifts(points, {"EX02/app.csv"})]
[('EX02', 'EX02/app.csv', -9.0)]
>>> written_offset("UTC", pd.Timedelta(hours=-9), events[0])
'UTC+09:00'
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from exlab.attribution import host_name

# the moves a wrongly zoned export may need, in seconds: whole and quarter hours up to the widest gap between
# two zones (UTC-12 to UTC+14: 26 hours), the smallest first
SHIFTS = np.array(sorted(range(-26 * 3600, 26 * 3600 + 1, 900), key=abs), dtype=np.int64)
# a failure's event and its session's reply are logged within this many seconds of each other
_SLACK = 1
# the fewest failures a file must share with the protocol log before exlab says it was read in the wrong zone
FEWEST = 3


def zone_shifts(points: pd.DataFrame,
                local_files: Collection[str]) -> list[tuple[str, str, pd.Timedelta, pd.Timestamp]]:
    """(server, file, shift, first failure as read) for each event export among ``local_files`` (files whose
    local times exlab read in a zone) whose failures (``points`` of
    ``exlab.analysis.timeline.failure_points(prefer=False)``) match the same server's refused sessions only
    when moved by ``shift`` (the time to add): at least :data:`FEWEST` of them and half, where without the
    move fewer than half match."""
    if points.empty or not local_files:
        return []
    hosts = points["server"].map(lambda name: host_name(name) if isinstance(name, str) and name else None)
    seconds = (pd.to_datetime(points["time"], utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    origin, source = points["origin"].astype("string"), points["source"].astype("string")
    found = []
    for host in hosts[origin.eq("session").fillna(False)].dropna().unique():
        logged = np.unique(seconds[origin.eq("session").fillna(False) & hosts.eq(host)].to_numpy())
        near = np.unique(np.concatenate([logged + step for step in range(-_SLACK, _SLACK + 1)]))
        mine = origin.eq("event").fillna(False) & hosts.eq(host) & source.isin(list(local_files)).fillna(False)
        for file, times in seconds[mine].groupby(source[mine]):
            shift = _best_shift(times.to_numpy(), near)
            if shift:
                first = points.loc[times.index, "time"].min()
                found.append((str(points.loc[times.index[0], "server"]), str(file), pd.Timedelta(seconds=int(shift)),
                              first))
    return found


def _best_shift(times: np.ndarray, near: np.ndarray) -> int:
    """The move (seconds) that matches the most of ``times`` to ``near`` (sorted), when enough match with it
    and too few without it; else 0."""
    wanted = max(FEWEST, -(-len(times) // 2))
    if len(times) < FEWEST or np.isin(times, near).sum() * 2 >= len(times):
        return 0
    counts = [int(np.isin(times + shift, near).sum()) for shift in SHIFTS]
    best = int(np.argmax(counts))
    return int(SHIFTS[best]) if counts[best] >= wanted else 0


def written_offset(read_zone: str, shift: pd.Timedelta, at: pd.Timestamp) -> str:
    """The UTC offset local times were written in, when read in ``read_zone`` they need ``shift`` (at ``at``)."""
    offset = pd.Timestamp(at).tz_convert(read_zone).utcoffset() - shift
    minutes = int(offset / pd.Timedelta(minutes=1))
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def shift_words(shift: pd.Timedelta) -> str:
    """A move of local times in words.

    >>> shift_words(pd.Timedelta(hours=-9)), shift_words(pd.Timedelta(hours=5, minutes=30))
    ('9 h earlier', '5 h 30 min later')
    """
    minutes = int(abs(shift) / pd.Timedelta(minutes=1))
    hours, rest = divmod(minutes, 60)
    amount = f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{amount} {'later' if shift > pd.Timedelta(0) else 'earlier'}"
