"""WallClockPacer: a step waits until its simulated time x rt_factor has passed on the wall clock."""

from twin.run.pacing import WallClockPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_steps_are_held_back_to_their_wall_time():
    clock = FakeClock()
    pacer = WallClockPacer(clock=clock, sleep=clock.sleep)
    pacer.start(0.01)  # 100x faster than real time
    pacer.wait(0)  # first step starts the clock
    assert clock.slept == []
    clock.now += 0.5  # the step computed for 0.5 s ...
    pacer.wait(900)  # ... the next is due 9 s after the first
    assert abs(clock.slept[-1] - 8.5) < 1e-9
    assert abs(clock.now - (100.0 + 9.0)) < 1e-9


def test_a_late_step_does_not_sleep_and_unpaced_runs_never_sleep():
    clock = FakeClock()
    pacer = WallClockPacer(clock=clock, sleep=clock.sleep)
    pacer.start(0.001)
    pacer.wait(0)
    clock.now += 5.0  # 5 s of compute for a step due after 0.9 s
    pacer.wait(900)
    assert clock.slept == []
    pacer.start(None)
    pacer.wait(10_000)
    assert clock.slept == []


def test_lateness_counts_from_when_the_first_step_was_due():
    from twin.run.hardware_link import LatenessMeter

    clock = FakeClock()
    pacer = WallClockPacer(clock=clock, sleep=clock.sleep)
    pacer.start(0.01)
    meter = LatenessMeter(0.01, clock=clock, pacer=pacer)
    pacer.wait(0)
    clock.now += 0.3  # the first step took 0.3 s to compute and record
    assert abs(meter.observe(0) - 0.3) < 1e-9
    pacer.wait(900)  # due 9 s after the start: the pacer sleeps 8.7 s
    clock.now += 0.1
    assert abs(meter.observe(900) - 0.1) < 1e-9
