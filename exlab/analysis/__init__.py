"""The investigation engine: the timeline of an outage and the diagnosis of KB 2888788.

>>> from exlab.analysis import diagnose
>>> diagnose().verdict
'inconclusive'
"""

from exlab.analysis.diagnose import Diagnosis, diagnose
from exlab.analysis.findings import Finding
from exlab.analysis.timeline import (
    DEFAULT_GAP,
    Timeline,
    build_timeline,
    episodes,
    failure_points,
    failures_per_bucket,
    onset_context,
)

__all__ = [
    "DEFAULT_GAP",
    "Diagnosis",
    "Finding",
    "Timeline",
    "build_timeline",
    "diagnose",
    "episodes",
    "failure_points",
    "failures_per_bucket",
    "onset_context",
]
