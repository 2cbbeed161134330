import asyncio
import gc

from dropship_common.runtime import tune_gc
from dropship_common.workers import Backlog, drain_forever, every


async def test_every_keeps_going_after_an_error() -> None:
    calls: list[int] = []
    done = asyncio.Event()

    async def step() -> dict[str, int]:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("database away")
        if len(calls) == 3:
            done.set()
        return {"handled": 1}

    task = asyncio.create_task(every("test", 0, step))
    await asyncio.wait_for(done.wait(), 5)
    task.cancel()
    assert calls[:3] == [0, 1, 2]


class _Signal:
    """Stands in for a CommitSignal: never woken, so a short batch waits out the poll."""

    def __init__(self) -> None:
        self.pending = False

    async def wait(self, at_most: float) -> None:
        await asyncio.sleep(at_most)


class _BusySignal:
    """A CommitSignal with more committed while each step ran (a burst shared with
    replicas: every batch short, yet more keeps coming) until ``pending`` goes False."""

    def __init__(self) -> None:
        self.pending = True

    async def wait(self, at_most: float) -> None:
        if not self.pending:
            await asyncio.sleep(at_most)


async def urgent_then_mail(batches: list[int], signal: _Signal | _BusySignal) -> list[str]:
    """An urgent worker handling ``batches`` (its signal says whether more is waiting)
    and a mailer giving way to it: the order in which they worked. The urgent worker
    is in its first step when the mailer starts; its signal goes quiet after the last
    batch."""
    backlog = Backlog()
    order: list[str] = []
    left = list(batches)
    mail_sent = asyncio.Event()

    async def urgent() -> int:
        n = left.pop(0) if left else 0
        if n:
            order.append(f"urgent:{n}")
        if not left:
            signal.pending = False  # the burst is over
        return n

    async def mail() -> int:
        order.append("mail")
        mail_sent.set()
        return 0

    backlog.working()
    tasks = [
        asyncio.create_task(
            drain_forever("urgent", urgent, signal, poll_seconds=30, batch_size=50, backlog=backlog)
        ),
        asyncio.create_task(
            drain_forever(
                "mail", mail, _Signal(), poll_seconds=30, batch_size=50, give_way_to=[backlog]
            )
        ),
    ]
    await asyncio.wait_for(mail_sent.wait(), 5)
    for task in tasks:
        task.cancel()
    assert not backlog.busy
    return order


async def test_a_worker_gives_way_while_another_has_a_backlog() -> None:
    # two full batches, then a short one
    assert await urgent_then_mail([50, 50, 10], _Signal()) == [
        "urgent:50",
        "urgent:50",
        "urgent:10",
        "mail",
    ]


async def test_short_batches_with_more_signalled_still_hold_the_other_worker_back() -> None:
    # a replica took the rest of each batch, and more kept coming
    assert await urgent_then_mail([3, 5, 2], _BusySignal()) == [
        "urgent:3",
        "urgent:5",
        "urgent:2",
        "mail",
    ]


async def test_giving_way_is_bounded_so_the_other_worker_is_never_starved() -> None:
    backlog = Backlog()
    backlog.working()  # busy, and nobody reports it quiet again
    ran = asyncio.Event()

    async def mail() -> int:
        ran.set()
        return 0

    task = asyncio.create_task(
        drain_forever(
            "mail",
            mail,
            _Signal(),
            poll_seconds=30,
            batch_size=50,
            give_way_to=[backlog],
            give_way_seconds=0.05,
        )
    )
    await asyncio.wait_for(ran.wait(), 5)
    task.cancel()
    assert backlog.busy


def test_tune_gc_freezes_what_is_loaded_and_collects_young_objects_less_often() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold()[0] == 50_000
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_giving_way_to_several_waits_for_each_within_one_bound() -> None:
    first, second = Backlog(), Backlog()
    first.working()
    second.working()
    ran = asyncio.Event()

    async def mail() -> int:
        ran.set()
        return 0

    task = asyncio.create_task(
        drain_forever(
            "mail", mail, _Signal(), poll_seconds=30, batch_size=50, give_way_to=[first, second]
        )
    )
    await asyncio.sleep(0)
    first.idle()  # the first is quiet now; the second still busy
    for _ in range(20):  # turns of the loop enough for the mailer to run if it may
        await asyncio.sleep(0)
    assert not ran.is_set()
    second.idle()
    await asyncio.wait_for(ran.wait(), 5)
    task.cancel()
