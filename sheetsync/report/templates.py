"""The one Jinja environment of reports and mail: where templates are found, how they render.

The search path is the directories a caller names, then ``[report]
template_dir``, then the built-in templates (the checkout's
``report_templates/``, or the installed ``sheetsync.report_templates``
package). Jinja is imported inside the functions that use it: the search path
and :func:`files_digest` need nothing heavy, so ``sheetsync send`` can tell
from the template files whether a pack changed without loading Jinja.

Safety: autoescape is on, undefined variables are errors, and cell text is
never compiled as a template.
"""

from __future__ import annotations

import functools
import hashlib
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import metrics as m
from ..config import Config
from ..errors import ConfigError, UsageError
from ..formatting import Formatter
from .units import show, show_rate

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

    from .context import ReportContext

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "report_templates"


def builtin_dir() -> Path:
    """The built-in templates: the checkout's report_templates/, or the installed package."""
    if (BUILTIN_TEMPLATES / "base.html").is_file() and (
        BUILTIN_TEMPLATES / "weekly.html"
    ).is_file():
        return BUILTIN_TEMPLATES
    from importlib.resources import files

    return Path(str(files("sheetsync.report_templates")))


def template_dirs_for(config: Config, template_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """Template search path: the given dirs, then config's template_dir, then the built-ins."""
    dirs = [Path(d).resolve() for d in template_dirs]
    if config.report.template_dir:
        dirs.append(Path(config.report.template_dir).resolve())
    for d in dirs:
        if not d.is_dir():
            raise ConfigError(f"template directory {d} does not exist")
    dirs.append(builtin_dir().resolve())
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def files_digest(paths: Iterable[Path]) -> str:
    """SHA-256 over the files at ``paths``, in order: a file's bytes; a folder's
    files (every level, by relative path, ``__pycache__`` left out) with their
    names; a missing path as missing. Equal digests mean equal files."""
    h = hashlib.sha256(b"sheetsync-files-v1\0")
    for path in paths:
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            )
            h.update(b"dir\0%d\0" % len(files))
            for f in files:
                _add(h, f.relative_to(path).as_posix().encode(), f.read_bytes())
        elif path.is_file():
            _add(h, b"file", path.read_bytes())
        else:
            h.update(b"missing\0")
    return h.hexdigest()


def _add(h: Any, name: bytes, data: bytes) -> None:
    h.update(b"%d\0%s%d\0" % (len(name), name, len(data)))
    h.update(data)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def build_environment(dirs: Sequence[Path], fmt: Formatter) -> jinja2.Environment:
    """The one Jinja environment: user dirs first, built-ins last (also reachable as
    ``builtin/NAME`` so a user template can extend the built-in of the same name),
    autoescape on, undefined variables are errors."""
    import jinja2

    builtin = dirs[-1]
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader([str(d) for d in dirs]),
            jinja2.PrefixLoader({"builtin": jinja2.FileSystemLoader(str(builtin))}),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,  # a template edited in a long-lived process is recompiled
    )
    env.filters.update(fmt.filters())
    env.filters.update(
        goal=lambda v, unit: show(v, unit, fmt),
        goal_rate=lambda weekly, unit: show_rate(weekly, unit, fmt),
    )
    env.globals.update(
        rag_label=lambda s: m.RAG_LABELS.get(s, s),
        category_label=lambda c: m.CATEGORY_LABELS.get(c, c),
        short=_short,
    )
    return env


def environment(dirs: Sequence[Path], config: Config) -> jinja2.Environment:
    """The Jinja environment of these template dirs and the config's formatting
    (:meth:`Formatter.for_config`), built once per process and shared by reports
    and mail, so each template is compiled once (and again only when edited)."""
    return _environment(tuple(dirs), *Formatter.settings(config))


@functools.lru_cache(maxsize=16)
def _environment(
    dirs: tuple[Path, ...], locale: str, currency: str, bounds: tuple[float, ...]
) -> jinja2.Environment:
    return build_environment(dirs, Formatter(locale, currency, bounds))


def template_error(e: Exception, dirs: Sequence[Path]) -> ConfigError:
    """A ConfigError naming the template file and line of a Jinja error."""
    import jinja2

    if isinstance(e, jinja2.TemplateSyntaxError):
        where = f"{e.filename or e.name}:{e.lineno}"
        return ConfigError(f"template error at {where}: {e.message}", hint="fix the template")
    if isinstance(e, jinja2.TemplateNotFound):
        return ConfigError(
            f"template {e.name!r} not found",
            hint="template directories: " + ", ".join(str(d) for d in dirs),
        )
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if any(f.filename.startswith(str(d)) for d in dirs) or f.filename.startswith("<template>")
    ]
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "a template"
    kind = "undefined variable" if isinstance(e, jinja2.UndefinedError) else type(e).__name__
    return ConfigError(f"template error at {where}: {kind}: {e}", hint="fix the template")


def render_html(
    context: ReportContext, config: Config, *, template_dirs: Sequence[str | Path] = ()
) -> str:
    """The report as one self-contained HTML document (styles inline, logo as data: URI)."""
    import jinja2

    dirs = template_dirs_for(config, template_dirs)
    env = environment(dirs, config)
    name = context.meta.name
    try:
        template = env.get_template(f"{name}.html")
    except jinja2.TemplateNotFound:
        known = sorted(
            {p.stem for d in dirs for p in d.glob("*.html") if not p.name.startswith(("_", "base"))}
        )
        raise UsageError(f"no report named {name!r}", hint=f"reports: {', '.join(known)}") from None
    except jinja2.TemplateError as e:
        raise template_error(e, dirs) from None
    try:
        return template.render(**context.variables())
    except jinja2.TemplateError as e:
        raise template_error(e, dirs) from None
