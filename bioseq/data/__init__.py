"""Sequences in: reading files, alphabets, one-hot encoding, labels, splits, the example data.

Light on purpose: importing this package loads neither PyTorch nor pandas.
"""
