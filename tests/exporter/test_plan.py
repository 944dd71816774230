from exporter.manifest import Entry
from exporter.plan import Delete, Download, Move, RemoteObject, is_unchanged, plan_bucket


def remote(*items):
    return {key: RemoteObject(key, etag, size) for key, etag, size in items}


def entry(path, etag="e1", size=3, in_s3=True):
    return Entry(path=path, etag=etag, size=size, in_s3=in_s3)


def test_equal_means_same_etag_same_size_and_file_present():
    obj = RemoteObject("k", "e1", 3)
    assert is_unchanged(obj, entry("k"), 3)
    assert not is_unchanged(obj, entry("k"), None)
    assert not is_unchanged(obj, entry("k"), 4)
    assert not is_unchanged(obj, entry("k", etag="e0"), 3)
    assert not is_unchanged(RemoteObject("k", "e1", 4), entry("k", size=4), 3)


def test_new_changed_missing_and_unchanged_objects():
    plan = plan_bucket(
        remote(("new", "e1", 3), ("changed", "e2", 3), ("hand-deleted", "e1", 3), ("same", "e1", 3)),
        {"changed": entry("changed"), "hand-deleted": entry("hand-deleted"), "same": entry("same")},
        {"changed": 3, "hand-deleted": None, "same": 3},
        delete_sync=False,
    )
    assert sorted(d.key for d in plan.downloads) == ["changed", "hand-deleted", "new"]
    assert plan.moves == [] and plan.deletes == []
    assert plan.entries.keys() == {"changed", "same"}


def test_gone_objects_are_deleted_only_with_delete_sync():
    entries = {"gone": entry("gone")}
    with_sync = plan_bucket({}, entries, {"gone": 3}, delete_sync=True)
    assert with_sync.deletes == [Delete("gone", "gone")]
    without = plan_bucket({}, entries, {"gone": 3}, delete_sync=False)
    assert without.deletes == [] and without.entries["gone"].in_s3 is False
    assert without.newly_retained == ["gone"]


def test_kept_files_are_never_deleted_later_and_rejoin_when_the_key_returns():
    kept = {"gone": entry("gone", in_s3=False)}
    assert plan_bucket({}, kept, {"gone": 3}, delete_sync=True).deletes == []
    back = plan_bucket(remote(("gone", "e1", 3)), kept, {"gone": 3}, delete_sync=True)
    assert back.downloads == [] and back.entries["gone"].in_s3 is True


def test_a_new_key_below_an_existing_file_moves_that_file_to_the_escaped_folder():
    plan = plan_bucket(remote(("a", "e1", 3), ("a/b", "e1", 3)), {"a": entry("a")}, {"a": 3}, delete_sync=False)
    assert plan.moves == [Move("a", "a", "_escaped/a")]
    assert plan.downloads == [Download("a/b", "a/b", RemoteObject("a/b", "e1", 3))]
    assert plan.entries["a"].path == "_escaped/a"


def test_a_key_replacing_a_folder_waits_until_the_folder_is_gone():
    entries = {"a/b": entry("a/b")}
    first = plan_bucket(remote(("a", "e1", 3)), entries, {"a/b": 3}, delete_sync=True)
    assert first.downloads[0].path == "_escaped/a"
    assert first.deletes == [Delete("a/b", "a/b")]
    after = {"a": entry("_escaped/a")}
    second = plan_bucket(remote(("a", "e1", 3)), after, {"_escaped/a": 3}, delete_sync=True)
    assert second.moves == [Move("a", "_escaped/a", "a")] and second.downloads == []
