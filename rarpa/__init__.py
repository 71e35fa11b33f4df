"""RARPA Record: the event-sourced progress record (domain, service, read models, CLI).

This package imports nothing from Flask: the web adapter lives in ``web/``.
"""
