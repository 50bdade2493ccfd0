"""The crash-safe sweep journal: appends, torn lines, replay, group commit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cmfy_graph.journal import AsyncJournal, Journal, JournalState, read_journal

RECORDS = [
    {"ev": "run", "t": 1.0, "sweep": "abc", "n": 3},
    {"ev": "submit", "v": "a", "i": 0, "t": 1.1, "p": {"KSampler.seed": 1}},
    {"ev": "accepted", "v": "a", "job": "job-1", "t": 1.2},
    {"ev": "submit", "v": "b", "i": 1, "t": 1.3, "p": {"KSampler.seed": 2}},
    {
        "ev": "done",
        "v": "a",
        "job": "job-1",
        "t": 1.4,
        "status": "completed",
        "outputs": ["u"],
        "files": ["f"],
    },
    {"ev": "uncertain", "v": "b", "t": 1.5, "code": "uncertain_io", "msg": "reset"},
    {"ev": "submit", "v": "b", "i": 1, "t": 1.6, "p": {"KSampler.seed": 2}},
    {"ev": "accepted", "v": "b", "job": "job-2", "t": 1.7},
    {"ev": "submit", "v": "c", "i": 2, "t": 1.8, "p": {"KSampler.seed": 3}},
    {"ev": "rejected", "v": "c", "t": 1.9, "code": "rate_limit_exceeded", "msg": "429"},
    {"ev": "submit", "v": "c", "i": 2, "t": 2.0, "p": {"KSampler.seed": 3}},
]


FULL = b"".join((json.dumps(r, separators=(",", ":")) + "\n").encode() for r in RECORDS)


def write_all(path: Path) -> bytes:
    with Journal.open(path) as j:
        for r in RECORDS:
            j.append(r)
    return path.read_bytes()


def test_append_and_replay(tmp_path: Path) -> None:
    path = tmp_path / "d" / "journal.jsonl"
    assert write_all(path) == FULL  # one compact JSON object per line
    records, skipped = read_journal(path)
    assert records == RECORDS and skipped == 0
    state = JournalState.replay(records)
    a, b, c = state.get("a"), state.get("b"), state.get("c")
    assert a is not None and b is not None and c is not None
    assert (
        a.status == "completed"
        and a.files == ["f"]
        and a.attempts == 1
        and not a.possibly_duplicated
    )
    assert (
        b.status == "accepted" and b.job_id == "job-2" and b.possibly_duplicated and b.attempts == 2
    )
    # c's second submission was in flight when the journal ends: a crash; it may exist
    assert c.status == "uncertain" and c.possibly_duplicated and c.error_code == "interrupted"
    assert len(state.runs) == 1


def test_torn_last_line_is_skipped_and_terminated(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    write_all(path)
    with open(path, "ab") as fh:
        fh.write(b'{"ev": "done", "v": "b", "jo')  # the crash cut this write
    records, skipped = read_journal(path)
    assert records == RECORDS and skipped == 1
    with Journal.open(path) as j:  # reopening terminates the torn line first
        j.append({"ev": "done", "v": "b", "job": "job-2", "t": 3.0, "status": "completed"})
    records, skipped = read_journal(path)
    assert skipped == 1 and records[-1]["ev"] == "done" and records[-1]["v"] == "b"
    assert JournalState.load(path).variants["b"].status == "completed"


def test_garbage_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"ev":"submit","v":"x","t":1}\nnot json\n[1,2]\n\n{"no_ev":1}\n\xff\xfe\n')
    records, skipped = read_journal(path)
    assert [r["v"] for r in records] == ["x"] and skipped == 4
    assert read_journal(tmp_path / "missing.jsonl") == ([], 0)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_crash_at_any_byte_property(data: st.DataObject) -> None:
    """Cut the journal at any byte (a crash mid-write): the replay never fails, never invents
    progress, and flags every variant whose submission was in flight."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "journal.jsonl"
        full = FULL
        cut = data.draw(st.integers(0, len(full)))
        path.write_bytes(full[:cut])
        state = JournalState.load(path)
        complete = [json.loads(ln) for ln in full[:cut].split(b"\n")[:-1] if ln]
        assert len(state.variants) == len({r["v"] for r in complete if "v" in r})
        for vid, vs in state.variants.items():
            mine = [r for r in complete if r.get("v") == vid]
            if mine[-1]["ev"] == "submit":
                assert vs.status == "uncertain" and vs.possibly_duplicated
            if vs.status == "completed":
                assert any(r["ev"] == "done" for r in mine)
            assert vs.attempts == sum(1 for r in mine if r["ev"] == "submit")
        # appending after the crash yields a readable journal again
        with Journal.open(path) as j:
            j.append({"ev": "submit", "v": "z", "t": 9.0})
        records, _ = read_journal(path)
        assert records[-1] == {"ev": "submit", "v": "z", "t": 9.0}


def test_group_commit_batches_concurrent_writes(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"

    async def main() -> int:
        aj = AsyncJournal(Journal.open(path))
        await asyncio.gather(
            *(aj.write({"ev": "submit", "v": f"v{i}", "t": i}) for i in range(200))
        )
        await aj.drain()
        aj.close()
        return aj.flushes

    flushes = asyncio.run(main())
    records, skipped = read_journal(path)
    assert skipped == 0 and sorted(r["v"] for r in records) == sorted(f"v{i}" for i in range(200))
    assert flushes < 200  # several records per fsync


def test_an_idempotency_key_is_kept_only_while_its_outcome_is_unknown() -> None:
    """A submission whose answer was lost is sent again with its key (the server refuses to
    run it twice); an accepted or refused one frees it, so --retry-failed takes a new key."""
    from cmfy_graph.journal import VariantState

    vs = VariantState("v")
    vs.apply({"ev": "submit", "v": "v", "key": "k1"})
    vs.apply({"ev": "uncertain", "v": "v", "code": "uncertain_io"})
    assert vs.key == "k1"
    vs.apply({"ev": "submit", "v": "v", "key": "k1"})
    vs.apply({"ev": "accepted", "v": "v", "job": "j"})
    assert vs.key is None
    vs.apply({"ev": "done", "v": "v", "status": "failed"})
    assert vs.key is None
    vs.apply({"ev": "submit", "v": "v", "key": "k2"})
    vs.apply({"ev": "rejected", "v": "v", "code": "queue_full"})
    assert vs.key is None
