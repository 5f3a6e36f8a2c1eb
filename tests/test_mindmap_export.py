"""`sheetsync export --format xmind|mm|opml`: the live plan as a mind map, read back
by sheetsync (round trip) and by an independent reader (xmindparser)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import SHARED, require_shared

from sheetsync.config import load_config
from sheetsync.store import Store

MINDMAPS = SHARED / "corpus" / "mindmaps"
AS_OF = "2026-11-30"
PLAN_TABLES = ("projects", "milestones", "tasks")


@pytest.fixture
def pulled(sample_dir: Path, run_cli) -> Path:
    r = run_cli("--config", sample_dir / "sheetsync.toml", "pull")
    assert r.exit_code == 0, r.output
    return sample_dir


def export(run_cli, d: Path, name: str, *extra: str) -> Path:
    out = d / name
    r = run_cli("--config", d / "sheetsync.toml", "export", "-o", out, "--as-of", AS_OF, *extra)
    assert r.exit_code == 0, r.output
    assert f"Wrote {out} (38 nodes)" in r.output  # 2 projects, 20 milestones, 16 tasks
    return out


def records(cfg: Path) -> dict[str, list[dict]]:
    store = Store(load_config(cfg).default_db_url())
    try:
        return {t: sorted(store.records(t), key=lambda r: r["key"]) for t in PLAN_TABLES}
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["xmind", "mm", "opml"])
def test_export_pulls_back_into_the_same_model(pulled, run_cli, tmp_path, fmt):
    out = export(run_cli, pulled, f"plan.{fmt}")
    back = tmp_path / "back"
    back.mkdir()
    cfg = back / "sheetsync.toml"
    cfg.write_text(f'[sources.goals]\nkind = "mindmap"\npath = "{out}"\nskip_root = true\n')
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "projects: 2 new; milestones: 20 new; tasks: 16 new" in r.output
    original = records(pulled / "sheetsync.toml")
    assert records(cfg) == original
    assert len(original["milestones"]) == 20  # the comparison compared something
    # and the exported map needs no mapping: init reads it as it was written
    guessed = back / "guessed.toml"
    r = run_cli("init", out, "-o", guessed)
    assert r.exit_code == 0 and "(below a title-only root)" in r.output, r.output


def test_export_is_deterministic(pulled, run_cli):
    a = export(run_cli, pulled, "a.xmind").read_bytes()
    b = export(run_cli, pulled, "b.xmind").read_bytes()
    assert a == b


def _zen(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("content.json"))


def _topics(t: dict):
    yield t
    for c in t.get("children", {}).get("attached", []):
        yield from _topics(c)


def test_status_is_a_marker_and_a_colour_and_fields_are_in_the_note(pulled, run_cli):
    (sheet,) = _zen(export(run_cli, pulled, "plan.xmind"))
    topics = {t["title"]: t for t in _topics(sheet["rootTopic"])}
    late = topics["Partner referral programme live"]  # G-06, marked Late in the sample
    assert [m["markerId"] for m in late["markers"]][0] == "flag-red"
    assert late["style"]["properties"]["svg:fill"] == "#E57373"
    note = late["notes"]["plain"]["content"].splitlines()
    assert "Owner: Karen Liu" in note and "Due date: 2026-11-13" in note
    assert "Status: Late" in note and any(line.startswith("Progress: ") for line in note) is False
    done = topics["Sales kickoff: revised H2 quotas published"]
    assert [m["markerId"] for m in done["markers"]] == ["task-done"]
    assert "Progress: 100%" in done["notes"]["plain"]["content"]
    webinar = topics["Webinar series: Getting more from Pro (4 sessions)"]  # 3 of 4, due 10 Dec
    assert [m["markerId"] for m in webinar["markers"]] == ["flag-orange", "task-3quar"]
    assert "Progress: 75%" in webinar["notes"]["plain"]["content"]
    task = topics["Write in-app upgrade prompt copy"]
    assert "Done: yes" in task["notes"]["plain"]["content"].splitlines()


def test_xmindparser_reads_the_export_as_the_same_tree(pulled, run_cli, tmp_path):
    xmindparser = pytest.importorskip("xmindparser")  # in the test extra; never skipped in CI
    out = export(run_cli, pulled, "plan.xmind")
    recs = records(pulled / "sheetsync.toml")

    def expected() -> dict:
        ms = recs["milestones"]
        tasks = recs["tasks"]

        def milestone(m):
            kids = [t["name"] for t in tasks if t["milestone"] == m["key"]]
            return {m["name"]: kids}

        return {
            p["name"]: [milestone(m) for m in ms if m["project"] == p["key"]]
            for p in recs["projects"]
        }

    def shape(topic: dict) -> dict:
        return {
            t["title"]: [
                {m["title"]: [x["title"] for x in m.get("topics", [])]} for m in t.get("topics", [])
            ]
            for t in topic.get("topics", [])
        }

    want = {k: sorted(v, key=lambda d: next(iter(d))) for k, v in expected().items()}

    def norm(d: dict) -> dict:
        return {k: sorted(v, key=lambda d: next(iter(d))) for k, v in d.items()}

    # the XMind 8 part alone (what XMind 8 opens) must hold the same tree
    legacy = tmp_path / "legacy.xmind"
    with zipfile.ZipFile(out) as z, zipfile.ZipFile(legacy, "w") as w:
        for n in z.namelist():
            if n != "content.json":
                w.writestr(n, z.read(n))
    for path in (out, legacy):
        (sheet,) = xmindparser.xmind_to_dict(str(path))
        assert sheet["topic"]["title"] == "Northwind Traders: sales plan"
        assert norm(shape(sheet["topic"])) == want
        late = next(
            m
            for p in sheet["topic"]["topics"]
            for m in p["topics"]
            if m["title"] == "Partner referral programme live"
        )
        assert "flag-red" in late["makers"] and "Owner: Karen Liu" in late["note"]


def test_exported_structure_matches_the_corpus(pulled, run_cli):
    zen_corpus = require_shared(MINDMAPS / "xmind_zen.xmind")
    out = export(run_cli, pulled, "plan.xmind")
    with zipfile.ZipFile(zen_corpus) as c, zipfile.ZipFile(out) as o:
        corpus_parts, ours = set(c.namelist()), set(o.namelist())
        # the parts XMind itself writes beside its content (resources/ and Thumbnails/ hold pictures)
        assert {n for n in corpus_parts if "/" not in n} <= ours
        corpus_xml = ElementTree.fromstring(c.read("content.xml"))
        our_xml = ElementTree.fromstring(o.read("content.xml"))
        manifest = json.loads(o.read("manifest.json"))
        assert set(json.loads(c.read("manifest.json"))) == set(manifest)
        assert "content.json" in manifest["file-entries"]
    assert our_xml.tag == corpus_xml.tag == "{urn:xmind:xmap:xmlns:content:2.0}xmap-content"
    ns = "{urn:xmind:xmap:xmlns:content:2.0}"
    assert our_xml.find(f"{ns}sheet/{ns}topic/{ns}title") is not None
    (corpus_sheet,) = _zen(zen_corpus)[:1]
    (sheet,) = _zen(out)
    assert (
        {"id", "class", "title", "rootTopic"}
        <= set(sheet)
        <= set(corpus_sheet) | {"topicPositioning"}
    )
    corpus_keys = set().union(*(t.keys() for t in _topics(corpus_sheet["rootTopic"])))
    for t in _topics(sheet["rootTopic"]):
        assert {"id", "title"} <= set(t) <= corpus_keys | {"class"}
        assert set(t.get("children", {})) <= {"attached"}

    mm_corpus = ElementTree.parse(require_shared(MINDMAPS / "freeplane_wbs_template.mm")).getroot()
    mm = ElementTree.parse(export(run_cli, pulled, "plan.mm")).getroot()
    assert mm.tag == mm_corpus.tag == "map" and mm.get("version").startswith("freeplane ")
    for node in mm.iter("node"):
        assert node.get("TEXT") and node.get("ID")
    for a in mm.iter("attribute"):
        assert set(a.attrib) == {
            "NAME",
            "VALUE",
        }  # as the corpus writes them (plus OBJECT for formulas)
    assert {a.tag for a in mm.iter()} <= {a.tag for a in mm_corpus.iter()} | {"html", "body", "p"}

    opml = ElementTree.parse(export(run_cli, pulled, "plan.opml")).getroot()
    assert opml.tag == "opml" and opml.get("version") == "2.0"
    assert opml.find("head/title") is not None and opml.find("body/outline").get("text")


def test_a_table_filter_does_not_fit_a_map(pulled, run_cli):
    r = run_cli(
        "--config",
        pulled / "sheetsync.toml",
        "export",
        "-o",
        pulled / "x.xmind",
        "--table",
        "tasks",
    )
    assert r.exit_code == 1 and "--table is for json and csv" in r.output


@pytest.mark.parametrize("fmt", ["xmind", "mm", "opml"])
def test_node_text_stays_text_through_export_and_back(tmp_path, run_cli, fmt):
    from mindmaps import topic, write_zen

    hostile = [
        "{{ 7*7 }}",
        "<img src=file:///etc/passwd>",
        "&amp; ]]> \"quoted\" 'x'",
        "Owner: not a field",
    ]
    tree = topic(
        "p", "Plan", "ID: P", *(topic(f"m{i}", t, f"Notes: {t}") for i, t in enumerate(hostile))
    )
    write_zen(tmp_path / "in.xmind", tree)
    cfg = tmp_path / "sheetsync.toml"
    cfg.write_text('[sources.goals]\nkind = "mindmap"\npath = "in.xmind"\n')
    assert run_cli("--config", cfg, "pull").exit_code == 0
    out = tmp_path / f"out.{fmt}"
    assert run_cli("--config", cfg, "export", "-o", out, "--as-of", AS_OF).exit_code == 0
    back = tmp_path / "back"
    back.mkdir()
    (back / "sheetsync.toml").write_text(
        f'[sources.goals]\nkind = "mindmap"\npath = "{out}"\nskip_root = true\n'
    )
    assert run_cli("--config", back / "sheetsync.toml", "pull").exit_code == 0
    names = sorted(m["name"] for m in records(back / "sheetsync.toml")["milestones"])
    assert names == sorted(hostile)
    notes = sorted(m["notes"] for m in records(back / "sheetsync.toml")["milestones"])
    assert notes == sorted(hostile)
