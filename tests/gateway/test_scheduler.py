"""The fair queue's bookkeeping, driven deterministically without a clock or an engine."""

from __future__ import annotations

from collections import Counter

import pytest

from aicommons.gateway.scheduler import FairQueue, Ticket


def service(queue: FairQueue, tenant: str) -> int:
    """Weighted service (input + 2 x output tokens) a tenant received."""
    inp, out = queue.served(tenant)
    return inp + 2 * out


def run(queue: FairQueue, dispatches: int, output_tokens: int = 10) -> Counter[str]:
    """Serve ``dispatches`` requests one at a time, each producing ``output_tokens``."""
    served: Counter[str] = Counter()
    for _ in range(dispatches):
        ticket = queue.pop()
        assert ticket is not None
        queue.charge_output(ticket, output_tokens)
        queue.settle(ticket)
        served[ticket.tenant] += 1
    return served


def backlog(queue: FairQueue, tenant: str, n: int, prompt: int = 10) -> list[Ticket]:
    tickets = [Ticket(tenant, prompt) for _ in range(n)]
    for t in tickets:
        queue.arrive(t)
    return tickets


def test_backlogged_tenants_at_weights_1_to_2_get_1_to_2_service() -> None:
    queue = FairQueue("vtc")
    queue.set_weight("a", 1)
    queue.set_weight("b", 2)
    backlog(queue, "a", 200)
    backlog(queue, "b", 200)
    run(queue, 150)
    ratio = service(queue, "b") / service(queue, "a")
    assert ratio == pytest.approx(2.0, rel=0.03)


def test_weights_1_2_3_4_give_proportional_service() -> None:
    queue = FairQueue("vtc")
    for i, name in enumerate("abcd", start=1):
        queue.set_weight(name, i)
        backlog(queue, name, 500)
    run(queue, 400)
    total = sum(service(queue, n) for n in "abcd")
    for i, name in enumerate("abcd", start=1):
        assert service(queue, name) / total == pytest.approx(i / 10, rel=0.05)


def test_a_tenant_alone_gets_every_dispatch() -> None:
    queue = FairQueue("vtc")
    backlog(queue, "solo", 20)
    assert run(queue, 20) == Counter({"solo": 20})
    assert queue.pop() is None


def test_tenant_returning_from_idle_gets_no_burst_beyond_the_bound() -> None:
    queue = FairQueue("vtc")
    backlog(queue, "busy", 1000)
    run(queue, 300)  # "busy" alone builds up a large counter
    backlog(queue, "returning", 500)
    served = run(queue, 200)
    # Each request costs 10 + 2*10 = 30; the bound is 2U with U = one request's cost here.
    gap = abs(served["returning"] - served["busy"]) * 30
    assert gap <= 2 * 30


def test_lift_when_queue_was_empty_uses_the_last_counter_that_left() -> None:
    """The paper's branch that the artifact omits: nobody else waits at arrival."""
    queue = FairQueue("vtc")
    for _ in range(100):  # "early" sends one request at a time; the queue is empty in between
        backlog(queue, "early", 1)
        run(queue, 1)
    backlog(queue, "late", 1)  # arrives to an empty queue
    assert queue.counter("late") == pytest.approx(queue.virtual_time)
    assert queue.counter("late") > 0
    backlog(queue, "early", 300)
    backlog(queue, "late", 300)
    served = run(queue, 100)
    assert abs(served["late"] - served["early"]) <= 2


def test_without_the_empty_queue_lift_a_newcomer_would_monopolise() -> None:
    """What the lift prevents: a counter left at zero wins every pick against a busy tenant."""
    queue = FairQueue("vtc")
    for _ in range(100):
        backlog(queue, "early", 1)
        run(queue, 1)
    queue.virtual_time = 0.0  # the artifact's behaviour
    backlog(queue, "late", 1)
    backlog(queue, "early", 300)
    backlog(queue, "late", 300)
    served = run(queue, 100)
    assert served["late"] == 100


def test_fcfs_serves_in_arrival_order_whatever_the_counters() -> None:
    queue = FairQueue("fcfs")
    order = ["a", "a", "a", "b", "a", "b"]
    for name in order:
        queue.arrive(Ticket(name, 10))
    popped = [queue.pop() for _ in order]
    assert [t.tenant for t in popped if t] == order


def test_fcfs_lets_a_heavy_tenant_take_what_it_sends() -> None:
    queue = FairQueue("fcfs")
    backlog(queue, "heavy", 90)
    backlog(queue, "light", 10)
    served = run(queue, 50)
    assert served == Counter({"heavy": 50})


def test_weight_divides_every_charge() -> None:
    queue = FairQueue("vtc", input_price=1, output_price=2)
    queue.set_weight("w4", 4)
    (ticket,) = backlog(queue, "w4", 1, prompt=40)
    assert queue.pop() is ticket
    assert queue.counter("w4") == pytest.approx(10)
    queue.charge_output(ticket, 8)
    assert queue.counter("w4") == pytest.approx(10 + 16 / 4)


def test_prepaid_output_is_settled_against_the_real_count() -> None:
    queue = FairQueue("vtc")
    ticket = Ticket("t", 10, prepaid_output=50)
    queue.arrive(ticket)
    queue.pop()
    assert queue.counter("t") == pytest.approx(10 + 2 * 50)
    queue.charge_output(ticket, 30)  # within the prepaid amount: nothing more
    assert queue.counter("t") == pytest.approx(110)
    queue.settle(ticket)  # 20 prepaid tokens never came: refunded
    assert queue.counter("t") == pytest.approx(10 + 2 * 30)
    assert queue.served("t") == (10, 30)


def test_output_beyond_the_prepaid_estimate_is_charged_as_it_streams() -> None:
    queue = FairQueue("vtc")
    ticket = Ticket("t", 0, prepaid_output=5)
    queue.arrive(ticket)
    queue.pop()
    queue.charge_output(ticket, 3)
    queue.charge_output(ticket, 4)
    queue.settle(ticket)
    assert queue.served("t") == (0, 7)


def test_a_withdrawn_request_is_never_dispatched() -> None:
    queue = FairQueue("vtc")
    first, second = backlog(queue, "t", 2)
    assert queue.withdraw(first)
    assert queue.waiting() == 1
    assert queue.pop() is second
    assert not queue.withdraw(second)  # already dispatched
    assert queue.pop() is None


def test_unknown_policy_and_bad_weight_are_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        FairQueue("lottery")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="weight"):
        FairQueue().set_weight("t", 0)
