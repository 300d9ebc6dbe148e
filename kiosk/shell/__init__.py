"""Carries out the procedure's commands with the real parts, on their threads."""
