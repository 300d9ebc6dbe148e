"""The procedure as a pure state machine: events in, commands out; no I/O."""
