"""Corretor automático do curso: ingest -> normalize -> execute -> score -> record -> report."""

__version__ = "0.1.0"
