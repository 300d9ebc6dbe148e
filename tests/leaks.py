"""Finding secrets in log text without tripping over random hex that happens to hold them."""

from __future__ import annotations

import re


def leaked(text: str, secrets: list[str]) -> list[str]:
    """The secrets that stand on their own somewhere in ``text``.

    A four-digit PIN turns up by chance inside UUIDs, ETags and nonces (one in 65,536 per
    place in hex), so a secret counts only where no letter or digit touches it.
    """
    return [
        secret
        for secret in secrets
        if re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text)
    ]
