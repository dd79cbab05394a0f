"""Per-object access control: owner, group and mode against the peer's uid.

The other users' clients run under setpriv (tests/integration/access_peer.py),
so these tests need root; elsewhere they are skipped with a message. The
daemon's temp dir and socket are opened to everyone for them.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from ipcwire import E, wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="access control is tested with clients of other uids (setpriv): needs root and setpriv")

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "access_peer.py")
NOBODY = 65534
OTHER = 65533          # a second unprivileged uid
GROUP = 4242           # a group neither of them is in unless told
PEER_TIMEOUT = 20.0


def setpriv(uid, gid, groups=()):
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid] + (
        ["--groups=" + ",".join(map(str, groups))] if groups else ["--clear-groups"])


def as_user(d, uid, *ops, gid=None, groups=()):
    """Run ops ([op, args...] each) on one connection as uid; [(status, result), ...]."""
    cmd = setpriv(uid, uid if gid is None else gid, groups) + [
        sys.executable, PEER, d.sock_path, "ops", json.dumps([list(op) for op in ops])]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=PEER_TIMEOUT,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert p.returncode == 0, "peer failed: %s" % p.stderr
    return [tuple(r) for r in json.loads(p.stdout)]


def statuses(results):
    return [st for st, _ in results]


@pytest.fixture
def open_daemon(make_daemon):
    """A daemon whose socket every uid can reach."""
    workdir = tempfile.mkdtemp(prefix="ipcd-access-")
    os.chmod(workdir, 0o755)
    try:
        yield make_daemon("-o", "socket_mode=0666", workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_0600_object_is_its_owners_alone(open_daemon):
    d = open_daemon
    root = d.connect()
    # nobody creates it: nobody owns it
    assert as_user(d, NOBODY, ["create", "secret", "dict", {"mode": 0o600}],
                   ["dict.set", "secret", "k", 1], ["dict.get", "secret", "k"]) == [(0, True), (0, None), (0, 1)]
    st = root.ok("stat", "secret")
    assert (st["owner"], st["mode"]) == (NOBODY, 0o600)

    # another uid: read, write, stat, dump, delete, chmod, chown all refused
    refused = as_user(d, OTHER, ["dict.get", "secret", "k"], ["dict.set", "secret", "k", 2],
                      ["dict.len", "secret"], ["stat", "secret"], ["dump", "secret"], ["delete", "secret"],
                      ["chmod", "secret", 0o666], ["chown", "secret", OTHER])
    assert statuses(refused) == [E.PERMISSION] * len(refused)
    assert "read" in refused[0][1] and "write" in refused[1][1], refused
    assert "k" not in refused[0][1] and "1" not in refused[0][1]   # names what is missing, reveals nothing

    # ls, info and clients show the other uid nothing of it
    (ls, info, clients), = [statuses(r) and [x for _, x in r]
                           for r in [as_user(d, OTHER, ["ls", "", 0, 100, {"long": True}], ["info"], ["clients"])]]
    assert ls == [0, []]
    assert info["objects"] == 0 and info["objects_by_type"]["dict"] == 0
    assert all(c["uid"] == OTHER for c in clients[1])

    # unchanged; the owner and root still can
    assert as_user(d, NOBODY, ["dict.get", "secret", "k"], ["ls"]) == [(0, 1), (0, [0, [["secret", "dict"]]])]
    assert root.ok("dict.get", "secret", "k") == 1
    assert root.ok("info")["objects"] == 1
    assert as_user(d, NOBODY, ["delete", "secret"]) == [(0, None)]
    assert not root.ok("exists", "secret")


def test_root_may_do_anything(open_daemon):
    d = open_daemon
    as_user(d, NOBODY, ["create", "q", "queue", {"mode": "0600"}], ["queue.put", "q", "x", 0])
    root = d.connect()
    assert root.ok("queue.get", "q", 0) == "x"
    assert root.ok("chown", "q", OTHER, GROUP) is None
    st = root.ok("stat", "q")
    assert (st["owner"], st["group"], st["mode"]) == (OTHER, GROUP, 0o600)
    assert statuses(as_user(d, NOBODY, ["queue.put", "q", "y", 0])) == [E.PERMISSION]   # no longer its
    assert root.ok("delete", "q") is None


def test_a_write_to_a_missing_name_makes_the_writer_owner(open_daemon, make_daemon):
    d = open_daemon
    root = d.connect()
    assert as_user(d, NOBODY, ["list.append", "mine", 1]) == [(0, 1)]
    st = root.ok("stat", "mine")
    assert st["owner"] == NOBODY and st["mode"] == 0o660
    assert st["group"] == os.stat(d.sock_path).st_gid


def test_default_mode_is_a_config_key(make_daemon):
    workdir = tempfile.mkdtemp(prefix="ipcd-access-")
    os.chmod(workdir, 0o755)
    try:
        d = make_daemon("-o", "socket_mode=0666", "-o", "default_mode=0644", workdir=workdir)
        assert as_user(d, NOBODY, ["dict.set", "pub", "k", 1]) == [(0, None)]
        assert d.connect().ok("stat", "pub")["mode"] == 0o644
        assert as_user(d, OTHER, ["dict.get", "pub", "k"], ["dict.set", "pub", "k", 2]) == [
            (0, 1), (E.PERMISSION, as_user(d, OTHER, ["dict.set", "pub", "k", 2])[0][1])]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_group_members_get_the_group_bits(open_daemon):
    d = open_daemon
    root = d.connect()
    root.ok("create", "team", "dict", {"mode": "0640"})
    root.ok("dict.set", "team", "k", "v")
    root.ok("chown", "team", 0, GROUP)
    read_write = (["dict.get", "team", "k"], ["dict.set", "team", "k", "w"])
    # primary group, then a supplementary one: read yes, write no (0640)
    assert statuses(as_user(d, NOBODY, *read_write, gid=GROUP)) == [0, E.PERMISSION]
    assert statuses(as_user(d, NOBODY, *read_write, groups=[GROUP])) == [0, E.PERMISSION]
    # not in the group: nothing
    assert statuses(as_user(d, NOBODY, *read_write)) == [E.PERMISSION, E.PERMISSION]
    # but group members may not chmod or chown: that is the owner's (or the a bit's)
    assert statuses(as_user(d, NOBODY, ["chmod", "team", 0o777], ["chown", "team", NOBODY], ["delete", "team"],
                            gid=GROUP)) == [E.PERMISSION] * 3
    root.ok("chmod", "team", 0o671)   # a for other: anyone may delete
    assert as_user(d, NOBODY, ["delete", "team"]) == [(0, None)]


def test_chmod_and_chown_by_the_owner(open_daemon):
    d = open_daemon
    root = d.connect()
    assert as_user(d, NOBODY, ["create", "o", "ns", {"mode": 0o600}], ["chmod", "o", "0644"],
                   ["chmod", "o", "0o1000"], ["chmod", "o", "rw"], ["chmod", "o", 512]) == [
        (0, True), (0, None)] + [(E.BADARG, r[1]) for r in as_user(d, NOBODY, ["chmod", "o", 512])] * 3
    assert root.ok("stat", "o")["mode"] == 0o644
    assert statuses(as_user(d, OTHER, ["ns.get", "o", "a"], ["ns.set", "o", "a", 1])) == [E.NOKEY, E.PERMISSION]
    # root gives it away: the new owner may chmod, the old one no more
    assert root.ok("chown", "o", OTHER) is None
    assert statuses(as_user(d, NOBODY, ["chmod", "o", 0o666])) == [E.PERMISSION]
    assert as_user(d, OTHER, ["chmod", "o", 0o600]) == [(0, None)]
    assert root.ok("stat", "o")["owner"] == OTHER
    assert root.err("create", "bad", "dict", {"mode": "0999"}) == E.BADARG
    assert root.err("create", "bad", "dict", {"mode": -1}) == E.BADARG
    assert not root.ok("exists", "bad")


def test_monitor_shows_only_what_the_watcher_may_read(open_daemon):
    d = open_daemon
    root = d.connect()
    root.ok("create", "private", "dict", {"mode": 0o600})
    root.ok("create", "public", "dict", {"mode": 0o644})
    cmd = setpriv(NOBODY, NOBODY) + [sys.executable, PEER, d.sock_path, "monitor", "public"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    try:
        assert p.stdout.readline().strip() == "ready"   # bounded: the peer's socket timeout
        root.ok("dict.set", "private", "password", "hunter2")
        root.ok("dict.get", "private", "password")
        root.ok("ls")
        root.ok("dict.set", "public", "k", 1)
        out, err = p.communicate(timeout=PEER_TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert json.loads(out) == ["public"]   # neither private nor root's unnamed ls


def test_kill_client_of_another_uid_needs_root(open_daemon):
    d = open_daemon
    root = d.connect()
    rid = [c for c in root.ok("clients")[1] if c["self"]][0]["id"]
    assert statuses(as_user(d, NOBODY, ["kill_client", rid], ["kill_client", os.getpid(), "pid"])) == [
        E.PERMISSION, E.PERMISSION]
    assert root.ok("ping") == "pong"   # still open


def test_a_waiter_whose_access_is_taken_away_gets_permission(open_daemon):
    d = open_daemon
    root = d.connect()
    root.ok("create", "jobs", "queue", {"mode": 0o666})
    cmd = setpriv(NOBODY, NOBODY) + [sys.executable, PEER, d.sock_path, "ops",
                                     json.dumps([["queue.get", "jobs", PEER_TIMEOUT / 2]])]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    try:
        wait_until(lambda: any(c["uid"] == NOBODY and c["blocked"] for c in root.ok("clients")[1]),
                   what="nobody's get to park")
        root.ok("chmod", "jobs", 0o600)
        root.ok("queue.put", "jobs", "for root only")
        out, err = p.communicate(timeout=PEER_TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert [st for st, _ in json.loads(out)] == [E.PERMISSION]
    assert root.ok("queue.get", "jobs", 0) == "for root only"   # the item was not taken


def test_dead_letters_go_only_where_the_queues_owner_may_write(open_daemon):
    d = open_daemon
    root = d.connect()
    root.ok("create", "roots", "queue", {"mode": 0o644})     # others may read, not write
    root.ok("create", "shared", "queue", {"mode": 0o662})

    def poison(q, dead_letter=None, counter="dead_lettered"):
        """As nobody: q dead-letters after one delivery; one item is taken
        unacked, and returned (so dead-lettered) when the connection closes."""
        opts = {"max_deliveries": 1, **({"dead_letter": dead_letter} if dead_letter else {})}
        r = as_user(d, NOBODY, ["create", q, "queue", opts], ["queue.put", q, "poison", 0], ["queue.get_ack", q, 0])
        assert statuses(r) == [0, 0, 0], r
        wait_until(lambda: root.ok("stat", q)[counter] == 1, what="the item to be dead-lettered")

    # nobody's queue dead-letters into root's: refused, not smuggled in, and
    # the item stays in its own queue (never dropped)
    poison("mine", "roots", counter="dead_letter_failed")
    assert root.ok("queue.qsize", "roots") == 0
    assert root.ok("queue.qsize", "mine") == 1
    # into a queue others may write, and into the NAME.dead it makes (its own), they go
    poison("ours", "shared")
    assert root.ok("queue.get", "shared", 0) == "poison"
    poison("solo")
    st = root.ok("stat", "solo.dead")
    assert (st["owner"], st["mode"], st["size"]) == (NOBODY, 0o660, 1)


def test_the_creator_stays_the_owner_across_a_restart(make_daemon):
    # The log names each session's uid once; a replayed create gives the
    # object its creator, not the daemon.
    workdir = tempfile.mkdtemp(prefix="ipcd-access-")
    os.chmod(workdir, 0o755)
    state = os.path.join(workdir, "state")
    try:
        d = make_daemon("-o", "socket_mode=0666", "-o", "state_dir=" + state, workdir=workdir)
        assert statuses(as_user(d, NOBODY, ["create", "mine", "dict", {"mode": 0o600}],
                                ["dict.set", "mine", "k", 1])) == [0, 0]
        d.stop()
        d = make_daemon("-o", "socket_mode=0666", "-o", "state_dir=" + state, workdir=workdir)
        st = d.connect().ok("stat", "mine")
        assert (st["owner"], st["mode"]) == (NOBODY, 0o600)
        assert as_user(d, OTHER, ["dict.get", "mine", "k"])[0][0] == E.PERMISSION
        assert as_user(d, NOBODY, ["dict.get", "mine", "k"]) == [(0, 1)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_who_owns_an_object_made_for_a_wait_is_kept_across_a_restart(make_daemon):
    # nobody's get makes "jobs" and waits; root's put, the first write, is
    # what the log has of it: the restart must still give it to nobody.
    workdir = tempfile.mkdtemp(prefix="ipcd-access-")
    os.chmod(workdir, 0o755)
    state = os.path.join(workdir, "state")
    p = None
    try:
        d = make_daemon("-o", "socket_mode=0666", "-o", "state_dir=" + state, "-o", "fsync=always",
                        workdir=workdir)
        root = d.connect()
        cmd = setpriv(NOBODY, NOBODY) + [sys.executable, PEER, d.sock_path, "ops",
                                         json.dumps([["queue.get", "jobs", PEER_TIMEOUT / 2]])]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        wait_until(lambda: any(c["uid"] == NOBODY and c["blocked"] for c in root.ok("clients")[1]),
                   what="nobody's get to park")
        root.ok("queue.put", "jobs", "taken")
        out, err = p.communicate(timeout=PEER_TIMEOUT)
        assert p.returncode == 0, err
        assert json.loads(out) == [[0, "taken"]]
        root.ok("queue.put", "jobs", "kept")
        st = root.ok("stat", "jobs")
        live = (st["owner"], st["group"], st["mode"])
        assert live[0] == NOBODY
        d.stop()
        d = make_daemon("-o", "socket_mode=0666", "-o", "state_dir=" + state, workdir=workdir)
        st = d.connect().ok("stat", "jobs")
        assert (st["owner"], st["group"], st["mode"]) == live
        assert d.connect().ok("dump", "jobs") == ["kept"]
    finally:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def test_only_root_gives_an_object_away_and_owners_set_only_their_groups(open_daemon):
    d = open_daemon
    root = d.connect()
    assert as_user(d, NOBODY, ["create", "o", "dict", {"mode": 0o666}]) == [(0, True)]
    group = root.ok("stat", "o")["group"]
    refused = as_user(d, NOBODY, ["chown", "o", OTHER], ["chown", "o", 0], ["chown", "o", None, GROUP],
                      ["chown", "o", NOBODY, GROUP])
    assert statuses(refused) == [E.PERMISSION] * 4, refused
    assert "root" in refused[0][1] and str(GROUP) in refused[2][1]
    st = root.ok("stat", "o")
    assert (st["owner"], st["group"]) == (NOBODY, group)
    # its own uid again, and a group it is in (primary or supplementary): allowed
    assert as_user(d, NOBODY, ["chown", "o", NOBODY], ["chown", "o", None, GROUP], groups=[GROUP]) == [
        (0, None), (0, None)]
    assert as_user(d, NOBODY, ["chown", "o", None, NOBODY]) == [(0, None)]
    st = root.ok("stat", "o")
    assert (st["owner"], st["group"]) == (NOBODY, NOBODY)
    # the a bit for other lets anyone delete or chmod, not take the object
    root.ok("create", "roots", "dict", {"mode": 0o667})
    assert statuses(as_user(d, OTHER, ["chown", "roots", OTHER])) == [E.PERMISSION]
    assert root.ok("stat", "roots")["owner"] == 0


def test_an_object_given_to_root_cannot_dead_letter_into_roots_queue(open_daemon):
    # A root-owned queue may dead-letter anywhere: a user who could make its
    # own queue root's would smuggle items into queues it may not write.
    d = open_daemon
    root = d.connect()
    root.ok("create", "roots", "queue", {"mode": 0o644})
    r = as_user(d, NOBODY, ["create", "mine", "queue", {"max_deliveries": 1, "dead_letter": "roots", "mode": 0o666}],
                ["chown", "mine", 0], ["queue.put", "mine", "poison", 0], ["queue.get_ack", "mine", 0])
    assert statuses(r) == [0, E.PERMISSION, 0, 0], r
    wait_until(lambda: root.ok("stat", "mine")["dead_letter_failed"] == 1, what="the dead letter to be refused")
    assert root.ok("queue.qsize", "roots") == 0
    assert root.ok("stat", "mine")["owner"] == NOBODY


def test_the_type_of_an_unreadable_object_is_not_told(open_daemon):
    d = open_daemon
    root = d.connect()
    root.ok("create", "secret", "dict", {"mode": 0o600})
    refused = as_user(d, NOBODY, ["queue.qsize", "secret"], ["queue.put", "secret", 1, 0], ["lock.locked", "secret"],
                      ["array.map", "secret"])
    assert statuses(refused) == [E.PERMISSION] * 4, refused
    assert not any("dict" in msg for _, msg in refused), refused
    # one who may read it is told what it is
    root.ok("chmod", "secret", 0o644)
    assert statuses(as_user(d, NOBODY, ["queue.qsize", "secret"])) == [E.WRONGTYPE]


def test_a_condition_gives_no_access_to_the_lock_it_names(open_daemon):
    d = open_daemon
    root = d.connect()
    root.ok("create", "rootlock", "lock", {"mode": 0o600})
    assert root.ok("lock.acquire", "rootlock", 0) == {"owner_died": False}
    # nobody's own condition, open to all, naming root's private lock
    assert as_user(d, NOBODY, ["create", "c", "condition", {"lock": "rootlock", "mode": 0o666}]) == [(0, True)]
    refused = as_user(d, NOBODY, ["condition.acquire", "c", 0], ["condition.release", "c"], ["condition.wait", "c", 0],
                      ["condition.notify", "c"], ["condition.notify_all", "c"])
    assert statuses(refused) == [E.PERMISSION] * 5, refused
    assert all("rootlock" in msg and "write" in msg for _, msg in refused), refused
    # its stat shows nothing of the lock's state (root holds it)
    st, = as_user(d, NOBODY, ["stat", "c"])
    assert st[0] == 0 and st[1]["locked"] is False and st[1]["holder"] is None, st
    # root released it; nobody still cannot take it through the condition
    root.ok("lock.release", "rootlock")
    assert statuses(as_user(d, NOBODY, ["condition.acquire", "c", 0], ["lock.locked", "rootlock"])) == [
        E.PERMISSION, E.PERMISSION]
    assert root.ok("lock.locked", "rootlock") is False
    # with w on the lock, the condition works on it
    root.ok("chmod", "rootlock", 0o666)
    assert statuses(as_user(d, NOBODY, ["condition.acquire", "c", 0], ["condition.notify", "c"],
                            ["condition.release", "c"])) == [0, 0, 0]


# Objects of every type for the table-driven test below, and a plausible
# argument for each signature letter (proto/ops.def): the access check
# comes after the arguments are checked, so they must fit.
OPTIONS_BY_TYPE = {"value": {"typecode": "i"}, "array": {"typecode": "i", "length": 2}, "barrier": {"parties": 2}}
ARG_BY_LETTER = {"S": "a", "s": None, "v": 1, "k": "k", "m": {"k": 1}, "a": [1], "i": 0, "I": None, "u": 1,
                 "n": 1, "t": 0, "o": {}}


def every_named_op():
    """(op name, its request on the object made for it) for every op naming an object."""
    from ipcwire import OPS, TYPES
    import gen_tables
    for op in sorted(OPS.values(), key=lambda o: o.code):
        if not op.flags & gen_tables.FLAGS["OPF_NAME"]:
            continue
        typ = op.type.lower() if op.type != "ANY" else "dict"
        assert typ in TYPES
        required, _, optional = op.sig.partition("|")
        if "t" in optional:   # a wait: timeout 0, so that a read that may run does not block
            required += optional[:optional.index("t") + 1]
        args = [ARG_BY_LETTER[ch] for ch in required[1:]]
        if op.name == "create":
            args = ["dict"]
        yield op, [op.name, "x_" + typ] + args


def test_every_op_on_another_uids_object_needs_its_bit(open_daemon):
    import gen_tables
    d = open_daemon
    root = d.connect()
    for typ in sorted({"x_" + (op.type.lower() if op.type != "ANY" else "dict") for op, _ in every_named_op()}):
        root.ok("create", typ, typ[2:], dict(OPTIONS_BY_TYPE.get(typ[2:], {}), mode=0o600))
        if typ == "x_dict":
            root.ok("dict.set", typ, "k", "the secret")
    ops = list(every_named_op())
    # 0600: every op refused, and no refusal says anything of the content
    refused = as_user(d, NOBODY, *[req for _, req in ops])
    for (op, req), (st, msg) in zip(ops, refused):
        assert st == E.PERMISSION, (req, st, msg)
        assert "the secret" not in msg and "'k'" not in msg, (req, msg)
    # 0644: the reads run (whatever they answer), every write is refused
    for typ in {req[1] for _, req in ops}:
        root.ok("chmod", typ, 0o644)
    got = as_user(d, NOBODY, *[req for _, req in ops])
    for (op, req), (st, msg) in zip(ops, got):
        writes = op.flags & (gen_tables.FLAGS["OPF_WRITE"] | gen_tables.FLAGS["OPF_OWNER"])
        assert (st == E.PERMISSION) == bool(writes), (req, st, msg)
    assert root.ok("dict.get", "x_dict", "k") == "the secret"
    assert len(root.ok("ls")[1]) == len({req[1] for _, req in ops})   # nothing deleted, nothing made


def test_only_root_and_the_daemons_user_may_save(make_daemon, tmp_path):
    """A snapshot writes the whole state to disk: other users may not start
    one back to back."""
    workdir = tempfile.mkdtemp(prefix="ipcd-access-")
    os.chmod(workdir, 0o755)
    try:
        d = make_daemon("-o", "socket_mode=0666", "-o", "state_dir=%s" % (tmp_path / "state"), workdir=workdir)
        [(status, msg)] = as_user(d, NOBODY, ["save"])
        assert status == E.PERMISSION and "save" in msg, msg
        assert d.connect().ok("save") is None   # root (the daemon's user here) may
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
