"""pytest suite of the model pipeline."""
