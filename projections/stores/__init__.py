"""View store backends, one module each, picked by URL scheme through ``projections.store.open_store``."""
