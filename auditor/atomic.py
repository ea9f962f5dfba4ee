"""Writing a report so that a reader never sees half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    # The only way to read the umask is to set it; at once put it back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, data: bytes, mode: int | None = None, *,
                 exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` in one step: a temporary file beside it,
    fsync'ed, then renamed over it. ``mode`` None follows the umask, as a file
    made by the shell would; ``exclusive`` refuses to replace an existing file
    (``FileExistsError``), checked by the kernel at the moment of linking."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask() if mode is None else mode)
        if exclusive:
            os.link(tmp, target)  # fails if target exists, even if it appeared just now
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
