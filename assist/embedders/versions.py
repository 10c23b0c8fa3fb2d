"""Per-tenant embedder versions: which adapted model a tenant's index and search use.

Adapted models live beside the prepared ones, one folder per tenant::

    HOME/models/adapted/<tenant>/<base>-<tenant>-v1/     (a sentence-transformers directory
    HOME/models/adapted/<tenant>/<base>-<tenant>-v2/      with adapt_manifest.json)
    HOME/models/adapted/<tenant>/active.json             the registry

``active.json`` names the active version (or none: the configured base model) and keeps the
history of switches. It is replaced atomically (a temporary file renamed over it), so a
reader sees the old or the new registry, never half of one. A version's folder name is its
model id, so its vectors get their own collection (``kb_<base>-<tenant>-v2_384``): switching
is a registry write once the new collection is filled, and switching back finds the old
collection where it was.

An adapted version applies only while the configured base model is the one it was trained
from: after ``ASSIST_EMBEDDER__MODEL`` changes, the tenant uses the configured model again.

Nothing here imports torch; the runtime reads the registry on every assembly.

Example:
    >>> tenant_settings(settings, "nova").embedder.model                    # doctest: +SKIP
    '/srv/assist/models/adapted/nova/e5-small-nova-v2'
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from assist.config import Settings
from assist.errors import ConfigError, InputError, NotFoundError

log = logging.getLogger(__name__)

__all__ = [
    "ADAPTED_DIR",
    "REGISTRY_FILE",
    "ModelVersion",
    "Switch",
    "TenantModels",
    "list_versions",
    "next_version_dir",
    "read_registry",
    "rollback_target",
    "set_active",
    "tenant_models_dir",
    "tenant_settings",
]

ADAPTED_DIR = "adapted"
REGISTRY_FILE = "active.json"
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Switch(BaseModel):
    """One change of a tenant's active model (None = the configured base model)."""

    at: str
    previous: str | None
    active: str | None
    action: Literal["adapt", "rollback", "activate"]
    actor: str | None = None
    note: str | None = None


class TenantModels(BaseModel):
    """The registry of one tenant (``active.json``)."""

    tenant: str
    base_model: str
    """The configured embedder the versions were trained from (``e5-small``)."""
    active: str | None = None
    """The active version's folder name; None: the base model."""
    history: list[Switch] = Field(default_factory=list)


class ModelVersion(BaseModel):
    """One adapted model folder of a tenant, with the facts of its manifest."""

    name: str
    path: Path
    base_model: str
    created_at: str
    pairs: int
    steps: int
    train_seconds: float
    active: bool = False
    gate: dict[str, object] | None = None
    """The golden-set comparison run before it was (or was not) switched on."""


def tenant_models_dir(settings: Settings, tenant: str) -> Path:
    """``HOME/models/adapted/<tenant>``.

    Raises:
        InputError: ``tenant`` is not a plain tenant id (no path separators).
    """
    if not _TENANT.match(tenant):
        raise InputError(f"bad tenant id {tenant!r}")
    return settings.models_dir / ADAPTED_DIR / tenant


