"""Teacher-dataset builders: prompts, backends, the resumable cache and the ``cotlit teach`` runner."""
