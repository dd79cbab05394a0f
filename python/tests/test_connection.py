"""Connections: the default socket rule, lazy connect, reconnecting after a
daemon restart, which requests are repeated after a lost reply, limits."""
import os
import socket
import struct
import tempfile
import threading

import msgpack
import pytest

import ipcd
from ipcd import _tables
from ipcd.client import default_socket


def test_default_socket_rule(monkeypatch):
    monkeypatch.setenv("IPCD_SOCKET", "/x/explicit.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert default_socket() == "/x/explicit.sock"
    assert ipcd.Client().path == "/x/explicit.sock"
    assert ipcd.Client("/given.sock").path == "/given.sock"
    monkeypatch.setenv("IPCD_SOCKET", "")  # empty counts as unset
    assert default_socket() == "/run/user/7/ipcd.sock"
    monkeypatch.delenv("IPCD_SOCKET")
    assert default_socket() == "/run/user/7/ipcd.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert default_socket() == "/run/ipcd/ipcd.sock"


def test_connect_is_lazy_and_one_per_path(daemon):
    with tempfile.TemporaryDirectory() as d:
        c = ipcd.Client(os.path.join(d, "nobody.sock"))  # nothing listens: no error yet
        with pytest.raises(ipcd.ConnectionLost) as ei:
            c.ping()
        assert isinstance(ei.value, ConnectionError) and "nobody.sock" in str(ei.value)
    a = ipcd.connect(daemon.sock_path)
    assert ipcd.connect(daemon.sock_path) is a and ipcd.default_client() is a


def test_reconnects_after_daemon_restart(make_daemon):
    d1 = make_daemon()
    c = ipcd.Client(d1.sock_path)
    q = ipcd.Queue("jobs", client=c)
    q.put(1)
    assert q.qsize() == 1
    path, workdir = d1.sock_path, d1.dir
    d1.stop()
    d2 = make_daemon(workdir=workdir, sock_path=path)
    # The old connection is found closed before sending: both a read and a
    # write go to the new daemon, which starts empty.
    assert q.qsize() == 0
    q.put(2)
    assert q.get(timeout=1) == 2
    assert c.server_info is not None
    d2.stop()


def test_parked_request_of_a_daemon_that_does_not_come_back_is_connection_lost(make_daemon):
    # SHUTDOWN says the get had no effect: it is sent again, and with no
    # daemon to take it within reconnect_timeout it fails as unreachable.
    d = make_daemon()
    c = ipcd.Client(d.sock_path, reconnect_timeout=0.5)
    q = ipcd.Queue("q", client=c)
    watcher = ipcd.Client(d.sock_path)
    errors = []

    def getter():
        try:
            q.get(timeout=30)
        except ipcd.Error as e:
            errors.append(e)
    t = threading.Thread(target=getter)
    t.start()
    import time
    deadline = time.monotonic() + 10
    while not watcher.call("exists", "q") or watcher.call("stat", "q")["waiting"] == 0:
        assert time.monotonic() < deadline, "get did not park"
    watcher.close()
    d.stop()
    t.join(10)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ipcd.ConnectionLost), errors
    assert "cannot connect" in str(errors[0])


