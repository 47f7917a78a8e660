"""The invalidations poller through a database outage: said once, not once per poll."""

from __future__ import annotations

import logging
import threading

from pixyproxy_cli.core.exceptions import DBConnectionError
from pixyproxy_cli.service.invalidations import Invalidations
from tests.fakes import FakeUnitOfWork, Journal


def test_an_outage_is_logged_once_with_its_traceback_and_its_end_once(caplog):
    stop = threading.Event()
    polls = []

    def unit_of_work():
        polls.append(1)
        if len(polls) <= 50:  # the database is down for 50 polls
            raise DBConnectionError("Cannot use the database: too many open files")
        if len(polls) == 53:
            stop.set()
        return FakeUnitOfWork(Journal())

    with caplog.at_level(logging.WARNING, logger="pixyproxy_cli.service.invalidations"):
        Invalidations(unit_of_work).run(stop, every=0)

    said = [(record.getMessage(), record.exc_info is not None) for record in caplog.records]
    assert len(said) == 2, said
    assert said[0] == ("could not read the invalidations", True)
    assert said[1][0].startswith("the invalidations are read again, after 50 failures in ")
    assert said[1][1] is False
