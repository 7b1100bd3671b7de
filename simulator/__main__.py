"""`python -m simulator --port 8000 …`"""

from __future__ import annotations

import typer

from simulator.cli import run_simulator


def main() -> None:
    app = typer.Typer(add_completion=False)
    app.command()(run_simulator)
    app()


if __name__ == "__main__":
    main()
