"""The experiments' logic: one module per experiment (see difflab.lab.experiments)."""
