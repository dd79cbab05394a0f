"""Connection ops: clients (who is connected, what each waits on) and
kill_client (close a connection; its parked request is cancelled)."""
import os
import subprocess
import sys
import time

import pytest

from ipcwire import E, Closed, request_bytes, wait_until
from ipcd_testlib import die_with_parent

HERE = os.path.dirname(os.path.abspath(__file__))

# A client in its own process: says hello as NAME, prints "ready", then waits
# on queue.get QUEUE forever and prints what became of it.
CHILD = r"""
import sys
import pytest
sys.path.insert(0, sys.argv[1])
from ipcwire import Client, Closed
c = Client(sys.argv[2], name=sys.argv[3])
print("ready", flush=True)
try:
    st, res = c.call("queue.get", sys.argv[4])
    print("got", st, res, flush=True)
except Closed:
    print("closed", flush=True)
"""


def spawn_blocker(daemon, name, queue):
    p = subprocess.Popen([sys.executable, "-c", CHILD, HERE, daemon.sock_path, name, queue],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                         preexec_fn=die_with_parent)
    assert p.stdout.readline() == "ready\n"
    return p


def finish(p, timeout=10):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("client process did not finish")
    return out


def all_clients(c, count=None):
    """Every connection, paging with COUNT per page."""
    cursor, out = 0, []
    while True:
        args = (cursor,) if count is None else (cursor, count)
        cursor, page = c.ok("clients", *args)
        out += page
        if cursor == 0:
            return out


def parked(c, pid):
    """The entry of process pid's connection once its request is parked, else None."""
    es = [e for e in all_clients(c) if e["pid"] == pid]
    return es[0] if len(es) == 1 and es[0]["blocked"] else None


def by_id(c):
    return {e["id"]: e for e in all_clients(c)}


@pytest.mark.socket_only("counts each connection's requests and bytes exactly: shm.open is one more")
def test_clients_shows_each_connection_with_its_counters(daemon, client):
    other = daemon.connect(name="other")
    assert other.ok("ping") == "pong"
    me_before = [e for e in all_clients(client) if e["self"]]
    assert len(me_before) == 1
    lst = all_clients(client)
    assert [e["id"] for e in lst] == sorted(e["id"] for e in lst)
    assert len(lst) == 2
    me = [e for e in lst if e["self"]][0]
    them = [e for e in lst if not e["self"]][0]
    assert set(me) == {"id", "pid", "uid", "gid", "name", "comm", "connected", "ops", "bytes_in",
                       "bytes_out", "self", "holds", "blocked"}
    # both connections are this process
    for e in (me, them):
        assert e["pid"] == os.getpid() and e["uid"] == os.getuid() and e["gid"] == os.getgid()
        with open("/proc/%d/comm" % os.getpid()) as f:
            assert e["comm"] == f.read().strip()
        assert e["blocked"] is None
        assert abs(e["connected"] - time.time()) < 60
    assert me["name"] == "pytest" and them["name"] == "other"
    assert them["ops"] == 2          # hello, ping
    assert me["ops"] == me_before[0]["ops"] + 1 == 3   # hello, clients, clients
    assert them["bytes_in"] > 0 and them["bytes_out"] > 0
    # counters move with traffic
    other.ok("ping", "x" * 1000)
    them2 = by_id(client)[them["id"]]
    assert them2["ops"] == 3
    assert them2["bytes_in"] >= them["bytes_in"] + 1000
    assert them2["bytes_out"] >= them["bytes_out"] + 1000


def test_clients_pages(daemon, client):
    conns = [daemon.connect(name="c%d" % i) for i in range(7)]
    every = all_clients(client)
    assert len(every) == 8
    assert [e["id"] for e in all_clients(client, 3)] == [e["id"] for e in every]
    cursor, page = client.ok("clients", 0, 3)
    assert len(page) == 3 and cursor == every[3]["id"]
    cursor, page = client.ok("clients", cursor, 100)
    assert cursor == 0 and [e["id"] for e in page] == [e["id"] for e in every[3:]]
    # a closed connection leaves the list
    conns[0].close()
    wait_until(lambda: len(all_clients(client)) == 7, what="a closed connection to leave the list")
    assert client.ok("clients", 10 ** 9) == [0, []]
    assert client.err("clients", -1) == E.BADARG
    assert client.err("clients", "x") == E.BADARG


