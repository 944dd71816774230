"""End-to-end: the stack in a real Docker engine, used the way the README says (make seed, awscli, other
containers on the network). All compose tests share one stack; the test that takes it down runs last
(conftest.py moves it there)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from sample_client.samples import BUCKET, sample_keys
from tests.compose.conftest import Stack, run, wait_until

pytestmark = pytest.mark.compose

AWS_CLI = Path(sys.executable).with_name("aws")


def mirrored(stack: Stack, bucket: str, key: str) -> Path:
    return stack.export_dir / bucket / key


def test_the_long_running_services_are_healthy_and_moto_is_published_on_loopback_only(stack: Stack):
    services = stack.services()
    assert set(services) == {"moto", "exporter", "uploader"}, "a plain `up` starts no tools (sample-client)"
    for name, service in services.items():
        assert (service["State"], service["Health"]) == ("running", "healthy"), name
    published = [(p["URL"], p["PublishedPort"]) for p in services["moto"]["Publishers"] if p["PublishedPort"]]
    assert published == [("127.0.0.1", stack.moto_port)]
    assert not [p for p in services["exporter"]["Publishers"] if p["PublishedPort"]]


def process_ids(stack: Stack, service: str) -> dict[str, list[str]]:
    """Uid, Gid and Groups of the service's main process (PID 1) as the kernel sees them."""
    status = stack.compose("exec", "-T", service, "cat", "/proc/1/status").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {name: fields[name].split() for name in ("Uid", "Gid", "Groups")}


def test_every_service_runs_as_a_non_root_user_and_the_exporter_as_the_folders_owner(stack: Stack):
    """No HOST_UID is set: the exporter became the owner of the export folder (real, effective, saved and
    file-system ids), which has no passwd entry when the tests run as root, with no supplementary group."""
    assert stack.compose("exec", "-T", "moto", "id", "-u").stdout.strip() != "0"
    assert "HOST_UID" not in stack.env
    exporter = process_ids(stack, "exporter")
    assert exporter == {"Uid": [str(stack.uid)] * 4, "Gid": [str(stack.gid)] * 4, "Groups": []}


def test_the_images_are_built_on_the_python_image_given(stack: Stack):
    """PYTHON_IMAGE reaches the build: the base image's layers are the first layers of every image."""

    def layers(image: str) -> list[str]:
        inspect = ["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", image]
        return json.loads(run(inspect).stdout)

    base = layers(stack.env["PYTHON_IMAGE"])
    for service in ("moto", "exporter", "uploader"):
        assert layers(stack.image(service))[: len(base)] == base, service


def test_seeded_objects_appear_in_the_host_folder_with_their_bytes_and_owned_by_the_host_user(stack: Stack):
    seeded = stack.compose("run", "--rm", "--build", "sample-client", "seed", tools=True)
    assert f"seeded {len(sample_keys())} objects into s3://{BUCKET}" in seeded.stdout
    s3 = stack.s3()
    for key in sample_keys():
        expected = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        path = mirrored(stack, BUCKET, key)
        wait_until(
            lambda: path.is_file() and path.read_bytes() == expected, 30, f"{path} with the object's bytes"
        )
        owner = path.stat()
        assert (owner.st_uid, owner.st_gid) == (stack.uid, stack.gid), key
    hello = mirrored(stack, BUCKET, "sample/hello.txt").read_text()
    assert hello.startswith("hello moto server\ncreated_at: ")
    for folder in [stack.export_dir / BUCKET, *(stack.export_dir / BUCKET).rglob("*")]:
        assert (folder.stat().st_uid, folder.stat().st_gid) == (stack.uid, stack.gid), folder


def test_unseed_with_delete_sync_removes_exactly_the_sample_files(stack: Stack):
    s3 = stack.s3()
    s3.put_object(Bucket=BUCKET, Key="mine/keep.txt", Body=b"not a sample")
    keep = mirrored(stack, BUCKET, "mine/keep.txt")
    wait_until(keep.is_file, 30, f"{keep}")
    unseeded = stack.compose("run", "--rm", "sample-client", "unseed", tools=True)
    assert f"unseeded {len(sample_keys())} of {len(sample_keys())}" in unseeded.stdout
    for key in sample_keys():
        path = mirrored(stack, BUCKET, key)
        wait_until(lambda: not path.exists(), 30, f"{path} to be deleted")
    assert keep.read_bytes() == b"not a sample"


def test_a_separate_container_reaches_moto_with_only_the_endpoint_variable(stack: Stack):
    """A container of the user's own, not part of the compose project, joined to the stack's network."""
    result = run([
        "docker", "run", "--rm", "--network", stack.network,
        "--env", "AWS_ENDPOINT_URL=http://moto:5000",
        "--env", "AWS_ACCESS_KEY_ID=test", "--env", "AWS_SECRET_ACCESS_KEY=test",
        stack.image("sample-client"), "seed", "--bucket", "users-own-bucket",
    ])
    assert "created bucket s3://users-own-bucket" in result.stdout
    head = stack.s3().head_object(Bucket="users-own-bucket", Key="sample/hello.txt")
    assert head["ContentType"] == "text/plain"
    path = mirrored(stack, "users-own-bucket", "sample/data.json")
    wait_until(path.is_file, 30, f"{path}")


def test_awscli_on_the_host_uses_the_published_endpoint(stack: Stack):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }
    endpoint = ["--endpoint-url", stack.moto_url]
    listing = run([str(AWS_CLI), *endpoint, "s3", "ls"], env=env).stdout
    assert BUCKET in listing.split() and "users-own-bucket" in listing.split()
    objects = run([str(AWS_CLI), *endpoint, "s3", "ls", "--recursive", "s3://users-own-bucket/"], env=env)
    assert "sample/images/gradient.png" in objects.stdout


def test_compose_restarts_the_exporter_when_it_exits(stack: Stack):
    before = run(["docker", "inspect", "--format", "{{.RestartCount}}", stack.services()["exporter"]["ID"]])
    stack.compose("exec", "-T", "exporter", "python", "-c", "import os, signal; os.kill(1, signal.SIGTERM)")

    def restarted_and_healthy() -> bool:
        service = stack.services().get("exporter", {})
        if not service.get("ID"):
            return False
        count = run(["docker", "inspect", "--format", "{{.RestartCount}}", service["ID"]]).stdout
        return int(count) > int(before.stdout) and service.get("Health") == "healthy"

    wait_until(restarted_and_healthy, 60, "the exporter to be restarted and healthy again", interval=1)


def test_down_leaves_nothing_running_and_keeps_the_mirror(stack: Stack):
    result = stack.down()
    assert result.returncode == 0, result.stderr
    assert stack.container_ids("container") == []
    assert stack.container_ids("network") == []
    assert stack.container_ids("volume") == []
    assert mirrored(stack, BUCKET, "mine/keep.txt").read_bytes() == b"not a sample"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", stack.moto_port), timeout=5).close()
