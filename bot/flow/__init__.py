"""The pipeline: fetch the sources, compose each profile's digest, deliver it; `Pipeline` is what every door calls."""
