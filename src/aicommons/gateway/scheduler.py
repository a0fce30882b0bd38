"""The fair scheduler's bookkeeping: pure Python, no I/O, no clock, no asyncio.

`FairQueue` decides which waiting request goes next to one engine pool. With policy ``vtc`` it
is the Virtual Token Counter of Sheng et al. (OSDI 2024): each tenant has a counter of the
service it received (input tokens x ``input_price`` + output tokens x ``output_price``, divided
by the tenant's weight), and the backlogged tenant with the smallest counter goes first. With
policy ``fcfs`` requests go in arrival order; the counters are still kept, so both policies can
be compared on the same numbers.

The lift on arrival follows the paper, including the branch its artifact omits: a tenant whose
queue was empty is lifted to the smallest counter among the other backlogged tenants, or, when
nobody else is waiting, to the counter of the last tenant that left the queue (``virtual_time``).
Without it a tenant returning from idle would keep a low counter and take the engine over.

The async side (`aicommons.gateway.dispatch`) owns the concurrency limit, the waiting and the
clock; it calls `arrive`, `pop`, `charge_output`, `settle` and `withdraw`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Policy = Literal["vtc", "fcfs"]
POLICIES: tuple[Policy, ...] = ("vtc", "fcfs")


@dataclass(slots=True, eq=False)
class Ticket:
    """One request as the scheduler sees it."""

    tenant: str
    prompt_tokens: int
    # Output tokens charged before they are produced (non-streaming requests), refunded or
    # topped up by `settle` once the real count is known.
    prepaid_output: int = 0
    output_seen: int = 0
    seq: int = 0
    dispatched: bool = False


@dataclass(slots=True)
class _Tenant:
    weight: float = 1.0
    counter: float = 0.0
    waiting: deque[Ticket] = field(default_factory=deque)
    served_input: int = 0
    served_output: int = 0


class FairQueue:
    """Per-tenant counters and FIFO queues for one engine pool."""

    def __init__(
        self, policy: Policy = "vtc", *, input_price: float = 1.0, output_price: float = 2.0
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown scheduling policy {policy!r}; use one of {POLICIES}")
        self.policy: Policy = policy
        self.input_price = input_price
        self.output_price = output_price
        self.virtual_time = 0.0
        self._tenants: dict[str, _Tenant] = {}
        self._seq = 0
        self._waiting = 0

    # -- state ---------------------------------------------------------------------------

    def _tenant(self, name: str) -> _Tenant:
        tenant = self._tenants.get(name)
        if tenant is None:
            tenant = self._tenants[name] = _Tenant()
        return tenant

    def set_weight(self, tenant: str, weight: float) -> None:
        if weight <= 0:
            raise ValueError("a tenant's weight must be positive")
        self._tenant(tenant).weight = weight

    def counter(self, tenant: str) -> float:
        return self._tenant(tenant).counter

    def served(self, tenant: str) -> tuple[int, int]:
        """Input and output tokens this tenant has been charged for."""
        t = self._tenant(tenant)
        return t.served_input, t.served_output

    def waiting(self, tenant: str | None = None) -> int:
        if tenant is None:
            return self._waiting
        t = self._tenants.get(tenant)
        return len(t.waiting) if t else 0

    def backlogged(self) -> list[str]:
        return [name for name, t in self._tenants.items() if t.waiting]

    # -- events --------------------------------------------------------------------------

    def arrive(self, ticket: Ticket) -> None:
        """Queue a request, lifting its tenant's counter if its queue was empty."""
        tenant = self._tenant(ticket.tenant)
        if not tenant.waiting:
            others = [
                t.counter for n, t in self._tenants.items() if t.waiting and n != ticket.tenant
            ]
            base = min(others) if others else self.virtual_time
            tenant.counter = max(tenant.counter, base)
        self._seq += 1
        ticket.seq = self._seq
        tenant.waiting.append(ticket)
        self._waiting += 1

    def pop(self) -> Ticket | None:
        """The next request to dispatch, charged for its input; None if nobody waits."""
        chosen = self._choose()
        if chosen is None:
            return None
        tenant = chosen
        ticket = tenant.waiting.popleft()
        self._waiting -= 1
        if not tenant.waiting:
            self.virtual_time = tenant.counter
        tenant.counter += self._cost(ticket.prompt_tokens, ticket.prepaid_output) / tenant.weight
        tenant.served_input += ticket.prompt_tokens
        tenant.served_output += ticket.prepaid_output
        ticket.dispatched = True
        return ticket

    def _choose(self) -> _Tenant | None:
        best: _Tenant | None = None
        for tenant in self._tenants.values():
            if tenant.waiting and (best is None or self._before(tenant, best)):
                best = tenant
        return best

    def _before(self, a: _Tenant, b: _Tenant) -> bool:
        if self.policy == "vtc" and a.counter != b.counter:
            return a.counter < b.counter
        return a.waiting[0].seq < b.waiting[0].seq

    def charge_output(self, ticket: Ticket, num_tokens: int) -> None:
        """Output tokens streamed for a dispatched request; prepaid ones are not charged twice."""
        before = max(ticket.output_seen - ticket.prepaid_output, 0)
        ticket.output_seen += num_tokens
        after = max(ticket.output_seen - ticket.prepaid_output, 0)
        if after > before:
            self._charge(ticket.tenant, 0, after - before)

    def settle(self, ticket: Ticket) -> None:
        """At finish, refund prepaid output tokens that were never produced."""
        unused = ticket.prepaid_output - ticket.output_seen
        if unused > 0:
            self._charge(ticket.tenant, 0, -unused)
        ticket.prepaid_output = min(ticket.prepaid_output, ticket.output_seen)

    def withdraw(self, ticket: Ticket) -> bool:
        """Remove a request that is still waiting (its client left); False if it was not."""
        if ticket.dispatched:
            return False
        tenant = self._tenants.get(ticket.tenant)
        if tenant is None:
            return False
        try:
            tenant.waiting.remove(ticket)
        except ValueError:
            return False
        self._waiting -= 1
        return True

    def _cost(self, input_tokens: int, output_tokens: int) -> float:
        return self.input_price * input_tokens + self.output_price * output_tokens

    def _charge(self, name: str, input_tokens: int, output_tokens: int) -> None:
        tenant = self._tenant(name)
        tenant.counter += self._cost(input_tokens, output_tokens) / tenant.weight
        tenant.served_input += input_tokens
        tenant.served_output += output_tokens
