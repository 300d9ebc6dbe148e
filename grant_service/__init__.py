"""The central grant service: rules, ledger, PKI checks, idempotent sync API."""
