"""Training: options, the loop, gradient recording, checkpoints, run folders, background jobs."""
