"""``animerec bench ...``: benchmarks that print their figures (never run inside the tests).

Each benchmark lives in its own module beside this one; commands import it lazily.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)
