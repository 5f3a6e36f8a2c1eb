"""The report as PDF: the one home of WeasyPrint, run in a forked child under a deadline.

WeasyPrint may only fetch files inside the template directories and the
configured logo (no network, no other file); it is imported inside the
functions that use it, so ``import sheetsync.report`` stays cheap.
"""

from __future__ import annotations

import functools
import gc
import logging
import mimetypes
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import RenderTimeoutError, SheetsyncError
from ..progress import Progress
from .context import ReportContext
from .templates import render_html, template_dirs_for

DEFAULT_TIMEOUT = 120.0  # seconds for WeasyPrint to lay out and write one PDF


def _url_fetcher(allowed: Sequence[Path]):
    """A WeasyPrint URL fetcher that serves data: URIs and files inside ``allowed``
    (directories or single files) and refuses everything else."""
    from urllib.parse import unquote, urlsplit

    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = [p.resolve() for p in allowed]

    class SafeFetcher(URLFetcher):
        refused: list[str]

        def __init__(self) -> None:
            super().__init__(timeout=1, allowed_protocols=("file", "data"))
            self.refused = []

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            parts = urlsplit(url)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(unquote(parts.path)).resolve()
                inside = any(path == r or (r.is_dir() and path.is_relative_to(r)) for r in roots)
                if inside and path.is_file():
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        path.as_uri(), path.read_bytes(), {"Content-Type": mime}
                    )
            self.refused.append(url)
            raise ValueError(f"sheetsync reports may not load {url}")

    return SafeFetcher()


