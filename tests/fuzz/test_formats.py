"""Every reader fuzzed, one format family at a time: seeded mutations of the family's seed files,
Hypothesis's splices of bytes and text into them, and every input that ever failed. Each input
ends in rows or an ExlabError naming the file, within the harness's time limit.

``EXLAB_FUZZ_EXAMPLES=300 EXLAB_FUZZ_SEED=7 EXLAB_FUZZ_MUTATORS=more`` runs a longer, fresh corpus
with other mutations too.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.fuzz.families import FAMILIES
from tests.fuzz.harness import BASE_SEED, EXAMPLES, MUTATORS, check, regressions
from tests.fuzz.mutations import mutate

# Hypothesis draws a quarter of the seeded examples per family, from the same base seed (reproducible runs)
SPLICES = settings(max_examples=max(1, EXAMPLES // 4), deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# what a parser trips on, as text: quotes, separators, line ends, markup, BOMs, controls, wide and odd characters
TRICKY = st.text(alphabet=st.sampled_from(list('"\',;\t\r\n<>&]#:=\\{}\x00\x1b\ufeff\u2028\uff1d ą€😀')) | st.characters(),
                 max_size=40)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def test_every_family_has_seeds_and_reads_them_to_rows(folder):
    """The harness fuzzes what the readers take: each family's seeds from the samples and the
    lab read to rows (real exports and fixtures may hold other kinds, as hostile seeds)."""
    for family in FAMILIES:
        seeds = family.seeds()
        assert seeds, family.name
        ours = [label for label in seeds if label.startswith(("samples:", "lab:"))]
        assert ours, family.name
        assert {label: check(family, seeds[label], folder, label) for label in ours} == dict.fromkeys(ours, "rows")


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_seeded_mutations_end_in_rows_or_an_exlab_error(family, folder):
    """(Inputs whose reader is still to be fixed are left to their strict expected failure below.)"""
    seeds = family.seeds()
    still_open = {(kept.seed_file, kept.seed) for kept in regressions((family,)) if kept.open and kept.mutators == MUTATORS}
    outcomes = Counter(check(family, mutate(seeds[label], seed, MUTATORS), folder, f"mutate({label!r}, {seed}, {MUTATORS!r})")
                       for label, seed in family.cases() if (label, seed) not in still_open)
    assert sum(outcomes.values()) == EXAMPLES - len(still_open.intersection(family.cases()))


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
@SPLICES
@seed(BASE_SEED)
@given(data=st.data())
def test_spliced_inputs_end_in_rows_or_an_exlab_error(family, folder, data):
    seeds = family.seeds()
    label = data.draw(st.sampled_from(sorted(seeds)), label="seed file")
    seed = seeds[label]
    at = data.draw(st.integers(0, len(seed)), label="at")
    cut = data.draw(st.integers(0, 64), label="bytes replaced")
    piece = data.draw(st.binary(max_size=64) | TRICKY.map(lambda text: text.encode("utf-8", "surrogatepass")) |
                      TRICKY.map(lambda text: text.encode("utf-16-le", "surrogatepass")), label="piece")
    check(family, seed[:at] + piece + seed[at + cut:], folder, f"{label} with {piece!r} at {at} over {cut} bytes")


def _regression_params():
    for kept in regressions(FAMILIES):
        marks = [pytest.mark.xfail(strict=True, reason=f"still raises {kept.open}")] if kept.open else []
        yield pytest.param(kept, id=kept.label, marks=marks)


@pytest.mark.parametrize("kept", list(_regression_params()))
def test_inputs_that_once_failed_end_in_rows_or_an_exlab_error(kept, folder):
    data = kept.data()
    if data is None:
        pytest.skip(f"seed file {kept.seed_file} not here")
    check(kept.family, data, folder, kept.label)
