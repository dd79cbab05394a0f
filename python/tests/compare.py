"""Helpers to run the same call on an ipcd proxy and on a standard object."""
import random

# Values that Python's == and ipcd's canonical comparison agree on: no 1 with
# True, no 0 with False, no int equal to a float.
VALUES = [0, 2, -5, 2 ** 40, -(2 ** 62), "a", "b", "", "é", b"x", b"", None, True,
          1.5, -0.25, [3, "a"], {"k": [2, None]}, [], {}, [[1], {"x": b"y"}]]
KEYS = [0, 2, -5, "a", "b", "", b"x", None, True, 1.5, (3, "a"), ("t",)]


def outcome(fn):
    """('ok', result) or ('raise', exception)."""
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001
        return ("raise", e)


def same(step, proxy_fn, ref_fn, compare=lambda a, b: a == b):
    """Run ref_fn then proxy_fn; they must return equal results, or the
    proxy must raise an instance of the exception class the reference raised."""
    ref = outcome(ref_fn)
    got = outcome(proxy_fn)
    if ref[0] == "raise":
        assert got[0] == "raise", "%s: reference raised %r, proxy returned %r" % (step, ref[1], got[1])
        assert isinstance(got[1], type(ref[1])), \
            "%s: reference raised %r, proxy raised %r" % (step, ref[1], got[1])
    else:
        if got[0] == "raise":
            raise AssertionError("%s: reference returned %r, proxy raised %r"
                                 % (step, ref[1], got[1])) from got[1]
        assert compare(got[1], ref[1]), "%s: proxy %r != reference %r" % (step, got[1], ref[1])
    return ref


def rng(seed):
    return random.Random(seed)
