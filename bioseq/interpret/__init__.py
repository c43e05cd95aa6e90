"""Looking inside a model: attribution, gates, gradients across time, memory, motifs, diagnosis."""
