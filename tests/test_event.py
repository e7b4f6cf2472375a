"""Event: a named (timestamp, key, value) tuple."""

from cowlog import Event, EventLog


def test_event_fields_are_in_seed_order() -> None:
    event = Event(7, "disk", {"free": 0})
    assert event.timestamp == 7 and event.key == "disk" and event.value == {"free": 0}
    timestamp, key, value = event
    assert (timestamp, key, value) == (7, "disk", {"free": 0})


def test_event_equals_plain_tuple_and_hashes_like_it() -> None:
    assert Event(1, "a", 2) == (1, "a", 2)
    assert hash(Event(1, "a", 2)) == hash((1, "a", 2))


def test_ingest_returns_an_event_instance() -> None:
    event = EventLog().ingest("a", 1, 5)
    assert type(event) is Event
    assert event == (5, "a", 1)
