"""Score candidate training texts against target examples with ZIP-FIT and RDS+.

The library is pure Python with no UI: `loading` reads files; `zipfit`, `zipfit_fast` and `rds` (with
`embedding` and `models`) are the methods; `pipeline` runs them through the `cache` and `runner`; `jobs`,
`mapping`, `compare` and `explain` serve the dashboard; `export` and `tables` write selections and results;
`cli` is `python -m scoring`.
"""

__version__ = "0.1.0"
