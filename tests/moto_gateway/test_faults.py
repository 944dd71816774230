"""Fault injection: the pure decisions (operation names, rules, matching) and, with real boto3 against a
real `python -m moto_gateway`, what a client sees: S3 errors, retries through them, latency, dropped
connections and bodies cut short."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ResponseStreamingError,
)

from moto_gateway.fault_rules import FaultRule, FaultRules, FieldError, parse_rule
from moto_gateway.wsgi.operations import KNOWN_OPERATIONS, operation_of
from testkit.clients import REGION, make_test_client
from testkit.servers import ROOT, MotoServer
from tests.moto_gateway.helpers import aws_error
from tests.waiting import wait_until


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "copy", "expected"),
    [
        ("GET", None, "", [], False, "ListBuckets"),
        ("PUT", "b", "", [], False, "CreateBucket"),
        ("HEAD", "b", "", [], False, "HeadBucket"),
        ("DELETE", "b", "", [], False, "DeleteBucket"),
        ("GET", "b", "", ["list-type", "prefix"], False, "ListObjectsV2"),
        ("GET", "b", "", ["prefix"], False, "ListObjects"),
        ("GET", "b", "", ["versions"], False, "ListObjectVersions"),
        ("GET", "b", "", ["uploads"], False, "ListMultipartUploads"),
        ("GET", "b", "", ["location"], False, "GetBucketLocation"),
        ("PUT", "b", "", ["cors"], False, "PutBucketCors"),
        ("DELETE", "b", "", ["lifecycle"], False, "DeleteBucketLifecycle"),
        ("POST", "b", "", ["delete"], False, "DeleteObjects"),
        ("POST", "b", "", [], False, "PostObject"),
        ("GET", "b", "k", [], False, "GetObject"),
        ("GET", "b", "k", ["response-content-type"], False, "GetObject"),
        ("HEAD", "b", "k", [], False, "HeadObject"),
        ("PUT", "b", "k", [], False, "PutObject"),
        ("PUT", "b", "k", [], True, "CopyObject"),
        ("DELETE", "b", "k", [], False, "DeleteObject"),
        ("POST", "b", "k", ["uploads"], False, "CreateMultipartUpload"),
        ("PUT", "b", "k", ["partNumber", "uploadId"], False, "UploadPart"),
        ("PUT", "b", "k", ["partNumber", "uploadId"], True, "UploadPartCopy"),
        ("POST", "b", "k", ["uploadId"], False, "CompleteMultipartUpload"),
        ("DELETE", "b", "k", ["uploadId"], False, "AbortMultipartUpload"),
        ("GET", "b", "k", ["uploadId"], False, "ListParts"),
        ("PUT", "b", "k", ["tagging"], False, "PutObjectTagging"),
        ("GET", "b", "k", ["tagging"], False, "GetObjectTagging"),
        ("GET", "b", "k", ["retention"], False, "GetObjectRetention"),
        ("PUT", "b", "", ["tagging"], False, "PutBucketTagging"),
        ("OPTIONS", "b", "k", [], False, None),
        ("PUT", None, "", [], False, None),
    ],
)
def test_operation_names_are_s3s(method, bucket, key, query, copy, expected):
    assert operation_of(method, bucket, key, query, copy) == expected
    assert expected is None or expected in KNOWN_OPERATIONS


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"status": 503}, "code"),
        ({"code": "SlowDown"}, "status"),
        ({"status": 503, "code": "SlowDown", "probability": 1.5}, "probability"),
        ({"status": 503, "code": "SlowDown", "count": 0}, "count"),
        ({"status": 503, "code": "SlowDown", "count": 1, "probability": 0.5}, "count"),
        ({"status": 200, "code": "SlowDown"}, "status"),
        ({"status": 503, "code": "Slow Down"}, "code"),
        ({"operation": "GetObjekt", "drop": True}, "operation"),
        ({"method": "BREW", "drop": True}, "method"),
        ({"drop": True, "cut_body_after": 3}, "drop"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"bucket": "b"}, "status"),
        ({"drop": True, "colour": "red"}, "colour"),
        ({"message": "hi", "drop": True}, "message"),
        (["not", "an", "object"], "rule"),
    ],
)
def test_a_malformed_rule_names_its_field(rule, field):
    with pytest.raises(FieldError) as raised:
        parse_rule(rule)
    assert raised.value.field_name == field


def test_rules_fire_in_order_for_their_count_or_with_their_probability():
    chances = iter([0.9, 0.1])
    rules = FaultRules(
        [
            FaultRule(operation="PutObject", status=503, code="SlowDown", count=2),
            FaultRule(bucket="b", prefix="logs/", probability=0.5, drop=True),
        ],
        chance=lambda: next(chances),
    )
    assert rules.pick("PUT", "PutObject", "b", "x").rule.code == "SlowDown"
    assert rules.pick("PUT", "PutObject", "b", "x").rule.code == "SlowDown"
    assert rules.pick("PUT", "PutObject", "b", "x") is None  # count used up
    assert rules.pick("GET", "GetObject", "other", "logs/1") is None  # another bucket
    assert rules.pick("GET", "GetObject", "b", "data/1") is None  # another prefix
    assert rules.pick("GET", "GetObject", "b", "logs/1") is None  # chance 0.9 >= 0.5
    assert rules.pick("GET", "GetObject", "b", "logs/1").rule.drop  # chance 0.1 < 0.5
    assert [(rule["remaining"], rule["injected"]) for rule in rules.listing()] == [(0, 2), (None, 1)]


# --- against a real gateway process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway():
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def faults(gateway: MotoServer):
    """Installs rules on the gateway (POST /_faults); every rule is gone after the test."""
    gateway.reset()

    def install(**rule) -> dict:
        response = requests.post(f"{gateway.url}/_faults", json=rule, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    yield install
    assert requests.delete(f"{gateway.url}/_faults", timeout=10).status_code == 204


def client(gateway: MotoServer, attempts: int = 1, **options):
    retries = {"mode": "standard", "total_max_attempts": attempts}
    return make_test_client(gateway.url, retries=retries, **options)


def bucket_with(gateway: MotoServer, objects: dict[str, bytes], bucket: str = "faulty") -> None:
    s3 = client(gateway)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_the_fault_api_installs_lists_and_removes_rules(gateway, faults):
    url = f"{gateway.url}/_faults"
    first = faults(operation="GetObject", status=503, code="SlowDown", count=3)
    second = faults(method="put", prefix="tmp/", latency_ms=20, probability=0.25)
    assert first["id"] != second["id"]
    assert first == {
        "id": first["id"], "operation": "GetObject", "status": 503, "code": "SlowDown", "count": 3,
        "remaining": 3, "injected": 0,
    }  # fmt: skip
    assert second["method"] == "PUT"
    listed = requests.get(url, timeout=10)
    assert listed.status_code == 200 and listed.headers["Content-Type"] == "application/json"
    assert [rule["id"] for rule in listed.json()] == [first["id"], second["id"]]

    refused = requests.post(url, json={"status": 503, "code": "SlowDown", "probability": 7}, timeout=10)
    assert refused.status_code == 400 and refused.json()["field"] == "probability"
    assert requests.post(url, data=b"{not json", timeout=10).json()["field"] == "rule"
    assert requests.post(url, data=b"x" * 70_000, timeout=10).status_code == 413
    assert requests.put(url, json={}, timeout=10).status_code == 405
    assert requests.post(url, data=b"[" * 60_000, timeout=10).json()["field"] == "rule"

    assert requests.delete(f"{url}/{first['id']}", timeout=10).status_code == 204
    assert requests.delete(f"{url}/{first['id']}", timeout=10).status_code == 404
    assert [rule["id"] for rule in requests.get(url, timeout=10).json()] == [second["id"]]
    assert requests.delete(url, timeout=10).status_code == 204
    assert requests.get(url, timeout=10).json() == []


def test_the_number_of_rules_is_bounded(gateway, faults):
    for _ in range(1000):
        requests.post(f"{gateway.url}/_faults", json={"bucket": "x", "latency_ms": 1}, timeout=10)
    refused = requests.post(f"{gateway.url}/_faults", json={"bucket": "x", "latency_ms": 1}, timeout=10)
    assert refused.status_code == 409 and "DELETE /_faults" in refused.json()["error"]


def test_rules_never_touch_the_gateways_own_paths(gateway, faults):
    faults(status=500, code="InternalError")
    faults(drop=True)
    health = requests.get(f"{gateway.url}/_health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert requests.get(f"{gateway.url}/_faults", timeout=10).status_code == 200
    # ...while every S3 request fails
    plain = requests.get(f"{gateway.url}/", timeout=10)
    assert aws_error(plain)["Code"] == "InternalError"


def test_standard_retries_get_through_slowdowns(gateway, faults):
    bucket_with(gateway, {})
    rule = faults(operation="PutObject", bucket="faulty", status=503, code="SlowDown", count=3)
    s3 = client(gateway, attempts=5)
    answer = s3.put_object(Bucket="faulty", Key="report.csv", Body=b"a,b\n1,2\n")
    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    assert s3.get_object(Bucket="faulty", Key="report.csv")["Body"].read() == b"a,b\n1,2\n"
    (listed,) = requests.get(f"{gateway.url}/_faults", timeout=10).json()
    assert (listed["id"], listed["remaining"], listed["injected"]) == (rule["id"], 0, 3)
    log = wait_until(
        lambda: gateway.log_path.read_text().count(f"fault {rule['id']} injected") == 3 and gateway.log_path,
        10,
        "three log lines of the injected faults",
    )
    assert "PUT /faulty/report.csv (PutObject): 503 SlowDown" in log.read_text()


def test_with_one_attempt_the_slowdown_reaches_the_caller_as_s3s_error(gateway, faults):
    bucket_with(gateway, {"a.txt": b"a"})
    faults(operation="GetObject", status=503, code="SlowDown")
    with pytest.raises(ClientError) as raised:
        client(gateway).get_object(Bucket="faulty", Key="a.txt")
    error = raised.value.response
    assert error["Error"]["Code"] == "SlowDown"
    assert error["Error"]["Message"] == "Please reduce your request rate."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert error["ResponseMetadata"]["RequestId"]
    assert error["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/xml"


def test_a_head_request_gets_the_status_without_a_body(gateway, faults):
    bucket_with(gateway, {"a.txt": b"a"})
    faults(operation="HeadObject", status=500, code="InternalError")
    with pytest.raises(ClientError) as raised:
        client(gateway).head_object(Bucket="faulty", Key="a.txt")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_a_body_cut_short_raises_botocores_read_error(gateway, faults):
    body = bytes(range(256)) * 64
    bucket_with(gateway, {"big.bin": body})
    faults(operation="GetObject", prefix="big", cut_body_after=1000, count=1)
    answer = client(gateway).get_object(Bucket="faulty", Key="big.bin")
    assert answer["ContentLength"] == len(body)
    with pytest.raises(ResponseStreamingError, match=r"IncompleteRead\(1000 bytes read"):
        answer["Body"].read()
    faults(operation="GetObject", prefix="big", cut_body_after=0, count=1)
    answer = client(gateway).get_object(Bucket="faulty", Key="big.bin")  # the status and headers arrive
    with pytest.raises(ResponseStreamingError, match=r"IncompleteRead\(0 bytes read"):
        answer["Body"].read()
    # the gateway keeps serving, and the object is whole
    assert client(gateway).get_object(Bucket="faulty", Key="big.bin")["Body"].read() == body


def test_a_dropped_connection_is_a_connection_error_that_retries_get_through(gateway, faults):
    bucket_with(gateway, {"a.txt": b"a"})
    faults(operation="GetObject", drop=True, count=1)
    with pytest.raises(ConnectionClosedError):
        client(gateway).get_object(Bucket="faulty", Key="a.txt")
    faults(operation="GetObject", drop=True, count=2)
    answer = client(gateway, attempts=4).get_object(Bucket="faulty", Key="a.txt")
    assert answer["Body"].read() == b"a"
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2


def test_latency_is_added_before_the_answer(gateway, faults):
    bucket_with(gateway, {"a.txt": b"a"})
    s3 = client(gateway)
    faults(operation="HeadObject", latency_ms=600)
    started = time.monotonic()
    s3.head_object(Bucket="faulty", Key="a.txt")
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    assert s3.get_object(Bucket="faulty", Key="a.txt")["Body"].read() == b"a"  # GetObject: no rule
    assert time.monotonic() - started < 0.6


def test_a_prefix_rule_leaves_other_keys_and_buckets_alone(gateway, faults):
    bucket_with(gateway, {"flaky/1": b"1", "steady/1": b"2"})
    bucket_with(gateway, {"flaky/1": b"3"}, bucket="other")
    faults(bucket="faulty", prefix="flaky/", status=500, code="InternalError")
    s3 = client(gateway)
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="faulty", Key="flaky/1")
    assert raised.value.response["Error"]["Code"] == "InternalError"
    with pytest.raises(ClientError):
        s3.put_object(Bucket="faulty", Key="flaky/2", Body=b"x")
    assert s3.get_object(Bucket="faulty", Key="steady/1")["Body"].read() == b"2"
    assert s3.get_object(Bucket="other", Key="flaky/1")["Body"].read() == b"3"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="faulty")["Contents"]] == ["flaky/1", "steady/1"]


def test_virtual_host_requests_match_by_bucket_too(gateway, faults):
    bucket_with(gateway, {"a.txt": b"a"})
    faults(bucket="faulty", prefix="a", status=503, code="ServiceUnavailable")
    answer = requests.get(f"{gateway.url}/a.txt", headers={"Host": "faulty.s3.amazonaws.com"}, timeout=10)
    assert aws_error(answer)["Code"] == "ServiceUnavailable"
    elsewhere = requests.get(f"{gateway.url}/b.txt", headers={"Host": "faulty.s3.amazonaws.com"}, timeout=10)
    # S3's own answer to an unsigned reader of a private bucket, not the rule's
    assert aws_error(elsewhere)["Code"] == "AccessDenied"


def test_gateway_faults_installs_rules_at_start():
    rules = [{"operation": "ListBuckets", "status": 500, "code": "InternalError", "count": 1}]
    server = MotoServer(env={"GATEWAY_FAULTS": json.dumps(rules)})
    server.start()
    try:
        (installed,) = requests.get(f"{server.url}/_faults", timeout=10).json()
        assert installed["operation"] == "ListBuckets" and installed["remaining"] == 1
        with pytest.raises(ClientError) as raised:
            client(server).list_buckets()
        assert raised.value.response["Error"]["Code"] == "InternalError"
        assert client(server).list_buckets()["Buckets"] == []
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('[{"status": 503, "code": "SlowDown", "probability": 2}]', "rule 0: probability"),
        ("[{", "not JSON"),
        ('{"status": 503}', "expected a JSON list"),
    ],
)
def test_a_bad_gateway_faults_is_one_line_naming_the_variable(value, says):
    done = subprocess.run(
        [sys.executable, "-m", "moto_gateway"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_FAULTS": value, "GATEWAY_PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("moto_gateway: invalid configuration: GATEWAY_FAULTS=") and says in line
