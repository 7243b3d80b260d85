"""``plt`` for the no-install workshop site, which has no matplotlib: plot cells say so and go on.

matplotlib needs compiled WebAssembly wheels (matplotlib, numpy, pillow, kiwisolver, contourpy
built for Pyodide) that no registry the site is built from carries, so the site ships this
instead; a notebook's first cell imports it only when ``import matplotlib.pyplot`` fails.
Every pyplot call is accepted and draws nothing; ``show()`` prints one line in its place.
"""

from __future__ import annotations

from typing import Any, Iterator

NOTE = "(plot skipped: this browser-only site has no matplotlib; see demos/README.md)"


class Skipped:
    """Any attribute, call, index or unpacking (``fig, ax = plt.subplots()``) gives another."""

    def __getattr__(self, name: str) -> Skipped:
        if name.startswith("__"):
            raise AttributeError(name)
        return Skipped()

    def __call__(self, *args: Any, **kwargs: Any) -> Skipped:
        return Skipped()

    def __getitem__(self, key: Any) -> Skipped:
        return Skipped()

    def __iter__(self) -> Iterator[Skipped]:
        return iter((Skipped(), Skipped()))

    def __repr__(self) -> str:
        return NOTE

    def show(self, *args: Any, **kwargs: Any) -> None:
        print(NOTE)


plt = Skipped()
