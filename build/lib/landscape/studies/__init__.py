"""Studies: one module or package per paper and topic, the only place with experiment settings."""
