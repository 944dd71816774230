"""`python -m exporter` as a real process: exit codes, errors, health, signals."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from tests.exporter.conftest import read_manifest

from testkit.servers import ROOT, MotoServer, free_port
from tests.waiting import wait_until


class CapturedOutput:
    """A child's output in a temporary file: a pipe nobody reads fills up (64 KiB) and blocks the child's
    next log line, which a busy exporter reaches within a few hundred changes."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile("w+")

    def read(self) -> str:
        self.file.seek(0)
        return self.file.read()


def exporter_process(env, *args):
    output = CapturedOutput()
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=output.file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    process.stdout = output
    return process


def run_exporter(env, *args, timeout=90):
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def get_json(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def stop_process(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EXPORT_INTERVAL", "0"),
        ("EXPORT_INTERVAL", "fast"),
        ("DELETE_SYNC", "maybe"),
        ("EXPORT_CONCURRENCY", "0"),
        ("REQUIRED_BUCKETS", "ok-bucket,Bad_Bucket"),
        ("AWS_ENDPOINT_URL", "localhost:9876"),
        ("HEALTH_PORT", "70000"),
        ("LOG_LEVEL", "chatty"),
    ],
)
def test_invalid_setting_exits_2_with_one_line_naming_it(exporter_env, name, value):
    result = run_exporter({**exporter_env, name: value}, "--once")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in result.stderr


