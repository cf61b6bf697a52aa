"""What more than one test folder needs, defined once: polling, waiting for events, fakes, journals, images.

Importable from every test as ``support`` (``tests/`` is on the import path, see ``tests/conftest.py``).
"""

from .fakes import JPEG, PNG, PNG_SIGNATURE, Hang, refused
from .images import write_jpeg, write_samples
from .journal import journal_events, journal_records, last_record_per_key
from .server import Stall, serve
from .waiting import CLI_FAST_POLL, FAST_POLL, eventually, eventually_blocking, settle

__all__ = [
    "CLI_FAST_POLL",
    "FAST_POLL",
    "JPEG",
    "PNG",
    "PNG_SIGNATURE",
    "Hang",
    "Stall",
    "eventually",
    "eventually_blocking",
    "journal_events",
    "journal_records",
    "last_record_per_key",
    "refused",
    "serve",
    "settle",
    "write_jpeg",
    "write_samples",
]
