"""Integrations (``perdure.ext.*``)."""
