"""``unspin serve`` under hostile or heavy load (issue 11, "a server that holds").

Protocol-level limits (header and body timeouts, the connection bound, the Host check, JSON
for every error) are tested against a real uvicorn server on 127.0.0.1 in a thread, with
raw sockets; the language-model queue with FastAPI's TestClient and a stand-in restorer,
so none of this needs the model. Timing figures are in BENCHMARKS.md, not here.
"""

from __future__ import annotations

import pytest

from unspin import injected, lexicons


# --- caches that grow with unseen words ----------------------------------------------


@pytest.mark.parametrize("fn", [lexicons.zipf, lexicons.word_pos, injected._zipf_en, injected.foreign_language_of])
def test_per_word_caches_are_bounded(fn):
    """Each cache keyed by input words has a finite size (they were ``functools.cache``)."""
    assert fn.cache_info().maxsize is not None and fn.cache_info().maxsize <= 1 << 17


def test_zipf_cache_stops_growing_at_its_bound():
    size = lexicons.zipf.cache_info().maxsize
    for i in range(size + 500):
        lexicons.zipf(f"qx{i}zv")  # unseen words
    assert lexicons.zipf.cache_info().currsize == size
