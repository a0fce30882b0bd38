"""Sharing window energy among concurrent requests."""

from __future__ import annotations

import pytest

from aicommons.energy.attribution import Span, WindowAttribution


def test_one_request_gets_the_whole_window() -> None:
    shares = WindowAttribution()
    shares.open("a")
    shares.close_window(10.0, 0.0, 1.0, {"a": Span(0.0)})
    assert shares.close("a") == pytest.approx(10.0)


def test_window_split_by_running_time() -> None:
    shares = WindowAttribution()
    for rid in ("a", "b"):
        shares.open(rid)
    # a runs the whole window, b only its second half.
    shares.close_window(9.0, 0.0, 2.0, {"a": Span(0.0), "b": Span(1.0)})
    assert shares.close("a") == pytest.approx(6.0)
    assert shares.close("b") == pytest.approx(3.0)


def test_finished_and_queued_requests_get_nothing_more() -> None:
    shares = WindowAttribution()
    for rid in ("done", "running", "queued"):
        shares.open(rid)
    spans = {"done": Span(0.0, 1.0), "running": Span(0.5)}
    shares.close_window(4.0, 1.0, 3.0, spans)
    assert shares.close("done") == 0.0
    assert shares.close("running") == pytest.approx(4.0)
    assert shares.close("queued") == 0.0


def test_energy_is_conserved_including_idle() -> None:
    shares = WindowAttribution()
    shares.close_window(5.0, 0.0, 1.0, {})  # nobody runs: idle
    shares.open("a")
    shares.open("b")
    shares.close_window(7.0, 1.0, 2.0, {"a": Span(1.0), "b": Span(1.5)})
    a = shares.close("a")
    shares.close_window(3.0, 2.0, 3.0, {"b": Span(1.5)})
    b = shares.close("b")
    assert shares.idle_joules == pytest.approx(5.0)
    assert a + b + shares.idle_joules == pytest.approx(shares.total_joules) == 15.0
    assert shares.open_joules == 0.0
