"""bench/profile_stacks.py: summaries of py-spy's collapsed stacks."""

from __future__ import annotations

from bench.profile_stacks import by_task, top

LOOP = "main (server/cli.py:389);run (uvloop/__init__.py:92);Runner.run (asyncio/runners.py:118)"
IDLE = "Thread._bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:81)"
STACKS = "\n".join(
    [
        f"{LOOP};_run (server/ws_protocol.py:417);on_hello (server/hub/visitor/hello.py:90) 30",
        f"{LOOP};_run (server/ws_protocol.py:417);on_behaviour (server/hub/visitor/b.py:50) 20",
        f"{LOOP};BatchQueue._run (server/broker/batch_queue.py:130) 25",
        f"{LOOP} 25",
        f"{IDLE} 400",
        "",
    ]
)


def test_by_task_counts_each_stack_under_the_frame_the_loop_resumed() -> None:
    on_loop, tasks = by_task(STACKS)
    assert on_loop == 100  # the idle executor thread is left out
    assert tasks == [
        ("_run (server/ws_protocol.py:417)", 50),
        ("BatchQueue._run (server/broker/batch_queue.py:130)", 25),
        ("(loop)", 25),
    ]


def test_top_counts_self_and_inclusive_samples() -> None:
    own, inclusive = top(STACKS, limit=10)
    assert own[0] == ("_worker (concurrent/futures/thread.py:81)", 400)
    assert dict(own)["Runner.run (asyncio/runners.py:118)"] == 25
    assert dict(inclusive)["Runner.run (asyncio/runners.py:118)"] == 100
    assert dict(inclusive)["_run (server/ws_protocol.py:417)"] == 50
