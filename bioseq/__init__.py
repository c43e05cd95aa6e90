"""bioseq: train recurrent classifiers on DNA, RNA and protein sequences, and see inside them."""

__version__ = "0.1.0"
