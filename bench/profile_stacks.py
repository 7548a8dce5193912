"""Reading py-spy's raw (collapsed) stacks: one line per distinct stack, `f1;f2;…;fn N`.

Pure functions over the text, so `bench.profile` prints the same summaries a later
reader can recompute from the saved files.
"""

from __future__ import annotations

import collections

LOOP_FRAME = "Runner.run ("  # the event loop's frame: what follows is one task's coroutine
IDLE_WORKER = "_worker (concurrent/futures/thread.py"  # the default executor, waiting


def _stacks(collapsed: str) -> list[tuple[list[str], int]]:
    out = []
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            out.append((stack.split(";"), int(count)))
    return out


def top(collapsed: str, limit: int = 25) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(self, inclusive) sample counts per function."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, n in _stacks(collapsed):
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return own.most_common(limit), inclusive.most_common(limit)


def by_task(collapsed: str, limit: int = 20) -> tuple[int, list[tuple[str, int]]]:
    """(samples on the event loop's thread, [(task, samples)]): each stack counted under
    the frame the loop resumed (the task's outermost coroutine or callback; "(loop)"
    for the loop's own work). Idle executor threads are left out: in py-spy's blocking
    mode they show as busy."""
    tasks: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, n in _stacks(collapsed):
        if frames[-1].startswith(IDLE_WORKER):
            continue
        total += n
        at = next((i for i, f in enumerate(frames) if f.startswith(LOOP_FRAME)), None)
        if at is None:
            tasks[frames[0]] += n
        elif at == len(frames) - 1:
            tasks["(loop)"] += n
        else:
            tasks[frames[at + 1]] += n
    return total, tasks.most_common(limit)
