"""Jinja2 prompt templates, one per task and language (``<task>.<lang>.j2``)."""
