"""Chat models. ``make_chat_model(settings)`` builds the configured one.

``ALLOW_BACKEND_REQUESTS`` is switched off by the test suite so that a unit test can
never reach a real model server by accident; real adapters check it before each call.
"""

from __future__ import annotations

ALLOW_BACKEND_REQUESTS = True
