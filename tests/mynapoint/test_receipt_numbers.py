"""Receipt numbers: a mistyped one is told apart from one the service does not know."""

from __future__ import annotations

import pytest

from mynapoint import receipt_numbers
from mynapoint.envelope import CancellationPayload


@pytest.mark.parametrize("_", range(50))
def test_every_single_typo_and_neighbour_swap_is_caught(_: int) -> None:
    number = receipt_numbers.new_receipt_number()
    assert receipt_numbers.is_valid(number)
    chars = number.replace("-", "")
    typos = [
        chars[:i] + c + chars[i + 1 :]
        for i in range(12)
        for c in receipt_numbers.ALPHABET
        if c != chars[i]
    ]
    swaps = [
        chars[:i] + chars[i + 1] + chars[i] + chars[i + 2 :]
        for i in range(11)
        if chars[i] != chars[i + 1]
    ]
    for wrong in typos + swaps:
        assert not receipt_numbers.is_valid(f"{wrong[:4]}-{wrong[4:8]}-{wrong[8:]}")


def test_a_number_typed_any_way_is_read_back() -> None:
    number = receipt_numbers.new_receipt_number()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number.replace("-", "").lower())
    assert receipt_numbers.normalise(full_width) == number
    assert receipt_numbers.normalise(f" {number.replace('-', ' ')} ") == number
    assert receipt_numbers.normalise(number[:-1]) is None
    broken = number[:-1] + ("2" if number[-1] != "2" else "3")
    assert receipt_numbers.normalise(broken) is None


def test_an_envelope_refuses_a_receipt_number_whose_check_fails() -> None:
    number = receipt_numbers.new_receipt_number()
    broken = number[:-1] + ("2" if number[-1] != "2" else "3")
    CancellationPayload(application_receipt_number=number, reason="wrong_entry")
    with pytest.raises(ValueError, match="check character"):
        CancellationPayload(application_receipt_number=broken, reason="wrong_entry")
