#!/usr/bin/python3
"""check_bench.py: run `ipcd-bench --quick --json` and check the document:
the machine, and one row per workload for every system that is installed,
each with its numbers. No timing is asserted."""
import json
import os
import shutil
import subprocess
import sys

WORKLOADS = [
    "queue_put_get_16B_1c", "queue_put_get_4K_1c", "queue_put_get_16B_p64", "queue_put_get_4K_p64",
    "queue_put_get_16B_50c", "queue_put_get_4K_50c", "dict_set_get_16B_1c", "dict_set_get_4K_1c",
    "list_append_16B_1c", "list_append_4K_1c", "queue_batch_16B", "incr_8p", "taskqueue_4w", "stream_16B",
    "queue_put_get_16B_1c_loaded", "mem_per_item_16B",
]
# Shared memory: ipcd's mapped value against multiprocessing.Value and the
# Manager's Value; redis and ipcd-py have no row.
COUNTER = ["counter_incr_8p"]
# ipcd persisting against redis with appendonly: no Python peer has a mode for it.
DURABLE = ["queue_put_get_16B_1c_everysec", "queue_put_get_16B_p64_everysec", "queue_put_get_16B_1c_always",
           "queue_put_get_16B_p64_always", "recovery_1M"]
MANAGER = [w for w in WORKLOADS if w != "stream_16B"]
MPQUEUE = ["taskqueue_4w", "stream_16B"]
# ipcd through the Python package: every workload but memory (the daemon's,
# measured by the ipcd row).
IPCD_PY = [w for w in WORKLOADS if not w.startswith("mem_")]

out = subprocess.run([sys.argv[1], "--quick", "--json"], stdout=subprocess.PIPE, check=True, timeout=280).stdout
doc = json.loads(out)
m = doc["machine"]
assert isinstance(m["cpu"], str) and m["cpu"] and isinstance(m["cores"], int) and m["kernel"], m

have = {(r["workload"], r["system"]): r for r in doc["results"]}
want = [(w, "ipcd") for w in WORKLOADS + DURABLE + COUNTER] + [("floor_pingpong_32B", "floor")]
want += [("compaction_1M_1c", "ipcd"), ("disk_per_item_16B", "ipcd"), ("disk_per_item_16B", "ipcd-snap")]
if shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server"):
    want += [(w, "redis") for w in WORKLOADS + DURABLE]
    want += [("disk_per_item_16B", "redis"), ("disk_per_item_16B", "redis-rdb")]
if os.path.exists("/usr/bin/python3"):
    want += [(w, "manager") for w in MANAGER + COUNTER] + [(w, "mpqueue") for w in MPQUEUE]
    want += [(w, "mpvalue") for w in COUNTER]
    if subprocess.run(["/usr/bin/python3", "-c", "import msgpack"], stderr=subprocess.DEVNULL).returncode == 0:
        want += [(w, "ipcd-py") for w in IPCD_PY]
missing = [k for k in want if k not in have]
assert not missing, "missing rows: %r" % missing
for (w, s), r in have.items():
    keys = {"bytes_per_item"} if w.startswith(("mem_", "disk_")) else {"ops_per_s", "p50_us", "p99_us"}
    assert set(r) == {"workload", "system"} | keys, r
    for k in keys:
        assert isinstance(r[k], (int, float)) and r[k] >= 0 or k == "bytes_per_item", r
    if "ops_per_s" in r:
        assert r["ops_per_s"] > 0, r
print("ipcd-bench: %d rows, all present" % len(have))
