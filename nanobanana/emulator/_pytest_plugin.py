"""The pytest plugin (registered through the ``pytest11`` entry point): the ``nanobanana_emulator`` fixture.

```python
import pytest
from nanobanana import NanoBanana

@pytest.mark.nanobanana_emulator(finish_after=0, failure_rate=1.0)
async def test_failure_is_reported(nanobanana_emulator):
    async with NanoBanana(base_url=nanobanana_emulator.url,
                          session_token=nanobanana_emulator.issue_token()) as client:
        ...
```
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import Emulator

_MARKER = "nanobanana_emulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that sets the fixture's knobs."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**knobs): settings of the nanobanana_emulator fixture (EmulatorConfig fields, e.g. "
        "finish_after=0, failure_rate=1.0)",
    )


@pytest.fixture
def nanobanana_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running Nano Banana API emulator, fresh for each test; its knobs come from the marker.

    It serves from a background thread, so it works in synchronous tests and under any event loop.
    Tasks finish after 0 seconds unless the marker says otherwise.
    """
    knobs = {"finish_after": 0.0}
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        knobs.update(marker.kwargs)
    with Emulator(**knobs).run_in_thread() as emulator:  # type: ignore[arg-type]
        yield emulator
