"""Journeys: tech-touch lifecycle email to many customers, sent exactly once, measured.

* :mod:`~cstool.journeys.definitions`: ``journeys/*.yaml`` into validated models (steps, due
  rules, variants, holdout, re-entry).
* :mod:`~cstool.journeys.due`: who is due for which step on a date, and why the others are
  not (already sent, held out, suppressed, capped, limited).
* :mod:`~cstool.journeys.render`: the template context of each recipient and the message.
* :mod:`~cstool.journeys.send`: the batch: render, ledger, Maildir outbox, SMTP delivery,
  completion after a crash, and ``resolve`` for unknown outcomes.
* :mod:`~cstool.journeys.overview`: ``journey list``, ``show`` and ``validate``.

The send ledger lives in :mod:`cstool.store.sends`; message building, the Maildir and SMTP in
:mod:`cstool.mail`.
"""
