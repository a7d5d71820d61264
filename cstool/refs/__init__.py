"""Customer references: finding the right advocate, the request workflow, and the reports.

* :mod:`~cstool.refs.find`: ``refs find``. The filters (industry, segment, region, employees,
  feature), the eligibility rules of ``refs.rules`` in ``cstool.yaml`` (each named, in a fixed
  order, the first that fails excluding the account) and the ranking by ``refs.weights``.
* :mod:`~cstool.refs.workflow`: the seven steps of a request as an explicit state machine,
  each step timestamped, the "Ref Request" CTA that carries it, ``refs status`` and the
  weekly follow-up.
* :mod:`~cstool.refs.emails`: the alert, the ask and the follow-up rendered into the outbox.
* :mod:`~cstool.refs.report`: references completed, influenced pipeline, win rates and deal
  cycles with and without references, credit per CSM and time to fulfil a request.

The references export and the opportunities export are the history; requests recorded with
the workflow add to it (:func:`cstool.store.refs.references` reads both).
"""

from __future__ import annotations

LEVELS = ("CXO", "VP", "Director", "Manager", "Staff", "Admin")
"""Levels a request may ask for: the users export's levels, and Admin (the contact's role)."""


def canonical_level(level: str) -> str | None:
    """``level`` spelled as in :data:`LEVELS` (any case), or None when it is not one."""
    wanted = level.strip().casefold()
    return next((v for v in LEVELS if v.casefold() == wanted), None)


def at_level(contact_level: str | None, contact_role: str | None, level: str | None) -> bool:
    """Whether a contact is at the requested ``level`` (any level when None).

    Admin is the contact's role (the hands-on owner of the product); the other levels are the
    users export's ``level`` column. Both match in any case.
    """
    if level is None:
        return True
    if level.casefold() == "admin":
        return (contact_role or "").strip().casefold() == "admin"
    return (contact_level or "").strip().casefold() == level.casefold()


def closed_stage(stage: str | None, is_won: object) -> bool:
    """Whether an opportunity is closed: won (``is_won``, or the stage "Closed Won"), or a
    stage starting "Closed" (Closed Lost), in any case. The report reads deals the same way."""
    text = (stage or "").strip().casefold()
    return bool(is_won) or text.startswith("closed")
