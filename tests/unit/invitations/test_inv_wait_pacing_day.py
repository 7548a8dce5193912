"""A simulated day (bench/wait_pacing.py): pacing by predicted wait against a
capacity-only gate, through the engine's own gate. Seeded, so the figures are exact."""

from bench.wait_pacing import BOTH, CAPACITY_ONLY, PREDICTED_WAIT, DayReport, main, simulate


def test_the_seeded_day_leaves_no_accepted_invitation_unanswered(capsys):
    capacity = simulate("capacity only", CAPACITY_ONLY)
    both = simulate("capacity + wait < 10 s", BOTH)
    assert capacity == DayReport("capacity only", 1293, 380, 2, 24, 0)
    assert both.accepted_unanswered == 0
    assert (both.offered, both.accepted) == (678, 188)
    # Wait alone offers fewer than capacity alone but, blind to free slots, is no safer.
    assert simulate("wait", PREDICTED_WAIT).offered == 864
    main(seeds=3)
    print(capsys.readouterr().out)  # the report, in the test log


def test_over_many_days_the_wait_gate_leaves_fewer_unanswered():
    days = range(20)
    capacity = [simulate("c", CAPACITY_ONLY, seed) for seed in days]
    both = [simulate("b", BOTH, seed) for seed in days]
    assert sum(d.accepted_unanswered for d in capacity) == 19
    assert sum(d.accepted_unanswered for d in both) == 2
