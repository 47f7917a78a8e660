"""The specification's transaction pattern, written once for every service method.

    with transaction(self._uow) as uow:
        uow.images.create_image(...)

begins a transaction, commits it when the block succeeds; on a PixyProxyException it rolls
back and re-raises; on any other exception it rolls back and raises a PixyProxyException
chained ``from`` the cause (with the family's default message). A rollback that itself
fails never hides the original error.

A unit of work that writes is run through ``retried``, which runs it again, whole, when the
database says another transaction won a race for the same rows (a deadlock, or a Galera
certification conflict at commit: ``TransactionConflictError``):

    for attempt in retried(self._uow):
        with attempt as uow:
            uow.limits.hit(...)

Only database work goes inside: a provider call never does, so nothing paid for is ever
asked for twice.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import TypeVar

from pixyproxy_cli.core.exceptions import PixyProxyException, TransactionConflictError
from pixyproxy_cli.data.db.context import UnitOfWork

logger = logging.getLogger(__name__)
_RANDOM = random.Random()  # noqa: S311 - it spreads load; it guards no secret
"""The retries' own generator: they never draw from (or disturb) the program's global one."""

T = TypeVar("T")

UnitOfWorkFactory = Callable[[], UnitOfWork]
"""How a service opens a unit of work: ``partial(DatabaseContext, database)``, or a fake."""


@contextmanager
def transaction(uow: UnitOfWorkFactory, *, write: bool = False) -> Iterator[UnitOfWork]:
    """Run the block in one transaction of a new unit of work, given to the block.

    ``write`` for a block that writes (``retried`` says so). See the module docstring.
    Raises PixyProxyException.
    """
    try:
        with uow() as db:
            try:
                db.begin_transaction(write=write)
                yield db
                db.commit_transaction()
            except PixyProxyException:
                logger.debug("transaction failed; rolling back", exc_info=True)
                _rollback_quietly(db)
                raise
            except Exception as error:
                logger.exception("unexpected error in a transaction; rolling back")
                _rollback_quietly(db)
                raise PixyProxyException() from error
    except PixyProxyException:
        raise
    except Exception as error:
        # Entering or leaving the context failed outside the transaction body.
        raise PixyProxyException() from error


_retried = 0
_retried_lock = threading.Lock()


def retries() -> int:
    """How many times this process ran a unit of work again (``GET /metrics``)."""
    return _retried


MAX_ATTEMPTS = 10
"""How often ``retried`` runs a unit of work that keeps losing races, in all."""
FIRST_BACKOFF = 0.005
"""The first wait before running it again, in seconds; doubled each time, with jitter."""
MAX_BACKOFF = 0.5
"""The longest wait between two attempts, in seconds."""


class Attempt(AbstractContextManager[UnitOfWork]):
    """One run of a unit of work in ``retried``: a ``transaction`` that may be run again."""

    def __init__(self, uow: UnitOfWorkFactory, number: int, last: bool) -> None:
        self._transaction = transaction(uow, write=True)
        self.number = number
        self._last = last
        self.done = False
        self.conflict: TransactionConflictError | None = None

    def __enter__(self) -> UnitOfWork:
        return self._transaction.__enter__()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        try:
            suppressed = self._transaction.__exit__(kind, error, traceback)
        except TransactionConflictError as conflict:  # lost at commit
            if self._last:
                raise
            self.conflict = conflict
            return True  # rolled back whole: ``retried`` runs it again
        if kind is None:
            self.done = True
            return False
        if isinstance(error, TransactionConflictError) and not suppressed and not self._last:
            self.conflict = error  # lost during a statement; rolled back whole
            return True
        return bool(suppressed)


def retried(
    uow: UnitOfWorkFactory,
    *,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[float, float], float] = _RANDOM.uniform,
) -> Iterator[Attempt]:
    """Attempts at one unit of work, until one commits (see the module docstring).

    Between two attempts it waits a random time up to an exponentially growing bound (full
    jitter), so that the losers of a race do not meet again. Raises TransactionConflictError
    when the last attempt loses too, and whatever else the work raises, at once.
    """
    for number in range(1, attempts + 1):
        attempt = Attempt(uow, number, last=number == attempts)
        yield attempt
        if attempt.done or attempt.conflict is None:
            return  # committed, or the caller did not run it: nothing to run again
        global _retried
        with _retried_lock:
            _retried += 1
        logger.info(
            "transaction conflict (attempt %d of %d), running it again: %s",
            number,
            attempts,
            attempt.conflict.message,
        )
        sleep(jitter(0, min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (number - 1))))


def _rollback_quietly(db: UnitOfWork) -> None:
    try:
        db.rollback_transaction()
    except Exception:
        logger.debug("rollback failed", exc_info=True)


def keyset_pages(
    uow: UnitOfWorkFactory,
    read: Callable[[UnitOfWork, int, int], Sequence[T]],
    key: Callable[[T], int],
    size: int,
) -> Iterator[Sequence[T]]:
    """Every row ``read(uow, after_id, limit)`` gives, page by page, by ascending id.

    Each page is read in a short transaction of its own, so no connection is held while the
    caller works on it; ``key`` is a row's id, the next page starts after the last one's.
    Keyset paging never skips or repeats a row. Raises PixyProxyException.
    """
    after_id = 0
    while True:
        with transaction(uow) as opened:
            page = read(opened, after_id, size)
        if page:
            yield page
        if len(page) < size:
            return
        after_id = key(page[-1])
