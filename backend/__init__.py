"""Toezicht BW: supervision and enforcement of the special laws for a Dutch municipality."""
