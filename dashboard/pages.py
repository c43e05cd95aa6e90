"""The dashboard's page list: one :class:`Page` per page script in ``dashboard/views/``, in the order of the work.

The frame (``app.py``) builds its navigation from :data:`PAGES`; the tests read the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


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


PAGES = (
    Page("dashboard/views/home.py", "Home", ":material/home:", "", "Recurrent networks for DNA, RNA and protein "
         "sequences — offline, on your machine.", heading="bioseq"),
    Page("dashboard/views/data.py", "Data", ":material/dataset:", "Data and training", "Labelled sequences for "
         "training: a bundled example, or your own FASTA files."),
    Page("dashboard/views/train.py", "Train", ":material/model_training:", "Data and training", "Train a recurrent "
         "classifier (or a labeller, for a label per position) in the background; the run and its model are saved "
         "in the workspace, so you can leave this page or reload it."),
    Page("dashboard/views/gradient_flow.py", "Gradient flow", ":material/show_chart:", "Look inside", "Does the "
         "error signal reach the first layer and the far end of the sequence? Vanishing gradients mean early layers "
         "and distant letters barely learn; exploding ones break training."),
    Page("dashboard/views/gates_saliency.py", "Gates & saliency", ":material/grid_on:", "Look inside", "What the "
         "network remembers along a sequence, and which letters decide its answer."),
    Page("dashboard/views/predict.py", "Predict", ":material/batch_prediction:", "Use", "Classify new sequences, or "
         "label every position of them. Results stay in input order; download them as CSV."),
    Page("dashboard/views/models.py", "Models", ":material/inventory_2:", "Use", "Saved models in the workspace. A "
         "model file carries its weights, alphabet, classes and training history; it is loaded without unpickling "
         "anything."),
    Page("dashboard/views/glossary.py", "Glossary", ":material/menu_book:", "Help", "Plain words for the terms "
         "the dashboard uses: the same texts as the “?” beside a number or a heading."),
)

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
