"""Deployment progress events: persisted rows (``publisher``), live fan-out (``broker``) and the SSE/JSON API."""
