"""One protected report computation per agency at a time, each answered within a deadline.

A new answer to ``GET /v1/report`` is computed knowing every answer already
released for a linked period (:mod:`fama_adapters.report.ledger`), which can
take longer than a request may wait. :class:`ReportDesk` runs the computation
in a thread of its own and waits for it until the request's deadline; past it
the caller is told to ask again (503 ``report-pending`` with ``Retry-After``)
while the computation carries on. When it ends, its answer is in the ledger,
so the same question asked again is answered from there at once.

Computations of one agency run one at a time: each new answer must know the
one before it, and a queue of them would only hold threads. A question asked
while another of the same agency is being computed waits for it until the
deadline, then is told the service is busy (503 ``report-busy``). Nothing is
kept between processes but the ledger: with several instances, the ledger's
compare-and-append orders their answers
(:meth:`~fama_adapters.store.ReportLedger.add_to_ledger`).

A computation that ends in a refusal keeps nothing in the ledger, so its refusal is
remembered with the caller's *stamp* of what it depended on (the ledger's length and the
records' digest): the same question asked again on the same state is refused at once. Without
it a caller told ``report-pending`` who comes back after the refusal would start the
computation again, and again, and never hear the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Busy", "Pending", "ReportDesk"]

_REMEMBERED = 256
"""At most this many refusals are remembered (a new one lets the oldest go)."""


def _clone(error: BaseException) -> BaseException:
    """A new exception equal to ``error``, without its traceback (``copy.copy`` would call an
    ``__init__`` that may take keywords only)."""
    fresh = type(error).__new__(type(error), *error.args)
    fresh.__dict__.update(vars(error))
    return fresh


_T = TypeVar("_T")


class Pending(Exception):
    """This question's computation is under way; ask again later."""


class Busy(Exception):
    """Another question of the agency is being computed; ask again later."""


@dataclass
class _Job(Generic[_T]):
    key: str
    done: threading.Event = field(default_factory=threading.Event)
    result: _T | None = None
    error: BaseException | None = None


class ReportDesk(Generic[_T]):
    """At most one computation per agency, each waited for until a deadline."""

    def __init__(self, remember: tuple[type[BaseException], ...] = ()) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job[_T]] = {}
        self._remember = remember
        self._refused: dict[tuple[str, str], tuple[object, BaseException]] = {}

    def running(self, agency: str) -> bool:
        """Whether a computation of ``agency`` is under way."""
        with self._lock:
            job = self._jobs.get(agency)
            return job is not None and not job.done.is_set()

    def answer(
        self,
        agency: str,
        key: str,
        work: Callable[[], _T],
        deadline: float,
        stamp: object = None,
    ) -> _T:
        """The result of ``work`` for question ``key``, started now or already under way.

        ``deadline`` is a :func:`time.monotonic` instant. Raises :class:`Pending`
        when this question's computation has not ended by then (it carries on),
        :class:`Busy` when another question's had not ended, and whatever
        ``work`` raised. An error of a ``remember`` type that a computation of
        ``key`` with the same ``stamp`` raised is raised again at once.
        """
        while True:
            with self._lock:
                seen = self._refused.get((agency, key))
                if seen is not None and stamp is not None and seen[0] == stamp:
                    # A new one each time: raising the stored exception again would add this
                    # request's frames (and the caseload they hold) to its traceback for good.
                    raise _clone(seen[1])
                job = self._jobs.get(agency)
                if job is None or job.done.is_set():
                    # An ended job's answer is in the ledger: a new one finds it there at once.
                    job = self._start(agency, key, work, stamp)
            left = deadline - time.monotonic()
            if not job.done.wait(max(left, 0.0)):
                raise Pending if job.key == key else Busy
            if job.key != key:
                continue  # another question's computation ended: start ours
            if job.error is not None:
                if isinstance(job.error, self._remember):
                    raise _clone(job.error)  # the job is kept: so would the frames be
                raise job.error
            assert job.result is not None
            return job.result

    def _start(self, agency: str, key: str, work: Callable[[], _T], stamp: object) -> _Job[_T]:
        job: _Job[_T] = _Job(key)

        def run() -> None:
            try:
                job.result = work()
            except BaseException as exc:  # handed to whoever waits for it
                job.error = exc
                if stamp is not None and isinstance(exc, self._remember):
                    kept = _clone(exc)  # without the computation's frames
                    with self._lock:
                        refused = self._refused
                        for old in [k for k, v in refused.items() if k[0] == agency]:
                            if refused[old][0] != stamp:  # the ledger or records moved on
                                del refused[old]
                        while len(refused) >= _REMEMBERED:
                            del refused[next(iter(refused))]  # the oldest first
                        refused[(agency, key)] = (stamp, kept)
            finally:
                job.done.set()

        self._jobs[agency] = job
        threading.Thread(target=run, name=f"fama-report-{agency}", daemon=True).start()
        return job
