"""Payment-service IDs: one ID, however a citizen or a kiosk pad writes it."""

from __future__ import annotations

import pytest

from mynapoint.payment_ids import last4, normalise_payment_id


@pytest.mark.parametrize(
    "typed",
    [
        "090-0000-0001",
        "09000000001",
        "090 0000 0001",
        "０９０－００００－０００１",  # full width, full-width hyphen-minus
        "０９０−００００−０００１",  # the minus sign Japanese input methods give
        "090ー0000ー0001",  # the katakana prolonged sound mark
        "090―0000‐0001",  # a horizontal bar and a hyphen
    ],
)
def test_every_way_of_writing_an_id_is_the_same_id(typed: str) -> None:
    assert normalise_payment_id(typed) == "09000000001"
    assert last4(typed) == "0001"


def test_letters_are_compared_in_upper_case() -> None:
    assert normalise_payment_id("je０００１") == "JE0001"
