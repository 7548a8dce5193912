"""`fold_known`: the rows of one visitor in a batch become the one row that has the
effect of upserting them one after the other (`server/store/visitor_batch.py`)."""

from __future__ import annotations

from server.store.visitor_batch import fold_known


def _row(vid: str, **kw):  # type: ignore[no-untyped-def]
    return {
        "id": vid,
        "site_id": kw.get("site_id", "st_1"),
        "user_id": kw.get("user_id"),
        "name": kw.get("name"),
        "email": kw.get("email"),
        "attributes": kw.get("attributes"),
        "first_seen_ts": kw.get("first_seen_ts", 10),
        "last_seen_ts": kw.get("last_seen_ts", 10),
    }


def test_distinct_ids_are_kept_as_given_in_order() -> None:
    rows = [_row("vi_b", attributes={"a": 1}), _row("vi_a", name="Ann")]
    assert fold_known(rows) == rows


def test_later_given_fields_win_and_none_keeps_the_earlier_value() -> None:
    rows = [
        _row("vi_1", user_id="u1", name="Ann", email="a@x.io", first_seen_ts=1, last_seen_ts=1),
        _row("vi_2"),
        _row("vi_1", name="Anna", site_id="st_2", first_seen_ts=2, last_seen_ts=2),
        _row("vi_1", email=None, last_seen_ts=3),
    ]
    assert fold_known(rows) == [
        # site_id and first_seen_ts are the first row's: only an insert uses them.
        _row("vi_1", user_id="u1", name="Anna", email="a@x.io", first_seen_ts=1, last_seen_ts=3),
        _row("vi_2"),
    ]


def test_attributes_merge_in_order_and_none_merges_nothing() -> None:
    rows = [
        _row("vi_1"),
        _row("vi_1", attributes={"plan": "free", "seats": 1}),
        _row("vi_1", attributes=None),
        _row("vi_1", attributes={"plan": "pro", "x": None}),
    ]
    (folded,) = fold_known(rows)
    assert folded["attributes"] == {"plan": "pro", "seats": 1, "x": None}
    assert list(folded["attributes"]) == ["plan", "seats", "x"]
    assert fold_known([_row("vi_1"), _row("vi_1")])[0]["attributes"] is None


def test_the_callers_dicts_are_not_changed() -> None:
    first = _row("vi_1", attributes={"a": 1})
    fold_known([first, _row("vi_1", attributes={"b": 2}, name="Bo")])
    assert first == _row("vi_1", attributes={"a": 1})