def read_registry(settings: Settings, tenant: str) -> TenantModels | None:
    """The tenant's registry, or None when it has never been adapted.

    Raises:
        ConfigError: ``active.json`` exists but cannot be read.
    """
    f = tenant_models_dir(settings, tenant) / REGISTRY_FILE
    if not f.is_file():
        return None
    try:
        return TenantModels.model_validate_json(f.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as e:
        raise ConfigError(
            f"{f} is not a readable model registry ({e}): fix it or `assist models rollback`"
        ) from e


def _write_registry(settings: Settings, reg: TenantModels) -> None:
    folder = tenant_models_dir(settings, reg.tenant)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".active-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(reg.model_dump_json(indent=2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / REGISTRY_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _gate_file(path: Path) -> Path:
    return path / "gate.json"


def list_versions(settings: Settings, tenant: str) -> list[ModelVersion]:
    """The tenant's adapted versions, oldest first (folders with a manifest; partial
    trainings are skipped)."""
    from assist.embedders.adapt import read_manifest

    folder = tenant_models_dir(settings, tenant)
    if not folder.is_dir():
        return []
    reg = read_registry(settings, tenant)
    out = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.endswith(".partial")):
        m = read_manifest(d)
        if m is None:
            continue
        gate = None
        if _gate_file(d).is_file():
            try:
                gate = json.loads(_gate_file(d).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                gate = None
        out.append(
            ModelVersion(
                name=d.name,
                path=d,
                base_model=m.base_model_id,
                created_at=m.created_at,
                pairs=m.pairs,
                steps=m.steps,
                train_seconds=m.train_seconds,
                active=reg is not None and reg.active == d.name,
                gate=gate,
            )
        )
    return sorted(out, key=lambda v: (v.created_at, v.name))


def next_version_dir(settings: Settings, tenant: str) -> Path:
    """A new, unused folder ``<base>-<tenant>-v<N>`` for the next adaptation."""
    folder = tenant_models_dir(settings, tenant)
    base = Path(settings.embedder.model).name
    n = 1
    existing = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    while any(e.startswith(f"{base}-{tenant}-v{n}") for e in existing):
        n += 1
    return folder / f"{base}-{tenant}-v{n}"


def save_gate(path: Path, gate: dict[str, object]) -> None:
    """Record the golden-set comparison beside the version it judged."""
    _gate_file(path).write_text(json.dumps(gate, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def set_active(
    settings: Settings,
    tenant: str,
    version: str | None,
    *,
    action: Literal["adapt", "rollback", "activate"],
    actor: str | None = None,
    note: str | None = None,
) -> TenantModels:
    """Make ``version`` (a folder name of :func:`list_versions`; None: the base model) the
    tenant's active embedder, atomically, and record the switch.

    Raises:
        NotFoundError: No such version.
    """
    if version is not None and version not in {v.name for v in list_versions(settings, tenant)}:
        raise NotFoundError(
            f"tenant {tenant!r} has no adapted model {version!r}: see `assist models versions`"
        )
    reg = read_registry(settings, tenant) or TenantModels(tenant=tenant, base_model=settings.embedder.model)
    switch = Switch(
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        previous=reg.active,
        active=version,
        action=action,
        actor=actor,
        note=note,
    )
    reg = reg.model_copy(
        update={"active": version, "history": [*reg.history, switch], "base_model": settings.embedder.model}
    )
    _write_registry(settings, reg)
    return reg


def rollback_target(settings: Settings, tenant: str) -> str | None:
    """What ``assist models rollback`` switches to: the model that was active before the
    current one was switched on by an adaptation (None: the base model), so repeated
    rollbacks walk back to the base model.

    Raises:
        InputError: The tenant's base model is active and nothing is left to roll back.
    """
    reg = read_registry(settings, tenant)
    if reg is None or reg.active is None:
        raise InputError(
            f"tenant {tenant!r} uses the base model {settings.embedder.model!r}: nothing to roll back"
        )
    known = {v.name for v in list_versions(settings, tenant)}
    for sw in reversed(reg.history):
        if sw.active == reg.active and sw.action != "rollback" and sw.previous != reg.active:
            return sw.previous if sw.previous is None or sw.previous in known else None
    return None


def active_model_path(settings: Settings, tenant: str) -> Path | None:
    """The adapted model directory the tenant uses now, or None (the configured model).

    None too when the registry was written for another base model than the configured one
    (the adapted weights would not match), or the active folder is gone (logged).
    """
    try:
        reg = read_registry(settings, tenant)
    except (ConfigError, InputError) as e:
        log.warning("tenant %s: %s; using the configured embedder", tenant, e)
        return None
    if reg is None or reg.active is None:
        return None
    if reg.base_model != settings.embedder.model:
        log.warning(
            "tenant %s: adapted model %s was trained from %s, the configured embedder is %s: using %s",
            tenant,
            reg.active,
            reg.base_model,
            settings.embedder.model,
            settings.embedder.model,
        )
        return None
    path = tenant_models_dir(settings, tenant) / reg.active
    if not (path / "modules.json").is_file():
        log.warning("tenant %s: adapted model %s is missing; using the configured embedder", tenant, path)
        return None
    return path


def tenant_settings(settings: Settings, tenant: str | None) -> Settings:
    """``settings`` with the tenant's active adapted embedder, or ``settings`` itself when
    the tenant uses the configured model (or ``tenant`` is None)."""
    if tenant is None:
        return settings
    path = active_model_path(settings, tenant)
    if path is None:
        return settings
    # An adapted directory has no ONNX export: torch (auto picks it); int8 is not carried over.
    embedder = settings.embedder.model_copy(
        update={"model": str(path), "quantize": "none", "backend": "auto"}
    )
    return settings.model_copy(update={"embedder": embedder})
