"""Corretor automático do curso: ingest -> normalize -> execute -> score -> record -> report."""

__version__ = "0.1.0"

import sys as _sys

# jsonschema (under nbformat) imports rfc3987_syntax when installed, for an "iri" format nbformat never uses;
# that import builds 38 lark grammars, 2 of the 2.4 s `import nbformat` takes. Absent, jsonschema skips it.
_sys.modules.setdefault("rfc3987_syntax", None)
