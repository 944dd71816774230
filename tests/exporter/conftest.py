import threading

import pytest

from common.s3 import make_s3_client
from exporter.settings import ExporterSettings
from exporter.sync import Exporter


@pytest.fixture
def export_dir(tmp_path):
    return tmp_path / "moto_export"


@pytest.fixture
def exporter_env(aws_env, export_dir, monkeypatch):
    monkeypatch.setenv("EXPORT_DIR", str(export_dir))
    monkeypatch.setenv("REQUIRED_BUCKETS", "")
    return {**aws_env, "EXPORT_DIR": str(export_dir), "REQUIRED_BUCKETS": ""}


class CountingExporter:
    """A real Exporter on the test's Moto, with its GetObject calls counted through botocore's event hooks."""

    def __init__(self, **overrides):
        self.settings = ExporterSettings(**overrides)
        self.client = make_s3_client(self.settings)
        self.gets = 0
        self.client.meta.events.register("before-call.s3.GetObject", self._count)
        self.stop = threading.Event()
        self.exporter = Exporter(self.settings, self.client, self.stop)

    def _count(self, **_):
        self.gets += 1

    def run_pass(self):
        return self.exporter.run_pass()

    def close(self):
        self.exporter.close()


@pytest.fixture
def make_exporter(exporter_env):
    made = []

    def make(**overrides):
        instance = CountingExporter(**overrides)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket="test-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return "test-bucket"


def read_manifest(export_dir):
    """The manifest store's content in the shape of the earlier `_manifest.json` (format 1)."""
    from exporter.store import ManifestStore

    store = ManifestStore(export_dir)
    try:
        return store.load_manifest().to_json()
    finally:
        store.close()
