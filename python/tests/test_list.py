"""ipcd.List against list: randomised sequences with Python's index and
slice rules (extended slices too), blocking pop with a timeout."""
import threading
import time

import pytest

import ipcd
from compare import VALUES, rng, same
from ipcd_testlib import NOT_LATE

STEPS = [None, None, 1, 2, 3, -1, -2, -3]


def _bound(r, n):
    return r.choice([None, r.randint(-n - 3, n + 3), r.randint(-n - 3, n + 3)])


def _slice(r, n):
    return slice(_bound(r, n), _bound(r, n), r.choice(STEPS))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_against_list(client, name, seed):
    r = rng(seed)
    lst, ref = ipcd.List(name), []
    for step in range(400):
        op = r.randrange(26)
        v = r.choice(VALUES)
        n = len(ref)
        i = r.randint(-n - 2, n + 2)
        sl = _slice(r, n)
        s = (step, op, v, i, sl)
        if op <= 2:
            same(s, lambda: lst.append(v), lambda: ref.append(v))
        elif op == 3:
            vs = [r.choice(VALUES) for _ in range(r.randrange(4))]
            same(s, lambda: lst.extend(vs), lambda: ref.extend(vs))
        elif op == 4:
            same(s, lambda: lst.insert(i, v), lambda: ref.insert(i, v))
        elif op == 5:
            same(s, lambda: lst.pop(i), lambda: ref.pop(i))
        elif op == 6:
            same(s, lst.pop, ref.pop)
        elif op == 7:
            same(s, lambda: lst.remove(v), lambda: ref.remove(v))
        elif op == 8:
            same(s, lambda: lst.index(v), lambda: ref.index(v))
            a, b = _bound(r, n) or 0, _bound(r, n)
            if b is None:
                same(s, lambda: lst.index(v, a), lambda: ref.index(v, a))
            else:
                same(s, lambda: lst.index(v, a, b), lambda: ref.index(v, a, b))
        elif op == 9:
            same(s, lambda: lst.count(v), lambda: ref.count(v))
            same(s, lambda: v in lst, lambda: v in ref)
        elif op == 10:
            same(s, lambda: lst[i], lambda: ref[i])
        elif op == 11:
            same(s, lambda: lst.__setitem__(i, v), lambda: ref.__setitem__(i, v))
        elif op <= 13:
            same(s, lambda: lst[sl], lambda: ref[sl])
        elif op == 14:
            # simple slice assignment: any length
            vs = [r.choice(VALUES) for _ in range(r.randrange(4))]
            simple = slice(sl.start, sl.stop, r.choice([None, 1]))
            same(s, lambda: lst.__setitem__(simple, vs), lambda: ref.__setitem__(simple, vs))
        elif op == 15:
            # extended slice assignment: same length, or a ValueError
            k = len(range(*sl.indices(n)))
            vs = [r.choice(VALUES) for _ in range(k if r.random() < 0.8 else k + 1)]
            same(s, lambda: lst.__setitem__(sl, vs), lambda: ref.__setitem__(sl, vs))
        elif op == 16:
            same(s, lambda: lst.__delitem__(sl), lambda: ref.__delitem__(sl))
        elif op == 17:
            same(s, lambda: lst.__delitem__(i), lambda: ref.__delitem__(i))
        elif op == 18:
            same(s, lst.reverse, ref.reverse)
        elif op == 19:
            same(s, lambda: list(lst), lambda: list(ref))
            same(s, lambda: list(reversed(lst)), lambda: list(reversed(ref)))
            same(s, lambda: len(lst), lambda: len(ref))
        elif op == 20:
            vs = [r.choice(VALUES) for _ in range(r.randrange(3))]

            def iadd(x):
                x += vs
                return None
            same(s, lambda: iadd(lst), lambda: iadd(ref))
        elif op == 21 and n < 20:
            m = r.randrange(-1, 3)

            def imul(x):
                x *= m
                return None
            same(s, lambda: imul(lst), lambda: imul(ref))
        elif op == 22:
            same(s, lambda: lst == ref, lambda: True)
            same(s, lambda: lst + [v], lambda: ref + [v])
            same(s, lambda: lst.copy(), lambda: ref.copy())
        elif op == 23 and r.random() < 0.1:
            same(s, lst.clear, ref.clear)
        elif op == 24:
            same(s, lambda: lst["x"], lambda: ref["x"])  # TypeError
            same(s, lambda: lst[::0], lambda: ref[::0])  # ValueError
        else:
            big = r.choice([2 ** 70, -(2 ** 70)])
            same(s, lambda: lst[big:], lambda: ref[big:])
            same(s, lambda: lst[big], lambda: ref[big])
    assert lst[:] == ref
    assert client.call("dump", name) == ref


def test_sort(client, name):
    lst = ipcd.List(name)
    lst.extend([3, 1, 2])
    lst.sort()
    assert lst[:] == [1, 2, 3]
    lst.sort(reverse=True, key=lambda x: x % 3)
    assert lst[:] == sorted([1, 2, 3], reverse=True, key=lambda x: x % 3)


def test_iteration_pages(client, name):
    lst = ipcd.List(name)
    lst.extend(range(2345))
    assert list(lst) == list(range(2345))


def test_blocking_pop_timeout_is_indexerror(client, name):
    lst = ipcd.List(name)
    t0 = time.monotonic()
    with pytest.raises(IndexError):
        lst.pop(0, timeout=0.2)
    assert 0.2 <= time.monotonic() - t0 <= 0.2 + NOT_LATE    # never early; late only under load
    with pytest.raises(IndexError):
        lst.pop()  # non-blocking on empty
    with pytest.raises(ValueError):
        lst.pop(1, block=True)


def test_blocking_pop_wakes_at_either_end(client, daemon, name):
    lst = ipcd.List(name)
    other = ipcd.Client(daemon.sock_path)
    t = threading.Timer(0.05, lambda: ipcd.List(name, client=other).extend(["a", "b", "c"]))
    t.start()
    try:
        assert lst.pop(-1, block=True, timeout=5) == "c"
        assert lst.pop(0, block=True) == "a"
        assert lst[:] == ["b"]
    finally:
        t.join(5)
        other.close()
