"""Build a model directory beside the one in use and swap it in whole.

Shared by the runtime (the ONNX export of :mod:`assist.embedders.onnx_backend`) and the
offline provisioning (:mod:`assist.provision`), which imports it from here: runtime code
never imports provisioning code.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["make_readable", "replace_dir", "staged_build"]


def make_readable(root: Path) -> None:
    """mkdtemp/safetensors create owner-only modes; models are shared read-only data."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def replace_dir(tmp_dir: Path, out_dir: Path) -> None:
    """Move a finished build into place, replacing an older build (never half-written)."""
    if out_dir.exists():
        old = out_dir.with_name(out_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
        tmp_dir.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp_dir.rename(out_dir)


@contextlib.contextmanager
def staged_build(out_dir: Path, prefix: str) -> Iterator[Path]:
    """A scratch directory beside ``out_dir`` to build into; swapped in whole on success.

    When the ``with`` body returns, the build is made readable by all and replaces
    ``out_dir`` (:func:`replace_dir`); when it raises (or is interrupted), the scratch
    directory is removed and ``out_dir`` is left as it was. The parent must be writable.

    Example:
        >>> with staged_build(models / "e5-small", ".e5-build-") as tmp:  # doctest: +SKIP
        ...     build_st_dir(bin_path, tmp)
    """
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=prefix))
    try:
        yield tmp
        make_readable(tmp)
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
