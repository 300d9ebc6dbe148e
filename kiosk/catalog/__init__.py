"""The payment services' catalog: what the kiosk offers, and how it reads IDs.

``model`` (the services as data, a document parsed and checked), ``queries`` (what the
screens ask: search, availability, notices, ID checks), ``store`` (the service's copy, the
cache on disk, the packaged one, and how fresh it is), ``kana`` (kana for search).
"""
