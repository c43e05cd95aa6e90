"""The recurrent model: its options, the recurrent cells, the classifier, and model files."""
