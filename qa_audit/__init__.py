"""qa-audit: audit call-center recordings against the standard script and spot-check forms."""

__version__ = "0.1.0"
