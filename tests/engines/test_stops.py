"""Stop sequences over streamed text pieces."""

from __future__ import annotations

from aicommons.engines.stops import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[str]) -> tuple[str, bool]:
    out = ""
    for piece in pieces:
        safe, stopped = matcher.feed(piece)
        out += safe
        if stopped:
            return out, True
    return out + matcher.flush(), False


def test_no_stops_passes_text_through() -> None:
    assert feed_all(StopMatcher([]), ["a", "b"]) == ("ab", False)


def test_stop_split_across_pieces_is_never_emitted() -> None:
    matcher = StopMatcher(["END"])
    safe, stopped = matcher.feed("hello E")
    assert (safe, stopped) == ("hello ", False)
    safe, stopped = matcher.feed("N")
    assert (safe, stopped) == ("", False)
    assert matcher.feed("D and more") == ("", True)


def test_false_start_is_released() -> None:
    assert feed_all(StopMatcher(["END"]), ["hello E", "Nx", " bye"]) == ("hello ENx bye", False)


def test_earliest_of_several_stops_wins() -> None:
    assert feed_all(StopMatcher(["b", "cd"]), ["acdb"]) == ("a", True)


def test_held_back_text_is_flushed_at_the_end() -> None:
    assert feed_all(StopMatcher(["###"]), ["text #", "#"]) == ("text ##", False)
