"""bioseq's version (a leaf: the model files' metadata and ``bioseq --version`` read it without importing the
public API in ``bioseq/__init__.py``)."""

__version__ = "0.1.0"