def test_export_dir_that_is_a_file_is_a_clear_error(exporter_env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_exporter({**exporter_env, "EXPORT_DIR": str(blocker)}, "--once")
    assert result.returncode == 2 and "EXPORT_DIR" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_endpoint_is_one_clear_line_within_the_timeout(exporter_env):
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_exporter({**exporter_env, "AWS_ENDPOINT_URL": endpoint, "STARTUP_TIMEOUT": "3"}, "--once")
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and f"cannot reach S3 at {endpoint}" in errors[0]
    assert "Traceback" not in result.stderr


def test_once_mirrors_and_exits_0(exporter_env, s3, export_dir):
    s3.create_bucket(Bucket="cli-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    s3.put_object(Bucket="cli-bucket", Key="x/y.txt", Body=b"yes")
    result = run_exporter({**exporter_env, "REQUIRED_BUCKETS": "test-bucket"}, "--once")
    assert result.returncode == 0, result.stderr
    assert (export_dir / "cli-bucket/x/y.txt").read_bytes() == b"yes"
    assert (export_dir / "test-bucket").is_dir()
    assert "downloaded cli-bucket/x/y.txt (3 B)" in result.stderr
    quiet = run_exporter(exporter_env, "--once")
    assert quiet.returncode == 0 and quiet.stderr.strip() == "", "a pass that changes nothing logs nothing"


def test_loop_waits_for_moto_then_mirrors_and_reports_health(exporter_env, export_dir, tmp_path):
    late_moto = MotoServer()
    health_port = free_port()
    env = {
        **exporter_env,
        "AWS_ENDPOINT_URL": late_moto.url,
        "EXPORT_INTERVAL": "0.5",
        "HEALTH_PORT": str(health_port),
        "REQUIRED_BUCKETS": "test-bucket",
    }
    process = exporter_process(env)
    try:
        wait_until(lambda: _answers(health_port), 20, "the health endpoint to answer")
        assert get_json(f"http://127.0.0.1:{health_port}/healthz")[0] == 503
        time.sleep(2)
        late_moto.start()
        from testkit.clients import make_test_client

        client = make_test_client(late_moto.url)
        wait_until(lambda: (export_dir / "test-bucket").is_dir(), 60, "the required bucket to be created")
        client.put_object(Bucket="test-bucket", Key="late.txt", Body=b"arrived")
        wait_until(lambda: (export_dir / "test-bucket/late.txt").exists(), 20, "the object in the mirror")
        assert (export_dir / "test-bucket/late.txt").read_bytes() == b"arrived"
        wait_until(lambda: get_json(f"http://127.0.0.1:{health_port}/healthz")[0] == 200, 10, "the exporter to be healthy")
        code, status = get_json(f"http://127.0.0.1:{health_port}/status")
        assert code == 200 and status["healthy"] is True
        assert status["last_pass"]["objects"] == 1 and status["totals"]["downloads"] == 1
        assert {"duration", "bytes", "deletes", "errors", "started"} <= status["last_pass"].keys()
        late_moto.kill()
        wait_until(lambda: get_json(f"http://127.0.0.1:{health_port}/healthz")[0] == 503, 20,
                 "/healthz to say 503 three intervals after S3 went away")
        wait_until(lambda: get_json(f"http://127.0.0.1:{health_port}/status")[1]["last_error"], 60,
                 "a failed pass in /status")
        assert "Could not connect" in get_json(f"http://127.0.0.1:{health_port}/status")[1]["last_error"]["message"]
        assert process.poll() is None, "the exporter keeps running while S3 is away"
    finally:
        stop_process(process)
        late_moto.stop()
    output = process.stdout.read()
    assert process.returncode == 0 and "Traceback" not in output
    assert "waiting for S3" in output and "pass failed" in output


def _answers(port):
    try:
        get_json(f"http://127.0.0.1:{port}/status")
        return True
    except OSError:
        return False


def test_sigterm_during_a_pass_stops_cleanly_and_leaves_no_partial_file(exporter_env, s3, export_dir):
    s3.create_bucket(Bucket="busy-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    big = os.urandom(1024 * 1024) * 64
    for index in range(4):
        s3.put_object(Bucket="busy-bucket", Key=f"big/{index}.bin", Body=big)
    for index in range(200):
        s3.put_object(Bucket="busy-bucket", Key=f"small/{index}.txt", Body=b"s" * index)
    process = exporter_process({**exporter_env, "EXPORT_CONCURRENCY": "2", "HEALTH_PORT": "0"})
    try:
        wait_until(lambda: any((export_dir / "busy-bucket").glob("*/*")), 60, "a first download")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        stop_process(process)
    assert process.returncode == 0, process.stdout.read()
    leftovers = [path for path in export_dir.rglob("*") if ".motostack-tmp-" in path.name]
    assert leftovers == []
    manifest = read_manifest(export_dir)
    objects = manifest["buckets"]["busy-bucket"]["objects"]
    assert len(objects) < 204, "the pass was interrupted"
    for entry in objects.values():
        assert (export_dir / "busy-bucket" / entry["path"]).stat().st_size == entry["size"]
    for path in (export_dir / "busy-bucket").rglob("*.bin"):
        assert path.read_bytes() == big
    finish = run_exporter(exporter_env, "--once")
    assert finish.returncode == 0
    assert len(list((export_dir / "busy-bucket").rglob("*.*"))) == 204


def test_loop_restores_a_restarted_moto_and_reports_it_in_status(exporter_env, export_dir):
    moto = MotoServer()
    moto.start()
    health_port = free_port()
    env = {**exporter_env, "AWS_ENDPOINT_URL": moto.url, "EXPORT_INTERVAL": "0.5", "HEALTH_PORT": str(health_port),
           "DELETE_SYNC": "true"}
    from testkit.clients import make_test_client

    client = make_test_client(moto.url)
    client.create_bucket(Bucket="kept-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    for index in range(25):
        client.put_object(Bucket="kept-bucket", Key=f"doc/{index}.txt", Body=f"doc {index}".encode())
    process = exporter_process(env)
    try:
        wait_until(lambda: len(list((export_dir / "kept-bucket/doc").glob("*.txt"))) == 25, 60, "all 25 objects in the mirror")
        moto.restart()
        client = make_test_client(moto.url)

        def restored():
            try:
                return client.list_objects_v2(Bucket="kept-bucket").get("KeyCount") == 25
            except Exception:  # noqa: BLE001 (bucket not back yet)
                return False

        wait_until(restored, 60, "the objects to be restored")
        wait_until(lambda: get_json(f"http://127.0.0.1:{health_port}/healthz")[0] == 200, 20, "the exporter to be healthy again")
        # the pass that restored records its totals when it ends, which may be just after health is back
        status = wait_until(
            lambda: (s := get_json(f"http://127.0.0.1:{health_port}/status")[1])["totals"]["restored"] and s,
            20,
            "the restoring pass to record its totals",
        )
        assert status["last_restore"]["objects_done"] == 25 and status["last_restore"]["errors"] == 0
        assert status["totals"]["restored"] == 25 and status["totals"]["deletes"] == 0
        assert client.get_object(Bucket="kept-bucket", Key="doc/7.txt")["Body"].read() == b"doc 7"
        assert len(list((export_dir / "kept-bucket/doc").glob("*.txt"))) == 25
    finally:
        stop_process(process)
        moto.stop()
    output = process.stdout.read()
    assert "restoring buckets and objects from the mirror" in output and "restore: 25/25 object(s)" in output
