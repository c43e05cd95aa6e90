"""Using a trained model on new sequences: chunked prediction in input order."""
