"""The specification's transaction pattern, written once for every service method.

    with transaction(self._uow) as uow:
        uow.images.create_image(...)

begins a transaction, commits it when the block succeeds; on a PixyProxyException it rolls
back and re-raises; on any other exception it rolls back and raises a PixyProxyException
chained ``from`` the cause (with the family's default message). A rollback that itself
fails never hides the original error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from pixyproxy_cli.core.exceptions import PixyProxyException
from pixyproxy_cli.data.db.context import UnitOfWork

logger = logging.getLogger(__name__)

T = TypeVar("T")

UnitOfWorkFactory = Callable[[], UnitOfWork]
"""How a service opens a unit of work: ``partial(DatabaseContext, database)``, or a fake."""


@contextmanager
def transaction(uow: UnitOfWorkFactory) -> Iterator[UnitOfWork]:
    """Run the block in one transaction of a new unit of work, given to the block.

    See the module docstring. Raises PixyProxyException.
    """
    try:
        with uow() as db:
            try:
                db.begin_transaction()
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
