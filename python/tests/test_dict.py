"""ipcd.Dict against dict: randomised sequences, paging, incr, cas."""
import pytest

import ipcd
from compare import KEYS, VALUES, rng, same


def _ref_incr(ref, k, delta):
    cur = ref.get(k, 0)
    if isinstance(cur, bool) or not isinstance(cur, (int, float)):
        raise TypeError("not a number")
    ref[k] = cur + delta
    return ref[k]


def _ref_cas(ref, k, expected, new):
    if ref.get(k) == expected:
        ref[k] = new
        return True
    return False


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_against_dict(client, name, seed):
    r = rng(seed)
    d, ref = ipcd.Dict(name), {}
    for step in range(400):
        op = r.randrange(22)
        k, v = r.choice(KEYS), r.choice(VALUES)
        s = (step, op, k, v)
        if op <= 3:
            same(s, lambda: d.__setitem__(k, v), lambda: ref.__setitem__(k, v))
        elif op == 4:
            same(s, lambda: d[k], lambda: ref[k])
        elif op == 5:
            same(s, lambda: d.get(k), lambda: ref.get(k))
            same(s, lambda: d.get(k, v), lambda: ref.get(k, v))
        elif op == 6:
            def dl(m):
                del m[k]
            same(s, lambda: dl(d), lambda: dl(ref))
        elif op == 7:
            same(s, lambda: d.pop(k), lambda: ref.pop(k))
        elif op == 8:
            same(s, lambda: d.pop(k, v), lambda: ref.pop(k, v))
        elif op == 9:
            same(s, d.popitem, ref.popitem)
        elif op == 10:
            same(s, lambda: d.setdefault(k, v), lambda: ref.setdefault(k, v))
            same(s, lambda: d.setdefault(k), lambda: ref.setdefault(k))
        elif op == 11:
            m = {r.choice(KEYS): r.choice(VALUES) for _ in range(r.randrange(4))}
            same(s, lambda: d.update(m), lambda: ref.update(m))
        elif op == 12:
            pairs = [(r.choice(KEYS), r.choice(VALUES)) for _ in range(r.randrange(4))]
            same(s, lambda: d.update(pairs, kw=v), lambda: ref.update(pairs, kw=v))
        elif op == 13:
            same(s, lambda: k in d, lambda: k in ref)
            same(s, lambda: len(d), lambda: len(ref))
        elif op == 14:
            same(s, lambda: list(d), lambda: list(ref))
            same(s, lambda: list(d.keys()), lambda: list(ref.keys()))
        elif op == 15:
            same(s, lambda: list(d.values()), lambda: list(ref.values()))
            same(s, lambda: list(d.items()), lambda: list(ref.items()))
            same(s, lambda: (k, v) in d.items(), lambda: (k, v) in ref.items())
        elif op == 16:
            delta = r.choice([1, -3, 2 ** 33, 0.5])
            same(s, lambda: d.incr(k, delta), lambda: _ref_incr(ref, k, delta))
        elif op == 17:
            exp = r.choice([None, v, ref.get(k)])
            same(s, lambda: d.cas(k, exp, v), lambda: _ref_cas(ref, k, exp, v))
        elif op == 18:
            same(s, lambda: d == ref, lambda: True)
            same(s, d.copy, ref.copy)
        elif op == 19 and r.random() < 0.2:
            same(s, d.clear, ref.clear)
        elif op == 20:
            same(s, lambda: d[[1]], lambda: ref[[1]])  # unhashable: TypeError
        else:
            same(s, lambda: d.__setitem__({}, 1), lambda: ref.__setitem__({}, 1))
    assert list(d.items()) == list(ref.items())
    assert client.call("dump", name) == ref


def test_iteration_pages(client, name):
    d = ipcd.Dict(name)
    n = 2500  # three pages
    d.update({i: str(i) for i in range(n)})
    assert list(d) == list(range(n))
    assert list(d.values()) == [str(i) for i in range(n)]
    assert dict(d.items()) == {i: str(i) for i in range(n)}
    assert len(d) == n and len(d.keys()) == n


def test_incr_and_cas(client, name):
    d = ipcd.Dict(name)
    assert d.incr("n") == 1
    assert d.incr("n", 41) == 42
    assert d.incr("f", 0.5) == 0.5
    d["s"] = "x"
    with pytest.raises(ipcd.NotNumber):
        d.incr("s")
    with pytest.raises(TypeError):
        d.incr("s")
    d["big"] = 2 ** 63 - 1
    with pytest.raises(ipcd.Overflow):
        d.incr("big")
    assert d.cas("c", None, 1) is True  # missing counts as None
    assert d.cas("c", None, 2) is False
    assert d.cas("c", 1, 2) is True and d["c"] == 2


def test_missing_key_is_keyerror_with_the_key(client, name):
    d = ipcd.Dict(name)
    with pytest.raises(KeyError) as ei:
        d["nope"]
    assert ei.value.args == ("nope",) and isinstance(ei.value, ipcd.NoKey)
    assert str(ei.value) == str(KeyError("nope"))
    with pytest.raises(KeyError):
        d.popitem()


def test_mutablemapping_mixins(client, name):
    from collections.abc import MutableMapping
    d = ipcd.Dict(name)
    assert isinstance(d, MutableMapping)
    d.update(a=1, b=2)
    assert d == {"a": 1, "b": 2}
    assert d.keys() == {"a", "b"}
    assert "a" in d.keys() and ("a", 1) in d.items() and 2 in d.values()
