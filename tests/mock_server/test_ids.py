"""The mock's made-up ids never read as a card number (the checks would mask and flag them)."""

from __future__ import annotations

from mock_server.ids import hex_id, opaque, uuid_id
from villa_contracts.redact import holds_card_number


def test_an_id_holding_a_luhn_valid_run_is_drawn_again() -> None:
    drawn = iter(["chrg_test_4539578763621486ab", "chrg_test_45ab"])  # the first holds a valid card number
    assert holds_card_number("chrg_test_4539578763621486ab")
    assert opaque(lambda: next(drawn)) == "chrg_test_45ab"


def test_made_up_ids_keep_their_shape() -> None:
    assert hex_id("pay_", 10).startswith("pay_") and len(hex_id("pay_", 10)) == 24
    assert len(uuid_id()) == 36 and uuid_id().count("-") == 4
    assert not any(holds_card_number(hex_id("chrg_test_", 10)) for _ in range(2000))


def test_a_seeded_source_repeats_and_a_random_one_does_not() -> None:
    from mock_server.ids import IdSource

    def draw(source: IdSource) -> list[str]:
        return [source.hex_id("chrg_test_", 10), source.uuid_id(), source.hex_id("pay_", 10)]

    assert draw(IdSource.from_seed(7)) == draw(IdSource.from_seed(7))
    assert draw(IdSource.from_seed(7)) != draw(IdSource.from_seed(8))
    assert draw(IdSource.from_seed(None)) != draw(IdSource.from_seed(None))
