"""The confirmation slip: what goes on it, printing it, and the reprint archive."""
