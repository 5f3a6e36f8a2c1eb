"""The status pack by email: MIME messages, SMTP delivery, exactly once.

A *pack* is what one recipient of one recipient group gets for one period::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain     the summary as text
    │   └── text/html      the summary: headline KPIs, what needs attention
    ├── application/pdf    one per report of the group (filtered to its teams)
    └── application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
                           the model as a workbook (``attach_workbook = true``)

Its ``pack_hash`` is a SHA-256 over what the pack is made of, known before
anything is rendered (see :class:`PackBuilder`): which record versions and
reads the day's plan rests on, the report, RAG and sender settings, every file
of the template search path, the group's reports, teams and workbook, the day
and sheetsync's version. Nothing that changes between two identical runs is in
it (no clock, no recipient), so the same model, templates and config give the
same hash, and a change to any of them a new one: an "updated pack". A send
that finds every recipient's hash in the ledger answers from it and renders
nothing. The Message-ID is derived from the hash and the recipient: a resend of
the same pack carries the same Message-ID, so mail clients can fold a duplicate.

Delivery is smtplib (the only module that imports it): STARTTLS, implicit TLS
or plain, AUTH with the password from the environment variable named by
``mail.password_env`` (never from the config file, never printed), one
connection reused for all messages and re-opened after a dropped connection.
Which pack went to whom is kept in the send ledger.

The rooms, in the order a send goes through them::

    pack.py      which pack each recipient gets (PackBuilder, pack_hash, Message-ID),
                 the recipient groups and recipients of a send
    content.py   what a pack holds, rendered once per group: PDFs, workbook, summary
    summary.py   the summary's subject, variables and text/HTML bodies
    workbook.py  the model as an .xlsx attachment
    message.py   Pack and PackContent, the MIME message, the ledger's period
    send.py      the send loop and the dry run's outbox
    smtp.py      the SMTP session (the only user of smtplib)
    ledger.py    the send ledger: exactly once per week, recipient and pack
"""
