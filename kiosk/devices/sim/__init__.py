"""Simulated parts under the layer they stand in for: virtual card, test CA, readers, printer."""
