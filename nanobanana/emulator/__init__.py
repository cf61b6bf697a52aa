"""An offline emulator of the Nano Banana API, for demos, tests and benchmarks.

It is an aiohttp.web application speaking the exact wire format of the real service, served on loopback
sockets: an API host and a separate file host. Point a client at it with ``base_url=emu.url``.

```python
from nanobanana import NanoBanana
from nanobanana.emulator import Emulator, Fault

async with Emulator(finish_after=1.0) as emu:
    emu.faults.script("status", Fault.status(502), times=2)
    async with NanoBanana(base_url=emu.url, session_token=emu.issue_token()) as client:
        result = await client.generate("a banana in space", image_urls=emu.sample_urls[:1])
```

From a shell: ``python -m nanobanana.emulator --port 8000``. In pytest: the ``nanobanana_emulator`` fixture.
"""

from ._config import EmulatorConfig
from ._durations import Durations
from ._faults import ENDPOINTS, Fault, Faults, FiredFault
from ._images import sample_images
from ._server import Emulator
from ._state import EmulatedTask, RecordedRequest
from ._types import Knobs

__all__ = [
    "ENDPOINTS",
    "Durations",
    "EmulatedTask",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "Faults",
    "FiredFault",
    "Knobs",
    "RecordedRequest",
    "sample_images",
]
