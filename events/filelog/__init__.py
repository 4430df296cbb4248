"""The embedded ``file://DIR`` backend of the event log (the default on one machine).

``open_file_log`` is what ``events.log.open_log`` calls for ``file://`` URLs. Beyond the
``EventLog`` protocol, ``FileLog`` offers ``verify()`` (CRC-check every record, for
``reel log verify``), ``size_bytes()``, ``commit_offsets()`` and ``readonly`` opens that follow a
writer in another process.
"""

from .consumer import FileConsumer
from .errors import LogNotFoundError, LogReadOnlyError, LogWriteError
from .log import FileLog, open_file_log
from .reader import VerifyReport

__all__ = [
    "FileConsumer",
    "FileLog",
    "LogNotFoundError",
    "LogReadOnlyError",
    "LogWriteError",
    "VerifyReport",
    "open_file_log",
]
