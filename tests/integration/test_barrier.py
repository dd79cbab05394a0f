"""barrier: threading.Barrier for processes. The last of `parties` to
arrive releases them all, each with its arrival index; a timeout, an abort
or a waiting party's connection closing breaks it for everyone (BROKEN)
until reset."""
import random
import select
import threading
import time

from actors import Actor, ProcessClient
from ipcd_testlib import NOT_LATE
from ipcwire import E, wait_until
from syncpeers import Peer, cleanup


def n_waiting(c, name):
    return c.ok("barrier.n_waiting", name)


def test_parties_arrive_and_are_released_with_their_index(daemon, client):
    client.ok("create", "B", "barrier", {"parties": 3})
    assert client.ok("barrier.parties", "B") == 3
    a, b = daemon.connect(name="a"), daemon.connect(name="b")
    a.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 1)
    b.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 2)
    assert client.ok("stat", "B")["waiters"] == [a_pid for a_pid in client.ok("stat", "B")["waiters"]]
    assert client.ok("barrier.wait", "B") == 2           # the last releases them all
    assert a.recv().result == 0 and b.recv().result == 1
    assert n_waiting(client, "B") == 0 and client.ok("barrier.broken", "B") is False
    # a new round
    a.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 1)
    b.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 2)
    assert client.ok("barrier.wait", "B") == 2
    assert (a.recv().result, b.recv().result) == (0, 1)
    assert client.ok("stat", "B")["rounds"] == 2


def test_options(client):
    assert client.err("create", "B", "barrier", {"parties": 0}) == E.BADARG
    assert client.err("create", "B", "barrier", {"size": 2}) == E.BADARG
    assert client.err("barrier.wait", "nosuch", 0) == E.BADARG   # made without parties
    assert client.ok("exists", "nosuch") is False
    client.ok("create", "one", "barrier", {"parties": 1})
    assert client.ok("barrier.wait", "one") == 0


def test_a_timeout_breaks_it_for_everyone(daemon, client):
    client.ok("create", "B", "barrier", {"parties": 3})
    a = daemon.connect(name="a")
    a.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 1)
    t0 = time.monotonic()
    assert client.err("barrier.wait", "B", 0.25) == E.BROKEN
    assert time.monotonic() - t0 >= 0.25
    assert a.recv().status == E.BROKEN
    assert client.ok("barrier.broken", "B") is True
    assert client.err("barrier.wait", "B", 5) == E.BROKEN      # until reset
    client.ok("barrier.reset", "B")
    assert client.ok("barrier.broken", "B") is False
    assert client.err("barrier.wait", "B", 0) == E.BROKEN      # wait(0) times out at once: broken again


def test_abort_and_reset_answer_the_waiting_broken(daemon, client):
    client.ok("create", "B", "barrier", {"parties": 3})
    a = daemon.connect(name="a")
    a.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 1)
    client.ok("barrier.reset", "B")
    assert a.recv().status == E.BROKEN
    assert client.ok("barrier.broken", "B") is False and n_waiting(client, "B") == 0
    a.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 1)
    client.ok("barrier.abort", "B")
    assert a.recv().status == E.BROKEN
    assert client.ok("barrier.broken", "B") is True


def test_one_of_eight_killed_breaks_it_for_the_other_seven(daemon, client):
    client.ok("create", "B8", "barrier", {"parties": 8})
    peers = []
    try:
        for i in range(7):
            peers.append(Peer(daemon.sock_path, [["barrier.wait", "B8", 60]]))
            wait_until(lambda: n_waiting(client, "B8") == i + 1, timeout=20)
        victim = peers[3]
        killed = time.monotonic()
        victim.kill()
        rest = [p for p in peers if p is not victim]
        got = [p.reply() for p in rest]
        assert [g[0] for g in got] == [E.BROKEN] * 6
        assert max(g[2] for g in got) - killed < NOT_LATE
        assert client.ok("barrier.broken", "B8") is True
        assert client.err("barrier.wait", "B8", 5) == E.BROKEN    # the eighth finds it broken
    finally:
        cleanup(peers)


def test_deleted_while_waiting(client, client2):
    client.ok("create", "B", "barrier", {"parties": 2})
    client2.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 1)
    client.ok("delete", "B")
    assert client2.recv().status == E.DELETED


def test_same_as_threading_over_a_random_sequence(daemon):
    """Actors wait (each in its own thread on both sides), abort and reset
    at random; the indexes, the broken flags and n_waiting agree."""
    rng = random.Random(5)
    parties = 3
    daemon.connect().ok("create", "M", "barrier", {"parties": parties})
    model = threading.Barrier(parties)
    actors = [(Actor(ProcessClient(daemon.sock_path, name="a%d" % i)), Actor(None)) for i in range(4)]
    ctl = daemon.connect(name="ctl")
    waiting = []      # actors with a wait started, in order

    def ipcd_wait(c):
        r = c.call("barrier.wait", "M", 30)
        return r.result if r.status == 0 else E.name(r.status)

    def model_wait(_):
        try:
            return model.wait(30)
        except threading.BrokenBarrierError:
            return "BROKEN"

    try:
        for step in range(120):
            free = [a for a in actors if a not in waiting]
            op = rng.choice(["wait"] * 4 + ["abort", "reset", "state"])
            if op == "wait" and free:
                a = rng.choice(free)
                n = n_waiting(ctl, "M")
                a[0].start(ipcd_wait)
                wait_until(lambda: n_waiting(ctl, "M") == n + 1 or ctl.ok("barrier.broken", "M")
                           or n + 1 == parties, what="the arrival")
                a[1].start(model_wait)
                wait_until(lambda: model.n_waiting == (n + 1) % parties or model.broken, what="the model's arrival")
                waiting.append(a)
                if len(waiting) == parties or model.broken:
                    got = sorted(x[0].result() for x in waiting)
                    want = sorted(x[1].result() for x in waiting)
                    assert got == want, step
                    waiting = []
            elif op == "abort":
                ctl.ok("barrier.abort", "M"), model.abort()
            elif op == "reset":
                ctl.ok("barrier.reset", "M"), model.reset()
            if op in ("abort", "reset") and waiting:
                assert [x[0].result() for x in waiting] == [x[1].result() for x in waiting] == ["BROKEN"] * len(waiting)
                waiting = []
            assert ctl.ok("barrier.broken", "M") == model.broken, step
            assert n_waiting(ctl, "M") == model.n_waiting, step
    finally:
        for a, m in actors:
            a.stop(), m.stop()


