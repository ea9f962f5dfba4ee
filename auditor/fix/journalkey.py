"""The secret that seals fix journals, and the ownership checks on them.

A journal tells ``undo`` which rows to write back. Whoever can change it
chooses what root's ``undo`` writes, so each journal carries an HMAC-SHA256
over its whole content (host, masked database URL, every row image, status)
made with a key only the journal's writer can read: a 32-byte file, mode
0600, owned by the user who runs decnet-audit, kept beside the journal
directory (``DECNET_AUDIT_JOURNAL_KEY`` names another place).

It protects against another local user (or a file copied in from elsewhere)
forging or editing a journal, even in a directory they can write to: they
cannot read the key, and a file they replace is theirs, not ours. It does
not protect against root or the same user (they can read the key), nor
against replaying an older genuine journal of this host; ``undo``'s row
guards then only restore rows still holding that journal's after-image.
Losing the key makes earlier journals unverifiable, and ``undo`` refuses
them.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import stat
from collections.abc import Mapping
from pathlib import Path

KEY_BYTES = 32
ENV = "DECNET_AUDIT_JOURNAL_KEY"


class KeyFileError(OSError):
    """The key cannot be read, created or trusted; the text says why."""

    def __str__(self) -> str:
        return self.args[0] if self.args else "journal key error"


def journal_dir(env: Mapping[str, str]) -> Path:
    base = env.get("DECNET_AUDIT_JOURNAL_DIR")
    if base:
        return Path(base)
    state_home = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "decnet-audit" / "journal"


def key_path(env: Mapping[str, str]) -> Path:
    if env.get(ENV):
        return Path(env[ENV])
    d = journal_dir(env)
    return d.with_name(d.name + ".key") if d.name else d / "journal.key"


def untrusted(st: os.stat_result, what: str) -> str | None:
    """Why a file with status ``st`` may have been written by someone else."""
    if st.st_uid != os.geteuid():
        return (f"{what} is owned by uid {st.st_uid}, not by this user (uid {os.geteuid()}): "
                f"another user may have written it")
    if st.st_mode & 0o022:
        return f"{what} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def load(env: Mapping[str, str], *, create: bool) -> bytes:
    path = key_path(env)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        if not create:
            raise KeyFileError(f"no journal key {path}: journals sealed with another key "
                               f"cannot be checked") from None
        return _create(path)
    except OSError as exc:
        raise KeyFileError(f"cannot read the journal key {path}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        why = untrusted(st, f"the journal key {path}")
        if why is None and st.st_mode & 0o077:
            why = f"the journal key {path} is readable by others (mode " \
                  f"{stat.S_IMODE(st.st_mode):04o}; it must be 0600)"
        if why is None and not stat.S_ISREG(st.st_mode):
            why = f"the journal key {path} is not a regular file"
        if why is not None:
            raise KeyFileError(why)
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"the journal key {path} is damaged ({len(key)} bytes, not "
                           f"{KEY_BYTES})")
    return key


def _create(path: Path) -> bytes:
    key = os.urandom(KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return load({ENV: str(path)}, create=False)  # another run made it just now
    except OSError as exc:
        raise KeyFileError(f"cannot create the journal key {path}: "
                           f"{exc.strerror or errno.errorcode.get(exc.errno, exc)}") from exc
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def seal(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def sealed_by(key: bytes, body: bytes, mac: object) -> bool:
    return isinstance(mac, str) and hmac.compare_digest(seal(key, body), mac)
