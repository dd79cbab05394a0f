"""ipcd.Namespace against types.SimpleNamespace."""
import pickle
from types import SimpleNamespace

import pytest

import ipcd
from compare import VALUES, rng, same

ATTRS = ["x", "y", "_private", "mode", "name", "delete", "keys"]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_against_simplenamespace(client, name, seed):
    r = rng(seed)
    ns, ref = ipcd.Namespace(name), SimpleNamespace()
    for step in range(300):
        op = r.randrange(5)
        a, v = r.choice(ATTRS), r.choice(VALUES)
        s = (step, op, a, v)
        if op <= 1:
            same(s, lambda: setattr(ns, a, v), lambda: setattr(ref, a, v))
        elif op == 2:
            same(s, lambda: getattr(ns, a), lambda: getattr(ref, a))
        elif op == 3:
            same(s, lambda: delattr(ns, a), lambda: delattr(ref, a))
        else:
            same(s, lambda: hasattr(ns, a), lambda: hasattr(ref, a))
            same(s, lambda: getattr(ns, a, "dflt"), lambda: getattr(ref, a, "dflt"))
    assert ns._asdict() == vars(ref)
    assert ns == ref


def test_namespace_basics(client, name):
    ns = ipcd.Namespace(name, mode="fast")
    assert ns.mode == "fast"
    ns.count = 3
    assert ns._asdict() == {"mode": "fast", "count": 3}
    assert ns == SimpleNamespace(mode="fast", count=3)
    assert sorted(dir(ns)) == ["count", "mode"]
    del ns.count
    with pytest.raises(AttributeError):
        ns.count
    with pytest.raises(AttributeError):
        del ns.count
    ns2 = pickle.loads(pickle.dumps(ns))
    assert ns2.mode == "fast" and ns2 == ns
