"""The two report models the layout tests render: the bundled sample (this week and
last week's copy) and the 50-project benchmark model of benchmarks/bench_report.py."""

from __future__ import annotations

import importlib.util
import io
from datetime import date
from pathlib import Path

from pypdf import PdfReader

from sheetsync import report
from sheetsync.config import Config, ReportSettings, load_config
from sheetsync.reading import read_source

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
AS_OF = date(2026, 11, 30)


def sample_context(name: str, as_of: date = AS_OF) -> tuple[report.ReportContext, Config]:
    """The sample's report context (as of 30 Nov 2026), last week from the dated copy."""
    config = load_config(SAMPLES / "sheetsync.toml")
    src = config.select_sources()[0]
    now = read_source(config, src).records()
    copy = config.with_copy(SAMPLES / "sales_plan_2026-11-23.xlsx")[0]
    before = read_source(copy, copy.sources[src.name]).records()
    return report.build_context(now, before, config, name=name, as_of=as_of), config


def bench_context(name: str) -> tuple[report.ReportContext, Config]:
    """The benchmark model's report context (50 projects, 1,000 milestones, 500 reps)."""
    spec = importlib.util.spec_from_file_location(
        "bench_report", ROOT / "benchmarks" / "bench_report.py"
    )
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    model = bench.build_model()
    config = Config(path=None, sources={}, report=ReportSettings(company="Benchmark Corp"))
    ctx = report.build_context(model, bench.week_earlier(model), config, name=name, as_of=AS_OF)
    return ctx, config


def sample_pdf(name: str) -> bytes:
    return report.render_pdf(*sample_context(name))


def bench_pdf(name: str) -> bytes:
    return report.render_pdf(*bench_context(name))


def pdf_text(data: bytes) -> str:
    """A PDF's text, white space folded."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
