"""The progress bar of a run (``Network.run(progress=True)`` and the ``spikesim run``
command): simulated time against wall time, drawn with tqdm (a widget in a notebook)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """A ``progress`` callback for :meth:`Network.run` showing the simulated time (s), the
    wall time (s) and their ratio, on stderr. It appears only for runs longer than ``delay``
    seconds of wall time, and draws nothing when ``enabled`` is False; :meth:`close` removes
    it."""

    def __init__(self, dt: float, enabled: bool = True, delay: float = 0.5):
        self.dt, self.bar, self.t0, self.delay = dt, None, time.perf_counter(), delay
        self.enabled = enabled

    def _open(self, total: int) -> None:
        """The tqdm bar, made at the first chunk with the run's ``total``: tqdm.notebook's
        widget (tqdm.auto's choice in Jupyter) is as long as the total it was made with, and
        a total assigned later changes its text only (made with 1, it was full from the
        first chunk on). ``miniters=1``: it is updated once per chunk, at most every
        ``mininterval`` (0.1 s), which tqdm's own estimate of the updates to skip, from
        the first chunk's, made it miss."""
        from tqdm.auto import tqdm
        waited = time.perf_counter() - self.t0
        self.bar = tqdm(total=total, file=sys.stderr, delay=max(0.0, self.delay - waited),
                        miniters=1, unit="step", leave=False, dynamic_ncols=True,
                        desc="simulating",
                        bar_format="{desc} {percentage:3.0f}%|{bar}|")

    def __call__(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` steps."""
        if not self.enabled:
            return
        if self.bar is None:
            self._open(total)
        wall = time.perf_counter() - self.t0
        sim = done * self.dt
        self.bar.total = total
        self.bar.set_description_str(
            f"simulated {sim:.3f}/{total * self.dt:.3f} s in {wall:.1f} s wall "
            f"({sim / max(wall, 1e-9):.3g}x real time)", refresh=False)
        self.bar.update(done - self.bar.n)
        if done >= total and wall >= self.delay and self.bar.last_print_n < done:  # last state
            self.bar.refresh()

    def close(self) -> None:
        """Remove the bar (a no-op when it is disabled or closed)."""
        self.enabled = False
        if self.bar is not None:
            self.bar.close()
            self.bar = None
