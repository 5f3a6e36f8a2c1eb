"""Google Sheets as a source: constant API calls, bounded retries, clear errors.

The package, from the wire up: :mod:`.client` (gspread's HTTP client, retried,
and the API's errors in our terms: the one module importing gspread),
:mod:`.access` (credentials, the identity they run as, the spreadsheet key),
:mod:`.values` (cell values to and from the API), :mod:`.meta`, :mod:`.read`
and :mod:`.write` (the parts of :class:`.sheet.GoogleSheet`), :mod:`.sheet`
(one spreadsheet, and opening it) and :mod:`.source` (the ``Source`` protocol
over it, what sync uses).

Nothing here imports gspread or google-auth until a Google Sheet is opened.
"""