class FakeServer:
    """A one-thread server that answers hello, then drops the connection on
    the first request after it, answering requests properly on the next
    connections: to see which requests the client repeats."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.requests = []
        self.conns = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @staticmethod
    def read_frame(s):
        hdr = b""
        while len(hdr) < 4:
            chunk = s.recv(4 - len(hdr))
            if not chunk:
                return None
            hdr += chunk
        (n,) = struct.unpack(">I", hdr)
        body = b""
        while len(body) < n:
            body += s.recv(n - len(body))
        return msgpack.unpackb(body, raw=False)

    @staticmethod
    def reply(s, rid, result):
        body = msgpack.packb([rid, 0, result])
        s.sendall(struct.pack(">I", len(body)) + body)

    def run(self):
        try:
            for _ in range(2):
                s, _ = self.sock.accept()
                s.settimeout(10)
                self.conns += 1
                with s:
                    while True:
                        req = self.read_frame(s)
                        if req is None:
                            break
                        if req[1] == 1:  # hello
                            self.reply(s, req[0], {"version": 1, "server": "fake",
                                                   "max_frame": 1 << 20, "max_name": 255})
                            continue
                        self.requests.append(req[1])
                        if self.conns == 1:
                            break  # lose the reply
                        self.reply(s, req[0], 7)
        except OSError:
            pass

    def close(self):
        self.sock.close()
        self.thread.join(10)


@pytest.fixture
def fake(tmp_path):
    f = FakeServer(str(tmp_path / "fake.sock"))
    yield f
    f.close()


def test_read_whose_reply_was_lost_is_repeated(fake):
    c = ipcd.Client(fake.path)
    assert ipcd.Queue("q", client=c).qsize() == 7
    code = _tables.OPS["queue.qsize"][0]
    assert fake.requests == [code, code] and fake.conns == 2
    c.close()


def test_write_whose_reply_was_lost_is_not_repeated(fake):
    c = ipcd.Client(fake.path)
    with pytest.raises(ipcd.ConnectionLost) as ei:
        ipcd.Dict("d", client=c).incr("k")
    assert "may or may not" in str(ei.value)
    assert fake.requests == [_tables.OPS["dict.incr"][0]]
    # the next request makes a new connection
    assert ipcd.Dict("d", client=c).incr("k") == 7
    assert fake.conns == 2
    c.close()


def test_request_over_max_frame_is_toobig_locally(make_daemon):
    d = make_daemon("-o", "max_frame=1024")
    c = ipcd.Client(d.sock_path)
    lst = ipcd.List("l", client=c)
    with pytest.raises(ipcd.TooBig):
        lst.append(b"x" * 2000)
    lst.append(b"x" * 100)  # the connection was not lost
    assert len(lst) == 1
    lst.extend([b"y" * 100] * 8)
    assert lst[:] == [b"x" * 100] + [b"y" * 100] * 8  # a reply over max_frame is fine
    c.close()


def test_threads_share_the_connection(client, name):
    d = ipcd.Dict(name)
    def work():
        for _ in range(500):
            d.incr("n")
    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert d["n"] == 2000


def test_errors_carry_op_and_name(client, name):
    with pytest.raises(ipcd.NotFound) as ei:
        client.call("type", name)
    assert ei.value.op == "type" and ei.value.wire_name == "NOTFOUND" and ei.value.code == 6
    ipcd.List(name).append(1)
    with pytest.raises(ipcd.WrongType):
        ipcd.Dict(name)["k"]
    with pytest.raises(ipcd.BadName):
        ipcd.List("").append(1)
    with pytest.raises(ipcd.BadArg):
        client.call("queue.get", name, "bad")
    with pytest.raises(ValueError):
        client.call("no.such.op")
    assert client.type(name) == "list" and client.exists(name)
    assert (name, "list") in client.ls()
    assert ipcd.List(name).delete() and not ipcd.List(name).exists()


def test_chmod_chown_and_the_permission_error(daemon):
    c = ipcd.connect(daemon.sock_path)
    c.call("create", "acl", "dict", {"mode": "0600"})
    c.chmod("acl", 0o640)
    assert c.call("stat", "acl")["mode"] == 0o640
    c.chmod("acl", "0604")
    c.chown("acl", group=4242)
    st = c.call("stat", "acl")
    assert (st["mode"], st["owner"], st["group"]) == (0o604, os.geteuid(), 4242)
    with pytest.raises(ipcd.BadArg):
        c.chmod("acl", "rwx")
    # PERMISSION, from any uid's daemon: a PermissionError with its own class
    code = next(code for code, (wire, _, _) in _tables.ERRORS.items() if wire == "PERMISSION")
    err = ipcd.errors.error_for(code, "no")
    assert isinstance(err, ipcd.Permission) and isinstance(err, PermissionError)
