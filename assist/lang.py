"""Moved to :mod:`assist.text.lang`; this re-export stays only while parallel branches
still import ``assist.lang``. Remove it when ``git grep -n "assist.lang\\b"`` finds no user."""

from assist.text.lang import check_supported, detect_language

__all__ = ["check_supported", "detect_language"]
