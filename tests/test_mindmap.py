"""Mind maps as a source: four formats, tree → records, errors by node path, safety."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
from conftest import SAMPLES, SHARED, require_shared
from mindmaps import WRITERS, topic, write_zen

from sheetsync.config import load_config
from sheetsync.errors import WorkbookError
from sheetsync.sources.mindmap import read_tree
from sheetsync.store import Store, record_key, utcnow

MINDMAPS = SHARED / "corpus" / "mindmaps"


def upsell_tree(due: str = "15 Nov 2026", title: str = "Email series") -> dict:
    """The Upsell goal as a manager draws it: goal → milestones → tasks."""
    return topic(
        "r-ups",
        "Upsell programme",
        "ID: UPSELL\nOwner: Omar Haddad\nTarget: 50%\nStart: 2026-01-01\nEnd: 31 Dec 2027",
        topic(
            "m-email",
            title,
            f"Owner: Jess Patel\nDue: {due}\nStatus: On track\nTwelve weekly emails\nRisk: list quality",
            topic(
                "t-copy",
                "Write the copy",
                "Owner: Jess Patel\nDue: 2026-08-01",
                markers=["task-done"],
            ),
            topic("t-list", "Clean the list", "Due: 2026-08-15", markers=["task-half"]),
        ),
        topic(
            "m-mail",
            "Direct mail",
            "Owner: Grace Kim\nDue: 2026-12-18",
            markers=["task-half", "flag-orange", "priority-1"],
        ),
    )


def config(d: Path, mapfile: str, extra: str = "", levels: str = "") -> Path:
    cfg = d / "sheetsync.toml"
    cfg.write_text(
        f'[sources.goals]\nkind = "mindmap"\npath = "{mapfile}"\n{levels}\n{extra}',
        encoding="utf-8",
    )
    return cfg


def store_of(cfg: Path) -> Store:
    return Store(load_config(cfg).default_db_url())


def by_name(records: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in records}


@pytest.mark.parametrize("suffix", [".xmind", ".xmind8", ".mm", ".opml"])
def test_each_format_pulls_the_same_goal_tree(tmp_path, run_cli, suffix):
    name = "goals" + (".xmind" if suffix == ".xmind8" else suffix)
    WRITERS[suffix](tmp_path / name, upsell_tree())
    cfg = config(tmp_path, name)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "projects: 1 new; milestones: 2 new; tasks: 2 new" in r.output
    store = store_of(cfg)
    (p,) = store.records("projects")
    assert (p["key"], p["name"], p["owner"], p["target_value"]) == (
        "UPSELL",
        "Upsell programme",
        "Omar Haddad",
        0.5,
    )
    ms = by_name(store.records("milestones"))
    email, mail = ms["Email series"], ms["Direct mail"]
    assert email["project"] == mail["project"] == "UPSELL"
    assert str(email["due"]) == "2026-11-15" and email["owner"] == "Jess Patel"
    assert email["status"] == "On track"
    # free text, and a `Key: value` line no field takes, stay the milestone's notes
    assert email["notes"] == "Twelve weekly emails\nRisk: list quality"
    tasks = by_name(store.records("tasks"))
    assert tasks["Write the copy"]["milestone"] == email["key"]
    if suffix != ".opml":  # OPML has no markers
        assert tasks["Write the copy"]["done"] is True and tasks["Clean the list"]["done"] is False
        if suffix != ".mm":  # a Freeplane map has no progress or flag icons here
            assert mail["status"] == "At risk" and mail["actual_value"] == 0.5
    if suffix == ".opml":  # no IDs: the path of titles is the key
        assert email["key"] == "Upsell programme › Email series"
    else:
        assert email["key"].endswith("m-email")
    store.close()


def test_renaming_a_node_updates_its_record(tmp_path, run_cli):
    write_zen(tmp_path / "goals.xmind", upsell_tree())
    cfg = config(tmp_path, "goals.xmind")
    assert run_cli("--config", cfg, "pull").exit_code == 0
    write_zen(tmp_path / "goals.xmind", upsell_tree(title="12-week email series"))
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "milestones: 1 updated" in r.output and "new" not in r.output.split("milestones:")[1]
    store = store_of(cfg)
    names = sorted(m["name"] for m in store.records("milestones"))
    assert names == ["12-week email series", "Direct mail"]
    (h,) = [m for m in store.records("milestones") if m["key"] == "m-email"]
    assert (
        len(store.history("milestones", record_key(load_config(cfg).table_spec("milestones"), h)))
        == 2
    )
    store.close()


def test_errors_are_named_by_node_path_and_nothing_is_written(tmp_path, run_cli):
    tree = upsell_tree(due="next week")
    tree["children"]["attached"][1]["notes"]["plain"]["content"] += "\nTarget: lots"
    tree["children"]["attached"][0]["children"]["attached"][1]["notes"]["plain"]["content"] = (
        "Task ID: T-1"
    )
    tree["children"]["attached"][0]["children"]["attached"][0]["notes"]["plain"]["content"] = (
        "Task ID: T-1"
    )
    write_zen(tmp_path / "goals.xmind", tree)
    cfg = config(tmp_path, "goals.xmind")
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    lines = r.output.splitlines()
    assert (
        'goals.xmind › Upsell programme › Email series (Due): "next week" is not a date '
        "(expected e.g. 2026-03-31 or 31 Mar 2026)" in lines
    )
    assert 'goals.xmind › Upsell programme › Direct mail (Target): "lots" is not a number' in lines
    assert (
        "goals.xmind › Upsell programme › Email series › Clean the list (ID): duplicate key (T-1): "
        "goals.xmind › Upsell programme › Email series › Write the copy has the same" in lines
    )
    # both nodes of the repeated key are named, each pointing at the other
    assert (
        "goals.xmind › Upsell programme › Email series › Write the copy (ID): duplicate key (T-1): "
        "goals.xmind › Upsell programme › Email series › Clean the list has the same" in lines
    )
    assert "4 problems found; nothing was written" in r.output
    store = store_of(cfg)
    assert store.records("milestones") == [] and store.snapshots() == []
    store.close()
    v = run_cli("--config", cfg, "validate")
    assert v.exit_code == 2 and "Email series (Due)" in v.output


def test_unknown_project_in_a_map_without_a_project_level(tmp_path, run_cli):
    """A map of milestones names each one's project in a note line; the projects
    come from the workbook, and a name it does not define is an error."""
    shutil.copy2(SAMPLES / "sales_plan.xlsx", tmp_path / "sales_plan.xlsx")
    tree = topic(
        "r",
        "Q4 plan",
        "",
        topic("m1", "Kickoff", "Project: GROW20\nDue: 2026-07-06", topic("t1", "Book the room")),
        topic("m2", "Launch", "Project: GROW21\nDue: 2026-08-01"),
    )
    write_zen(tmp_path / "goals.xmind", tree)
    sample = (SAMPLES / "sheetsync.toml").read_text(encoding="utf-8")
    projects = sample[
        sample.index("[sources.plan.tables.projects]") : sample.index(
            "# Milestones: the checkpoints"
        )
    ]
    cfg = config(
        tmp_path,
        "goals.xmind",
        levels='levels = ["milestones", "tasks"]\nskip_root = true',
        extra='[sources.plan]\nkind = "xlsx"\npath = "sales_plan.xlsx"\n' + projects,
    )
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2, r.output
    assert (
        "goals.xmind › Q4 plan › Launch (Project): no project \"GROW21\" on sheet 'Projects' "
        "(projects: GROW20, UPSELL)" in r.output.splitlines()
    )
    assert "1 problem found; nothing was written" in r.output
    store = store_of(cfg)
    assert store.records("projects") == [] and store.records("milestones") == []
    store.close()
    tree["children"]["attached"][1]["notes"]["plain"]["content"] = "Project: GROW20"
    write_zen(tmp_path / "goals.xmind", tree)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    store = store_of(cfg)
    assert {m["project"] for m in store.records("milestones")} == {"GROW20"}
    (task,) = store.records("tasks")
    assert (task["project"], task["milestone"]) == ("GROW20", "m1")  # from its milestone
    store.close()


def mixed_config(d: Path, tree: dict) -> Path:
    """Projects, milestones and tasks from a mind map; quotas and budget (and mail) as the sample has them."""
    shutil.copy2(SAMPLES / "sales_plan.xlsx", d / "sales_plan.xlsx")
    write_zen(d / "goals.xmind", tree)
    sample = (SAMPLES / "sheetsync.toml").read_text(encoding="utf-8")
    quotas = sample[
        sample.index("[sources.plan.tables.quotas]") : sample.index("# Tasks (optional)")
    ]
    mail = sample[sample.index("[mail]") :]
    return config(
        d,
        "goals.xmind",
        extra='[sources.plan]\nkind = "xlsx"\npath = "sales_plan.xlsx"\n' + quotas + mail,
    )


def test_mixed_config_map_for_the_plan_workbook_for_quotas(tmp_path, run_cli):
    tree = upsell_tree()
    tree["children"]["attached"].append(
        topic("m-x", "{{ 7*7 }} <img src=file:///etc/passwd>", "Due: 2026-12-01")
    )
    cfg = mixed_config(tmp_path, tree)
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 0, r.output
    assert "Pulled goals (goals.xmind)" in r.output and "Pulled plan (sales_plan.xlsx)" in r.output
    s = run_cli("--config", cfg, "status", "--as-of", "2026-11-30")
    assert s.exit_code == 0, s.output
    assert "Upsell programme" in s.output and "Dana Whitfield" in s.output
    assert run_cli("--config", cfg, "diff").exit_code == 0
    html = tmp_path / "weekly.html"
    as_of = max(date.today(), date(2026, 11, 30)).isoformat()  # records are stamped when pulled
    rep = run_cli("--config", cfg, "report", "--as-of", as_of, "--html", "-o", html)
    assert rep.exit_code == 0, rep.output
    text = html.read_text(encoding="utf-8")
    assert "Direct mail" in text and "Email series" in text
    assert "{{ 7*7 }} &lt;img src=file:///etc/passwd&gt;" in text and "<img src=file:" not in text
    sy = run_cli("--config", cfg, "sync")
    assert sy.exit_code == 0 and sy.output.count("already in sync") == 2, sy.output


def test_run_weekly_with_a_map_stops_before_sending_on_a_bad_node(tmp_path, run_cli):
    cfg = mixed_config(tmp_path, upsell_tree(due="next week"))
    out = tmp_path / "outbox"
    as_of = max(date.today(), date(2026, 11, 30)).isoformat()  # records are stamped when pulled
    args = ("--config", cfg, "run", "weekly", "--as-of", as_of, "--dry-run", "--outbox", out)
    r = run_cli(*args)
    assert r.exit_code == 2, r.output
    assert "goals.xmind › Upsell programme › Email series (Due)" in r.output
    assert "no report was rendered and nothing was sent" in r.output
    assert not out.exists() or list(out.iterdir()) == []
    store = store_of(cfg)
    assert store.records("quotas") == [] and store.records("milestones") == []
    store.close()
    write_zen(tmp_path / "goals.xmind", upsell_tree())
    r = run_cli(*args)
    assert r.exit_code == 0, r.output
    assert len(list(out.glob("*.eml"))) == 3
    store = store_of(cfg)
    assert len(store.records("milestones")) == 2 and store.records("quotas")
    store.close()


def test_diff_names_map_changes_by_node(tmp_path, run_cli):
    write_zen(tmp_path / "goals.xmind", upsell_tree())
    cfg = config(tmp_path, "goals.xmind")
    assert run_cli("--config", cfg, "pull").exit_code == 0
    tree = upsell_tree(due="20 Nov 2026")
    tree["children"]["attached"].append(topic("m-call", "Cold calling"))
    write_zen(tmp_path / "goals.xmind", tree)
    r = run_cli("--config", cfg, "diff")
    assert r.exit_code == 0, r.output
    lines = [line.strip() for line in r.output.splitlines()]
    assert (
        "→ model  goals.xmind › Upsell programme › Email series (Due): 2026-11-15 → 2026-11-20"
        in lines
    )
    assert (
        "+ model  goals.xmind › Upsell programme › Cold calling: m-call (new in the map)" in lines
    )


def test_push_into_a_map_is_refused_and_nothing_changes(tmp_path, run_cli):
    path = write_zen(tmp_path / "goals.xmind", upsell_tree())
    cfg = config(tmp_path, "goals.xmind")
    assert run_cli("--config", cfg, "pull").exit_code == 0
    before = path.read_bytes()
    spec = load_config(cfg).table_spec("milestones")
    store = store_of(cfg)
    rec = {**by_name(store.records("milestones"))["Direct mail"], "owner": "Ana Ruiz"}
    with store.transaction() as conn:  # a teammate's change in the model
        store.apply(
            conn, "milestones", [rec], [], source="t", at=utcnow(), replaced=[rec["key"]], spec=spec
        )
    snapshots = len(store.snapshots())
    for command in ("push", "sync"):
        r = run_cli("--config", cfg, command)
        assert r.exit_code == 5, r.output
        assert (
            "mind map sources are read-only; export the live plan with `sheetsync export --format xmind"
            in r.output
        )
    assert path.read_bytes() == before
    assert by_name(store.records("milestones"))["Direct mail"]["owner"] == "Ana Ruiz"
    assert len(store.snapshots()) == snapshots
    store.close()
    dry = run_cli("--config", cfg, "push", "--dry-run")
    assert dry.exit_code == 0 and "Ana Ruiz" in dry.output
    assert (
        "the real push would be refused: goals: goals.xmind: mind map sources are read-only"
        in dry.output
    )


# ---------------------------------------------------------------- safety


def refused(path: Path) -> str:
    with pytest.raises(WorkbookError) as e:
        read_tree(path)
    message = str(e.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_dtd_and_entities_are_refused(tmp_path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE map [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><map><node TEXT="&b;"/></map>'
    )
    (tmp_path / "bomb.mm").write_text(bomb)
    assert "declares an XML DTD; refusing it as unsafe" in refused(tmp_path / "bomb.mm")
    external = (
        '<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd">'
        '<opml version="2.0"><body><outline text="x"/></body></opml>'
    )
    (tmp_path / "ext.opml").write_text(external)
    assert "refusing it as unsafe" in refused(tmp_path / "ext.opml")
    with zipfile.ZipFile(tmp_path / "x8.xmind", "w") as z:
        z.writestr(
            "content.xml",
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xmap-content/>',
        )
    assert "x8.xmind: part content.xml declares an XML DTD" in refused(tmp_path / "x8.xmind")


def test_zip_bomb_is_refused_by_the_workbook_guard(tmp_path):
    path = tmp_path / "bomb.xmind"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.json", b"[" + b" " * (40 << 20) + b"]")
    assert "refusing it as a zip bomb" in refused(path)


@pytest.mark.parametrize(
    ("shape", "reason"),
    [("deep", "is more than 40 levels deep"), ("wide", "has a node with more than 5,000 children")],
)
def test_trees_past_the_bounds_are_refused(tmp_path, shape, reason):
    if shape == "deep":
        root = leaf = topic("0", "root")
        for i in range(1, 60):
            child = topic(str(i), f"level {i}")
            leaf["children"] = {"attached": [child]}
            leaf = child
    else:
        root = topic("0", "root", "", *(topic(str(i), f"t{i}") for i in range(5_001)))
    message = refused(write_zen(tmp_path / f"{shape}.xmind", root))
    assert (
        reason in message
        and "refusing it (sheetsync reads maps of at most 100,000 nodes" in message
    )


def test_json_nesting_bomb_is_refused(tmp_path):
    path = tmp_path / "nest.xmind"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.json", "[" * 200_000)
    assert "content.json nests too deep; refusing it" in refused(path)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.xmind", b"", "is empty"),
        ("text.xmind", b"hello", "is not an XMind file (not a zip package)"),
        ("broken.mm", b"<map><node TEXT='x'>", "is not well-formed XML"),
        ("other.mm", b"<html/>", "is not a FreeMind/Freeplane map"),
        ("plan.txt", b"x", "is not a mind map sheetsync reads (.xmind, .mm or .opml)"),
    ],
)
def test_files_that_are_not_maps_are_refused_in_one_line(tmp_path, name, data, reason):
    (tmp_path / name).write_bytes(data)
    assert reason in refused(tmp_path / name)


def test_a_refused_map_exits_2_with_one_line_and_no_traceback(tmp_path, run_cli):
    (tmp_path / "goals.mm").write_text('<!DOCTYPE map SYSTEM "http://example.com/x"><map/>')
    cfg = config(tmp_path, "goals.mm")
    r = run_cli("--config", cfg, "pull")
    assert r.exit_code == 2
    assert r.output.strip() == "Error: goals.mm declares an XML DTD; refusing it as unsafe"


# ---------------------------------------------------------------- the corpus

CORPUS_EXPECTATIONS = {
    # XMind Zen: the attached topics only (the floating topic and the callout
    # are not part of the plan); notes, labels and markers read; one topic has
    # an empty title, which validation names by its path.
    "xmind_zen.xmind": {
        "root": "Central Topic",
        "nodes": 20,
        "validate": (
            2,
            "xmind_zen.xmind › Central Topic › topic 2 › (untitled) (Title): is blank; every row needs a Task",
        ),
    },
    # Freeplane WBS: attributes (Cost, Duration, Work) read; the roll-up
    # formulas (=children.sum(…)) have no stored value and are left out.
    "freeplane_wbs_template.mm": {
        "root": "Project - Project name",
        "nodes": 26,
        "validate": (0, "m: 1 project, 3 milestones, 22 tasks — ok"),
    },
}


def test_every_corpus_file_has_an_expectation():
    require_shared(MINDMAPS)
    maps = sorted(p.name for p in MINDMAPS.iterdir() if p.suffix in (".xmind", ".mm", ".opml"))
    assert maps == sorted(CORPUS_EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTATIONS))
def test_corpus_file_reads(name, tmp_path, run_cli):
    path = require_shared(MINDMAPS / name)
    expect = CORPUS_EXPECTATIONS[name]
    tree = read_tree(path)
    assert tree.root.title == expect["root"]
    assert sum(1 for _ in tree.root.walk()) == expect["nodes"]
    cfg = tmp_path / "sheetsync.toml"
    cfg.write_text(f'[sources.m]\nkind = "mindmap"\npath = {json.dumps(str(path))}\n')
    r = run_cli("--config", cfg, "validate")
    code, line = expect["validate"]
    assert r.exit_code == code and line in r.output.splitlines(), r.output


def test_corpus_details():
    zen = read_tree(require_shared(MINDMAPS / "xmind_zen.xmind"))
    nodes = {n.title: n for _, n in zen.root.walk()}
    assert "Floating Topic" not in nodes and "Callout" not in nodes
    assert nodes["note topic"].note == "note info\nnew line of note"
    assert nodes["label topic"].fields == {"Labels": "great"}
    assert nodes["makers topic"].priority == 2 and nodes["makers topic"].progress == 12.5
    assert nodes["makers topic"].marked_status == "At risk"
    wbs = read_tree(require_shared(MINDMAPS / "freeplane_wbs_template.mm"))
    leaf = next(n for _, n in wbs.root.walk() if n.id == "ID_420070880")
    assert leaf.fields == {"Work": "45", "Duration": "10", "Cost": "57"}
    helps = {n.title for _, n in wbs.root.walk()}
    assert "What does WBS addon do?" in helps  # rich node text read as text


# ---------------------------------------------------------------- init


def test_init_guesses_a_maps_levels_and_fields(tmp_path, run_cli):
    write_zen(tmp_path / "goals.xmind", upsell_tree())
    cfg = tmp_path / "sheetsync.toml"
    r = run_cli("init", tmp_path / "goals.xmind", "-o", cfg)
    assert r.exit_code == 0, r.output
    assert "levels: projects → milestones → tasks (the root is a project)" in r.output
    assert 'Milestones (2 nodes): "Owner" → owner, "Due" → due, "Status" → status' in r.output
    text = cfg.read_text(encoding="utf-8")
    assert (
        'kind = "mindmap"\npath = "goals.xmind"\nlevels = ["projects", "milestones", "tasks"]'
        in text
    )
    assert "skip_root = false" in text and "# Each depth of the map fills one table" in text
    assert '[sources.goals.tables.projects.columns]\ntarget_value = "Target"' in text
    assert run_cli("--config", cfg, "pull").exit_code == 0
    store = store_of(cfg)
    assert {m["name"] for m in store.records("milestones")} == {"Email series", "Direct mail"}
    store.close()


def test_init_on_the_corpus_freeplane_map(tmp_path, run_cli):
    path = require_shared(MINDMAPS / "freeplane_wbs_template.mm")
    cfg = tmp_path / "sheetsync.toml"
    r = run_cli("init", path, "-o", cfg)
    assert r.exit_code == 0, r.output
    assert (
        "! the map is 5 levels deep; nodes below the tasks level are read as tasks too" in r.output
    )
    assert "# names in the map left unmapped: Work, Duration, Cost" in cfg.read_text()
    assert run_cli("--config", cfg, "validate").exit_code == 0
