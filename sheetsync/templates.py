"""Where the report and email templates are found, and a digest of their files.

The search path is the directories a caller names, then ``[report]
template_dir``, then the built-in templates (the checkout's
``report_templates/``, or the installed ``sheetsync.report_templates``
package). Jinja and WeasyPrint live in ``sheetsync.report``; this module
imports nothing heavy, so ``sheetsync send`` can tell from the template files
whether a pack changed without loading either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .config import Config
from .errors import ConfigError

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "report_templates"


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