class _LayoutProgress:
    """Passes WeasyPrint's progress log ("Step 5 - Creating layout - Page 3")
    on as "laying out the PDF · page 3" while installed (a context manager)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.logger = logging.getLogger("weasyprint.progress")
        self.handler = logging.Handler(logging.INFO)
        self.handler.emit = self._emit  # type: ignore[method-assign]

    def _emit(self, record: Any) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if "Creating layout - Page" in str(record.msg) and args:
            self.progress(f"laying out the PDF · page {args[0]}")

    def __enter__(self) -> _LayoutProgress:
        self.level, self.propagate = self.logger.level, self.logger.propagate
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False  # these INFO lines are for the status line only
        self.logger.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)
        self.logger.propagate = self.propagate


class _FewerCollections:
    """Raises the garbage collector's thresholds while installed (a context manager).

    WeasyPrint allocates millions of short-lived objects while the layout's
    boxes stay alive, so the default thresholds run the collector hundreds of
    times per report, each older-generation pass walking everything still
    alive: over a tenth of the weekly report's render (issue 18). Cycles are
    still collected, just less often."""

    THRESHOLDS = (50_000, 20, 100)

    def __enter__(self) -> _FewerCollections:
        self.saved = gc.get_threshold()
        gc.set_threshold(*self.THRESHOLDS)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.set_threshold(*self.saved)


@functools.cache
def _html_class() -> type:
    """WeasyPrint's HTML with a leaner user-agent stylesheet, built once.

    The stock sheet gives *every* element six pseudo-elements with a cascaded
    style (``::marker``, ``::footnote-call``, ``::footnote-marker``, ``::note-*``),
    each styled on its own: ~31,000 styles for the weekly benchmark's 5,200
    elements (issue 18). The reports use no footnotes or notes and only list
    items have markers, so those rules go, ``::marker`` becomes ``li::marker``,
    and the PDF is byte for byte the same. Where the packaged sheet cannot be
    read, the stock class is used."""
    import re

    import weasyprint
    from weasyprint import CSS, HTML

    path = Path(weasyprint.__file__).parent / "css" / "html5_ua.css"
    try:
        stock = path.read_text(encoding="utf-8")
    except OSError:
        return HTML
    lean = re.sub(r"^::(?:footnote|note)-[a-z-]+ \{[^}]*\}\n", "", stock, flags=re.M)
    lean = lean.replace("\n::marker {", "\nli::marker {")
    if lean == stock:
        return HTML
    sheet = CSS(string=lean, base_url=path.as_uri())

    class LeanHTML(HTML):
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [sheet, *super()._ua_stylesheets(forms)[1:]]

    return LeanHTML


def _write_pdf(
    html: str, base_url: str, allowed: Sequence[Path], epoch: int, progress: Progress | None = None
) -> bytes:
    with _FewerCollections():
        return _layout_pdf(html, base_url, allowed, epoch, progress)


def _layout_pdf(
    html: str, base_url: str, allowed: Sequence[Path], epoch: int, progress: Progress | None = None
) -> bytes:
    HTML = _html_class()  # noqa: N806 - WeasyPrint's HTML, leaner
    fetcher = _url_fetcher(allowed)
    # Reproducible bytes: a fixed /ID; creation/modification dates from
    # <meta name=dcterms.created/modified> (the as-of day); and fontTools, which
    # stamps "now" into each embedded font subset's head table unless
    # SOURCE_DATE_EPOCH is set.
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    options = {"pdf_identifier": b"sheetsync-report"}
    try:
        if progress is None:
            doc = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
            return doc.write_pdf(**options)
        # HTML.write_pdf is render() then Document.write_pdf(): done in two
        # steps here to say how far the layout got and how many pages it made.
        progress("laying out the PDF")
        with _LayoutProgress(progress):
            doc = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
            document = doc.render(**options)
        n = len(document.pages)
        progress(f"writing the PDF ({n} page{'s' if n != 1 else ''})")
        return document.write_pdf(**options)
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def _child(fn: Callable[..., bytes], conn, relay: bool) -> None:  # pragma: no cover - in the fork
    try:
        result = fn(lambda *args: conn.send(("progress", args))) if relay else fn()
        conn.send(("ok", result))
    except BaseException as e:  # noqa: BLE001 - report anything to the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def run_with_deadline(
    fn: Callable[..., bytes],
    timeout: float | None,
    what: str,
    progress: Progress | None = None,
) -> bytes:
    """Run ``fn`` in a forked child; kill it after ``timeout`` seconds.

    WeasyPrint's layout is pure Python and C (Pango/HarfBuzz) with no cancel
    hook; a thread cannot be stopped, a signal cannot interrupt C code and
    only works in the main thread. A forked child shares the parent's already
    imported modules and font caches (cheap to start, ~10 ms) and is killed
    outright when it overruns. Where fork is unavailable the render runs
    in-process without a limit.

    With ``progress``, ``fn`` is called with a progress callback (in the child,
    one that sends each call back to be passed to ``progress`` here).
    """
    if timeout is None or not hasattr(os, "fork"):
        return fn(progress) if progress else fn()
    import multiprocessing
    import time as clock

    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, send, progress is not None), daemon=True)
    # Frozen, the parent's objects are not walked by the child's collections,
    # which would otherwise touch (and so copy) every page of the shared heap.
    gc.freeze()
    try:
        proc.start()
    finally:
        gc.unfreeze()
    send.close()
    deadline = clock.monotonic() + timeout
    try:
        while True:
            if not recv.poll(max(0.0, deadline - clock.monotonic())):
                proc.kill()
                proc.join()
                raise RenderTimeoutError(
                    f"rendering {what} took longer than {timeout:g} s and was stopped",
                    hint="a template may be looping or the report too long; shorten it",
                )
            try:
                status, payload = recv.recv()
            except EOFError:
                proc.join()
                raise SheetsyncError(
                    f"rendering {what} failed: the renderer exited with code {proc.exitcode}"
                ) from None
            if status != "progress":
                break
            if progress:
                progress(*payload)
    finally:
        recv.close()
    proc.join()
    if status != "ok":
        raise SheetsyncError(f"rendering {what} failed: {payload}")
    return payload


def render_pdf(
    context: ReportContext,
    config: Config,
    *,
    template_dirs: Sequence[str | Path] = (),
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> bytes:
    """The report as PDF bytes; the same context gives the same bytes.
    ``progress(message, done=None, total=None)`` hears the layout's steps."""
    html = render_html(context, config, template_dirs=template_dirs)
    dirs = template_dirs_for(config, template_dirs)
    allowed = list(dirs) + ([config.report.logo] if config.report.logo else [])
    base_url = dirs[0].as_uri() + "/"
    epoch = int(datetime.combine(context.meta.as_of, time(), tzinfo=UTC).timestamp())
    return run_with_deadline(
        lambda report=None: _write_pdf(html, base_url, allowed, epoch, report),
        timeout,
        f"the {context.meta.name} report",
        progress,
    )
