"""Agent-assist and knowledge service for customer-service centres (core: no web layer)."""
