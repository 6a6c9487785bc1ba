"""Score candidate training texts against target examples with ZIP-FIT and RDS+.

The library is pure Python with no UI: `loading` reads files, `zipfit` is the method, `pipeline` runs it
through the `cache` and `runner`, `tables` writes results, `cli` is `python -m scoring`.
"""

__version__ = "0.1.0"
