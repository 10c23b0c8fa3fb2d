"""Fixtures for the ops tests: a migrated database (SQLite, and PostgreSQL with the marker)
and an OpsService over the sample tenant's rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assist.db import Database
from assist.ops.service import OpsService
from assist.tenants import TenantRegistry
from tests.db_fixtures import database  # noqa: F401 - re-exported pytest fixture

ROOT = Path(__file__).resolve().parents[3]
TENANTS = ROOT / "examples" / "tenants"


@pytest.fixture
def registry() -> TenantRegistry:
    return TenantRegistry(TENANTS)


@pytest.fixture
def ops(database: Database, registry: TenantRegistry) -> OpsService:  # noqa: F811
    return OpsService(database, registry)


def conv(cid: str, *, day: str = "2026-11-03", hour: int = 9, agent: str = "a1", channel: str = "chat",
         complaint: bool = False, first_wait_s: int = 30, greet: bool = True, outcome: str = "resolved",
         customer: str | None = None, **extra) -> dict:
    """A small chat conversation in zh; ``complaint`` makes the customer complain."""
    def ts(sec: int) -> str:
        h, rem = divmod(hour * 3600 + sec, 3600)
        m, s = divmod(rem, 60)
        return f"{day}T{h:02d}:{m:02d}:{s:02d}+08:00"

    ask = "你们的服务太差劲了，我要投诉！耳机坏了三次" if complaint else "请问耳机怎么配对？"
    first = ("您好，很高兴为您服务。" if greet else "") + "请长按耳机按键三秒进入配对模式。"
    return {
        "id": cid, "channel": channel, "queue": "audio", "agent": agent, "customer": customer or f"u-{cid}",
        "turns": [
            {"role": "customer", "text": ask, "ts": ts(0)},
            {"role": "agent", "text": first, "ts": ts(first_wait_s)},
            {"role": "customer", "text": "好的，谢谢，没有了", "ts": ts(first_wait_s + 60)},
            {"role": "agent", "text": "感谢您的耐心，祝您生活愉快！", "ts": ts(first_wait_s + 90)},
        ],
        "outcome": "complaint" if complaint else outcome, **extra,
    }