ACTION = {"action": True}


def held_round(daemon, client, name, parties=3):
    """parties - 1 parties waiting, then the last arriving with the action
    option: it is told to run the action and the others stay parked."""
    client.ok("create", name, "barrier", {"parties": parties})
    others = [daemon.connect(name="p%d" % i) for i in range(parties - 1)]
    for i, o in enumerate(others):
        o.send("barrier.wait", name, 30, ACTION)
        wait_until(lambda: n_waiting(client, name) == i + 1)
    last = daemon.connect(name="last")
    assert last.ok("barrier.wait", name, 30, ACTION) == {"index": parties - 1, "action": True}
    return others, last


def test_the_action_runs_before_any_party_is_released(daemon, client):
    others, last = held_round(daemon, client, "B")
    st = client.ok("stat", "B")
    assert st["action"] is not None and st["n_waiting"] == 0
    assert client.ok("barrier.broken", "B") is False
    # still held: nothing answered yet, however long the action takes
    assert select.select([o.sock for o in others], [], [], 0.3)[0] == []
    assert last.ok("barrier.done", "B", True) is None
    got = sorted((o.recv().result for o in others), key=lambda r: r["index"])
    assert got == [{"index": 0, "action": False}, {"index": 1, "action": False}]
    st = client.ok("stat", "B")
    assert st["rounds"] == 1 and st["action"] is None and st["broken"] is False
    assert last.err("barrier.done", "B") == E.NOTHELD   # once only


def test_a_failed_action_breaks_it_for_all(daemon, client):
    others, last = held_round(daemon, client, "B")
    assert last.ok("barrier.done", "B", False) is None
    assert [o.recv().status for o in others] == [E.BROKEN, E.BROKEN]
    assert client.ok("barrier.broken", "B") is True


def test_the_acting_party_going_breaks_it(daemon, client):
    others, last = held_round(daemon, client, "B")
    last.close()
    assert [o.recv().status for o in others] == [E.BROKEN, E.BROKEN]
    assert client.ok("barrier.broken", "B") is True
    assert client.ok("stat", "B")["action"] is None


def test_timeouts_do_not_run_out_while_the_action_runs(daemon, client):
    client.ok("create", "B", "barrier", {"parties": 2})
    a = daemon.connect(name="a")
    a.send("barrier.wait", "B", 0.2, ACTION)
    wait_until(lambda: n_waiting(client, "B") == 1)
    last = daemon.connect(name="last")
    assert last.ok("barrier.wait", "B", 30, ACTION)["action"] is True
    time.sleep(0.5)   # past a's timeout: held, it waits on (the point of the test)
    assert client.ok("barrier.broken", "B") is False
    last.ok("barrier.done", "B")
    assert a.recv().result == {"index": 0, "action": False}


def test_arrivals_during_the_action_start_the_next_round(daemon, client):
    others, last = held_round(daemon, client, "B")
    nxt = daemon.connect(name="next")
    nxt.send("barrier.wait", "B", 30)
    wait_until(lambda: n_waiting(client, "B") == 1)
    last.ok("barrier.done", "B")
    assert sorted(o.recv().result["index"] for o in others) == [0, 1]
    assert n_waiting(client, "B") == 1          # next is the first of the new round
    client.ok("barrier.abort", "B")
    assert nxt.recv().status == E.BROKEN


def test_abort_while_the_action_runs(daemon, client):
    others, last = held_round(daemon, client, "B")
    client.ok("barrier.abort", "B")
    assert [o.recv().status for o in others] == [E.BROKEN, E.BROKEN]
    assert last.err("barrier.done", "B") == E.BROKEN
    assert last.err("barrier.done", "B") == E.NOTHELD
    client.ok("barrier.reset", "B")
    others, last = held_round(daemon, client, "B")   # whole again, works again
    last.ok("barrier.done", "B")
    assert sorted(o.recv().result["index"] for o in others) == [0, 1]


def test_action_option_errors(daemon, client):
    client.ok("create", "B", "barrier", {"parties": 1})
    assert client.err("barrier.wait", "B", 1, {"action": 1}) == E.BADARG
    assert client.err("barrier.wait", "B", 1, {"other": True}) == E.BADARG
    assert client.err("barrier.done", "B") == E.NOTHELD
    assert client.ok("barrier.wait", "B", 1, {"action": False}) == 0   # the plain answer
    assert client.ok("barrier.wait", "B", 1, ACTION) == {"index": 0, "action": True}
    assert client.err("barrier.wait", "B", 1) == E.BADARG     # its action first
    assert client.err("barrier.done", "B", "yes") == E.BADARG
    client.ok("barrier.done", "B")
    assert client.ok("barrier.wait", "B") == 0