def test_a_client_process_is_shown_blocked_then_killed_and_its_get_cancelled(daemon, client):
    p = spawn_blocker(daemon, "blocker", "jobs")
    try:
        e = wait_until(lambda: parked(client, p.pid), what="the child's get to park")
        assert e["name"] == "blocker"
        with open("/proc/%d/comm" % p.pid) as f:
            assert e["comm"] == f.read().strip()
        assert e["blocked"]["op"] == "queue.get" and e["blocked"]["name"] == "jobs"
        assert 0 <= time.time() - e["blocked"]["since"] < 60
        assert client.ok("stat", "jobs")["waiting"] == 1

        assert client.ok("kill_client", e["id"]) == 1
        assert finish(p) == "closed\n"
        assert client.ok("exists", "jobs") is False   # made for the get alone: gone with it, as on a hang-up
        assert all(x["id"] != e["id"] for x in all_clients(client))
        # nothing put afterwards goes to the killed getter: the queue keeps it
        client.ok("queue.put", "jobs", "item")
        assert client.ok("queue.qsize", "jobs") == 1
        assert client.ok("queue.get", "jobs", 0) == "item"
        assert client.err("kill_client", e["id"]) == E.NOTFOUND
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_a_put_in_the_same_batch_as_the_kill_stays_in_the_queue(daemon, client):
    p = spawn_blocker(daemon, "blocker", "jobs")
    try:
        e = wait_until(lambda: parked(client, p.pid), what="the child's get to park")
        # pipelined: kill, then put, in one write
        client.send("kill_client", e["id"])
        client.send("queue.put", "jobs", 42)
        assert client.recv().result == 1
        assert client.recv().status == 0
        assert finish(p) == "closed\n"
        assert client.ok("queue.qsize", "jobs") == 1
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_kill_client_by_pid_closes_every_connection_of_that_process(daemon, client):
    p1 = spawn_blocker(daemon, "b1", "q1")
    p2 = spawn_blocker(daemon, "b2", "q2")
    try:
        wait_until(lambda: parked(client, p1.pid), what="b1 parked")
        assert client.ok("kill_client", p1.pid, "pid") == 1
        assert finish(p1) == "closed\n"
        # the other process is untouched and still waiting
        assert p2.poll() is None
        wait_until(lambda: parked(client, p2.pid), what="b2 parked")
        client.ok("queue.put", "q2", "for b2")
        assert finish(p2) == "got 0 for b2\n"
        assert client.ok("kill_client", p1.pid, "pid") == 0   # none left to close
    finally:
        for p in (p1, p2):
            if p.poll() is None:
                p.kill()
                p.wait()
    # two connections of this process (and this one among them): all go,
    # this one after its reply
    other = daemon.connect(name="other")
    n = len([e for e in all_clients(client) if e["pid"] == os.getpid()])
    assert n == 2
    assert client.ok("kill_client", os.getpid(), "pid") == 2
    assert client.expect_closed()
    assert other.expect_closed()


def test_a_client_may_kill_itself_after_its_reply(daemon, client):
    me = [e for e in all_clients(client) if e["self"]][0]
    rid = client.next_id
    client.next_id += 2
    # pipelined in one write: the ping after it is never answered
    client.send_raw(request_bytes(rid, "kill_client", me["id"]) + request_bytes(rid + 1, "ping"))
    r = client.recv()
    assert (r.id, r.status, r.result) == (rid, 0, 1)
    try:
        client.recv()
        raise AssertionError("a reply after kill_client of itself")
    except Closed:
        pass
    other = daemon.connect()
    assert all(e["id"] != me["id"] for e in all_clients(other))


def test_a_killed_clients_unacked_delivery_goes_back(daemon, client):
    holder = daemon.connect(name="holder")
    holder.ok("queue.put", "jobs", "x")
    assert holder.ok("queue.get_ack", "jobs", 0)["value"] == "x"
    assert client.ok("stat", "jobs")["pending"] == 1
    (e,) = [x for x in all_clients(client) if x["name"] == "holder"]
    assert client.ok("kill_client", e["id"]) == 1
    assert holder.expect_closed()
    assert client.ok("stat", "jobs")["pending"] == 0
    assert client.ok("queue.get", "jobs", 0) == "x"


def test_kill_client_arguments(daemon, client):
    assert client.err("kill_client") == E.BADARG
    assert client.err("kill_client", "1") == E.BADARG
    assert client.err("kill_client", 1, "name") == E.BADARG
    assert client.err("kill_client", 10 ** 6) == E.NOTFOUND
    assert client.ok("kill_client", 10 ** 6, "pid") == 0
    assert client.err("kill_client", 10 ** 6, None) == E.NOTFOUND
    assert client.ok("ping") == "pong"
