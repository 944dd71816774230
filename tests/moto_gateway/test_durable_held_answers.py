"""Held answers (wsgi/held_answers.py): with a state folder, a mutating request's answer is written at once
but sent only once its changes are committed, and no request thread sleeps meanwhile. Against a real
gateway whose writer process is stopped (SIGSTOP): PUTs get no answer, reads on other connections go on
even with more PUTs held than the server has threads, and once the writer runs again every PUT gets its
200 and survives a kill -9. The counting and the one wake-up per group, without sockets."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from moto_gateway.state.durable.store import DurabilityError, Ticket
from moto_gateway.wsgi.held_answers import HeldAnswer, one_wake_up, refusal_bytes, wake_up
from testkit.servers import MotoServer
from tests.moto_gateway.helpers import client

REGION = {"LocationConstraint": "ap-northeast-1"}
THREADS = 4


class FakeTicket:
    """What HeldAnswer needs of a ticket; the store's Ticket is tested through the real gateway below."""

    def __init__(self) -> None:
        self.callbacks = []

    def when_done(self, callback) -> None:
        self.callbacks.append(callback)

    def finish(self, error=None) -> None:
        for callback in self.callbacks:
            callback(error)


def test_an_answer_goes_once_every_ticket_is_done_and_it_is_written():
    released = []
    tickets = [FakeTicket(), FakeTicket()]
    held = HeldAnswer(tickets, lambda error: ("503", [], b""), released.append)
    tickets[0].finish()
    held.settle()  # the task wrote the answer
    assert released == []
    tickets[1].finish()
    assert released == [held] and held.error is None


def test_a_ticket_that_failed_makes_the_answer_its_refusal():
    released = []
    failure = OSError("disk full")
    ticket = FakeTicket()
    held = HeldAnswer([ticket], lambda error: ("503", [], b""), released.append)
    ticket.finish(failure)
    held.settle()
    assert released == [held] and held.error is failure


def test_the_refusal_on_the_wire_closes_the_connection_with_its_own_length():
    data = refusal_bytes(
        "HTTP/1.1",
        ("503 Service Unavailable", [("Content-Length", "99"), ("Retry-After", "1")], b"<Error/>"),
    )
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable" and body == b"<Error/>"
    assert sorted(lines[1:]) == ["Connection: close", "Content-Length: 8", "Retry-After: 1"]


def test_answers_released_in_one_group_wake_their_server_once():
    pulls = []

    class Server:
        def pull_trigger(self) -> None:
            pulls.append(1)

    server = Server()
    with one_wake_up():
        for _ in range(5):
            wake_up(server.pull_trigger)
        assert pulls == []
    assert pulls == [1]
    wake_up(server.pull_trigger)  # outside a group: at once
    assert pulls == [1, 1]


def test_a_ticket_calls_back_once_done_and_at_once_when_it_already_is():
    ticket = Ticket([("setting", "a", "b")])
    heard = []

    def broken(_error):
        raise RuntimeError("a closed server")

    ticket.when_done(broken)
    ticket.when_done(heard.append)
    ticket.finish(OSError("disk full"))  # the broken callback does not keep the other from hearing
    assert [type(error) for error in heard] == [OSError]
    ticket.when_done(heard.append)
    assert len(heard) == 2
    with pytest.raises(DurabilityError, match="disk full"):
        ticket.wait(0)


def test_waiting_for_a_ticket_nobody_finishes_times_out():
    with pytest.raises(DurabilityError, match="did not answer in time"):
        Ticket([("setting", "a", "b")]).wait(0.05)


def writer_pid(gateway_pid: int) -> int:
    with open(f"/proc/{gateway_pid}/task/{gateway_pid}/children") as children:
        pids = [int(pid) for pid in children.read().split()]
    for pid in pids:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if b"writer.py" in cmdline.read():
                return pid
    raise AssertionError(f"no writer process among {pids}")


@pytest.fixture
def gateway(tmp_path):
    server = MotoServer(env={"GATEWAY_STATE_DIR": str(tmp_path / "state"), "GATEWAY_THREADS": str(THREADS)})
    server.start()
    yield server
    server.stop()


def test_held_puts_get_no_answer_until_stored_and_take_no_thread_from_reads(gateway):
    s3 = client(gateway.url)
    s3.create_bucket(Bucket="held", CreateBucketConfiguration=REGION)
    s3.put_object(Bucket="held", Key="before", Body=b"b")
    writer = writer_pid(gateway.process.pid)
    held_puts = 2 * THREADS
    clients = [client(gateway.url, retries={"max_attempts": 1, "mode": "standard"}) for _ in range(held_puts)]
    os.kill(writer, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(held_puts) as pool:
            puts = [
                pool.submit(c.put_object, Bucket="held", Key=f"k{index}", Body=b"x" * 100)
                for index, c in enumerate(clients)
            ]
            time.sleep(2)
            assert not any(put.done() for put in puts), "an answer left before its change was stored"
            reader = client(gateway.url, retries={"max_attempts": 1, "mode": "standard"})
            started = time.monotonic()
            assert reader.get_object(Bucket="held", Key="before")["Body"].read() == b"b"
            assert time.monotonic() - started < 5
            assert not any(put.done() for put in puts)
            os.kill(writer, signal.SIGCONT)
            done, _pending = wait(puts, timeout=60)
            assert [put.result()["ResponseMetadata"]["HTTPStatusCode"] for put in done] == [200] * held_puts
    finally:
        os.kill(writer, signal.SIGCONT)
    gateway.kill()
    gateway.start()
    s3 = client(gateway.url)
    keys = {entry["Key"] for entry in s3.list_objects_v2(Bucket="held")["Contents"]}
    assert keys == {"before", *(f"k{index}" for index in range(held_puts))}
