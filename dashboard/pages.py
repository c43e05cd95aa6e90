"""The dashboard's page list: one :class:`Page` per page script in ``dashboard/views/``, in the order of the work.

The pages themselves are listed in ``pages.toml`` (data: path, title, icon, section, caption); the frame
(``app.py``) builds its navigation from :data:`PAGES`, and the tests read the same list.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Page:
    """One dashboard page as the frame (``app.py``) lists it."""

    path: str  # the page script, relative to the repository root (where ``app.py`` is)
    title: str
    icon: str
    section: str
    caption: str
    heading: str = ""  # the page's title on screen, when it differs from its name in the sidebar

    @property
    def name(self) -> str:
        """The script's name, which Streamlit also uses as the page's address (``/data``); the first page is
        the default one, at ``/``."""
        return PurePosixPath(self.path).stem


PAGES = tuple(Page(**entry) for entry in tomllib.loads((Path(__file__).parent / "pages.toml").read_text())["page"])

# The browser tab's icon, set before the navigation (app.py). An emoji (drawn by the browser itself), not a
# ":material/...:" icon: Streamlit fetches those favicons from fonts.gstatic.com, and the dashboard makes no
# request off the machine.
FAVICON = "🧬"


def page(name: str) -> Page:
    """The page whose script is ``dashboard/views/<name>.py`` (``"data"``, ``"gradient_flow"``, ...)."""
    return next(p for p in PAGES if p.name == name)


def url(p: Page) -> str:
    """A page's address as the browser shows it: ``""`` for the first (default) page, else its name."""
    return "" if p == PAGES[0] else p.name
