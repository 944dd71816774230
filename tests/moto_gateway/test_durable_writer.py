"""The state folder's writer process (moto_gateway/state/durable/writer.py): a writer that died is replaced
before the next group is sent; a group the database refuses is rolled back and refused; a stop folds the
WAL into the database and ends the process."""

from __future__ import annotations

import os
import sqlite3

import pytest

from moto_gateway.state.durable.store import DurabilityError, DurableStore
from moto_gateway.state.durable.writer import SETTING, WriterError
from testkit.servers import MotoServer
from tests.moto_gateway.helpers import client


def stored(folder, name: str):
    with sqlite3.connect(os.path.join(folder, "state.db")) as conn:
        row = conn.execute("SELECT value FROM meta WHERE name = ?", (SETTING + name,)).fetchone()
    return row[0] if row else None


def test_a_writer_that_died_is_replaced_before_the_next_group(tmp_path):
    folder = tmp_path / "state"
    store = DurableStore(str(folder))
    store.open()
    try:
        store.submit(store.setting_ops("colour", "red"), 1).wait(10)
        assert stored(folder, "colour") == "red"
        first = store.writer.process
        first.kill()  # the OOM killer, say
        first.wait()
        store.submit(store.setting_ops("colour", "green"), 2).wait(10)
        assert store.writer.process is not first and stored(folder, "colour") == "green"
    finally:
        store.stop()
    assert store.writer.process is None
    assert not os.path.exists(folder / "state.db-wal") or os.path.getsize(folder / "state.db-wal") == 0


def test_a_group_the_database_refuses_is_rolled_back_and_answered(tmp_path):
    store = DurableStore(str(tmp_path / "state"))
    store.open()
    try:
        with pytest.raises(WriterError, match="unknown operation"):
            store.writer.commit(1, [("setting", "kept", "no"), ("nonsense",)])
        assert stored(tmp_path / "state", "kept") is None
        store.writer.commit(2, [("setting", "kept", "yes")])
        assert stored(tmp_path / "state", "kept") == "yes"
    finally:
        store.stop()


def test_a_group_that_cannot_be_sent_is_refused_and_the_next_is_stored(tmp_path):
    store = DurableStore(str(tmp_path / "state"))
    store.open()
    try:
        unsendable = store.submit([("setting", "colour", lambda: "a function does not pickle")], 1)
        with pytest.raises(DurabilityError, match="pickle"):  # refused at once, not left without an answer
            unsendable.wait(10)
        store.submit(store.setting_ops("colour", "blue"), 2).wait(10)
        assert stored(tmp_path / "state", "colour") == "blue"
    finally:
        store.stop()


def test_a_gateway_stopped_by_sigterm_folds_the_wal_into_the_database(tmp_path):
    """Only state.db is left: the WAL folded in, and the WAL and shared-memory files removed."""
    folder = tmp_path / "state"
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(folder)})
    try:
        for round_number in range(3):
            server.start()
            s3 = client(server.url)
            if round_number == 0:
                s3.create_bucket(Bucket="stops", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
            s3.put_object(Bucket="stops", Key=f"k{round_number}", Body=b"x" * 5000)
            server.stop()  # SIGTERM
            left = sorted(path.name for path in folder.glob("state.db-*"))
            assert left == [], f"stop {round_number}: the WAL was left"
        server.start()
        assert client(server.url).list_objects_v2(Bucket="stops")["KeyCount"] == 3
    finally:
        server.stop()
