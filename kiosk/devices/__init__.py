"""Card readers, the My Number Card (JPKI) protocol, and the virtual card."""
