"""`python -m scoring`."""

import gc
import sys

try:
    from scoring.cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load (numpy, pyarrow: ~0.2 s): nothing started yet
    print("interrupted", file=sys.stderr)
    raise SystemExit(130) from None

status = main()
gc.freeze()  # skip the last garbage collection over every object at exit (~30 ms): the OS frees the memory
raise SystemExit(status)
