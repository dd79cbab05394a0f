"""event: threading.Event for processes. set wakes every wait (true); a wait
whose timeout passes answers false, never early; clear; is_set."""
import random
import threading
import time

from actors import ProcessClient
from ipcwire import E, wait_until
from syncpeers import Peer, cleanup


def test_set_clear_is_set(client):
    assert client.ok("event.is_set", "ev") is False
    assert client.ok("event.wait", "ev", 0) is False
    assert client.ok("event.set", "ev") is None
    assert client.ok("event.is_set", "ev") is True
    assert client.ok("event.wait", "ev") is True
    assert client.ok("event.wait", "ev", 0) is True
    client.ok("event.clear", "ev")
    assert client.ok("event.is_set", "ev") is False
    st = client.ok("stat", "ev")
    assert st["set"] is False and st["sets"] == 1 and st["options"] == {}
    assert client.err("create", "ev2", "event", {"x": 1}) == E.BADARG


def test_a_wait_times_out_false_never_early(client):
    t0 = time.monotonic()
    assert client.ok("event.wait", "ev", 0.25) is False
    assert time.monotonic() - t0 >= 0.25
    assert client.ok("exists", "ev") is False    # a wait leaves no object behind


def test_set_wakes_every_waiting_process(daemon, client):
    peers = [Peer(daemon.sock_path, [["event.wait", "go", 60]]) for _ in range(4)]
    try:
        wait_until(lambda: client.ok("stat", "go")["waiting"] == 4 if client.ok("exists", "go") else False,
                   timeout=20)
        client.ok("event.set", "go")
        assert [p.reply()[:2] for p in peers] == [(0, True)] * 4
    finally:
        cleanup(peers)


def test_deleted_while_waiting(client, client2):
    client.ok("create", "ev", "event")
    client2.send("event.wait", "ev", 30)
    wait_until(lambda: client.ok("stat", "ev")["waiting"] == 1)
    client.ok("delete", "ev")
    assert client2.recv().status == E.DELETED


def test_same_as_threading_over_a_random_sequence(daemon):
    """Three processes, each on its own connection, take turns at random."""
    rng = random.Random(7)
    model = threading.Event()
    peers = [ProcessClient(daemon.sock_path, name="peer%d" % i) for i in range(3)]
    try:
        for p in peers:
            p.ok("ping")
        conns = daemon.connect().ok("clients")[1]
        assert sorted(c["pid"] for c in conns if c["name"].startswith("peer")) == sorted(p.pid for p in peers)
        for step in range(300):
            op = rng.choice(["set", "clear", "is_set", "wait"])
            client = rng.choice(peers)
            if op == "set":
                model.set(), client.ok("event.set", "M")
            elif op == "clear":
                model.clear(), client.ok("event.clear", "M")
            elif op == "is_set":
                assert client.ok("event.is_set", "M") == model.is_set(), step
            else:
                assert client.ok("event.wait", "M", 0) == model.wait(0), step
    finally:
        for p in peers:
            p.close()
