import asyncio

from dropship_common.workers import every


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
