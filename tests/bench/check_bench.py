#!/usr/bin/python3
"""check_bench.py: run `ipcd-bench --quick --json` and check the document:
the machine, and one row per workload for every system that is installed,
each with its numbers, server_cpu_us among them (a number where the system
has a server, null where it has none). No timing is asserted."""
import json
import os
import shutil
import subprocess
import sys

WORKLOADS = [
    "queue_put_get_16B_1c", "queue_put_get_4K_1c", "queue_put_get_16B_p64", "queue_put_get_4K_p64",
    "queue_put_get_16B_50c", "queue_put_get_4K_50c", "dict_set_get_16B_1c", "dict_set_get_4K_1c",
    "list_append_16B_1c", "list_append_4K_1c", "queue_batch_16B", "incr_8p", "taskqueue_4w", "stream_16B",
    "queue_put_get_16B_1c_loaded", "mem_per_item_16B", "paced_5k",
]
# Two processes through an event: redis has none.
EVENT = ["event_wait_wake", "lock_acquire_release_1c"]
# Shared memory: ipcd's mapped value against multiprocessing.Value and the
# Manager's Value; redis and ipcd-py have no row.
COUNTER = ["counter_incr_8p"]
# ipcd persisting against redis with appendonly: no Python peer has a mode for it.
DURABLE = ["queue_put_get_16B_1c_everysec", "queue_put_get_16B_p64_everysec", "queue_put_get_16B_1c_always",
           "queue_put_get_16B_p64_always", "recovery_1M"]
MANAGER = [w for w in WORKLOADS if w != "stream_16B"] + EVENT
MPQUEUE = ["taskqueue_4w", "stream_16B"]
# ipcd through the Python package: every workload but memory (the daemon's,
# measured by the ipcd row).
IPCD_PY = [w for w in WORKLOADS if not w.startswith("mem_")] + ["event_wait_wake"]
# Variants of ipcd on the same workload code: busy_poll=0, and prefetched
# acknowledged gets.
VARIANTS = [("queue_put_get_16B_1c", "ipcd-nopoll"), ("paced_5k", "ipcd-nopoll"), ("taskqueue_4w", "ipcd-prefetch")]
# The same daemon through the shared-memory channel: every ipcd row but
# memory per item (the daemon's) and counter_incr_8p (a mapped value), and
# no restart for recovery_1M.
IPCD_SHM = [w for w in WORKLOADS + DURABLE + EVENT if not w.startswith("mem_") and w != "recovery_1M"]
# Systems without a server process: no server_cpu_us.
SERVERLESS = {"floor", "mpqueue", "mpvalue"}

out = subprocess.run([sys.argv[1], "--quick", "--json"], stdout=subprocess.PIPE, check=True, timeout=280).stdout
doc = json.loads(out)
m = doc["machine"]
assert isinstance(m["cpu"], str) and m["cpu"] and isinstance(m["cores"], int) and m["kernel"], m

have = {(r["workload"], r["system"]): r for r in doc["results"]}
want = [(w, "ipcd") for w in WORKLOADS + DURABLE + COUNTER + EVENT] + VARIANTS
want += [(w, "ipcd-shm") for w in IPCD_SHM] + [("taskqueue_4w", "ipcd-shm-prefetch")]
want += [("floor_pingpong_32B", "floor"), ("floor_shm_pingpong", "floor")]
want += [("compaction_1M_1c", "ipcd"), ("disk_per_item_16B", "ipcd"), ("disk_per_item_16B", "ipcd-snap")]
if shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server"):
    want += [(w, "redis") for w in WORKLOADS + DURABLE + ["lock_acquire_release_1c"]]
    want += [("disk_per_item_16B", "redis"), ("disk_per_item_16B", "redis-rdb")]
if os.path.exists("/usr/bin/python3"):
    want += [(w, "manager") for w in MANAGER + COUNTER] + [(w, "mpqueue") for w in MPQUEUE]
    want += [(w, "mpvalue") for w in COUNTER]
    if subprocess.run(["/usr/bin/python3", "-c", "import msgpack"], stderr=subprocess.DEVNULL).returncode == 0:
        want += [(w, "ipcd-py") for w in IPCD_PY]
missing = [k for k in want if k not in have]
assert not missing, "missing rows: %r" % missing
for (w, s), r in have.items():
    mem = w.startswith(("mem_", "disk_"))
    keys = {"bytes_per_item"} if mem else {"ops_per_s", "p50_us", "p99_us", "server_cpu_us"}
    assert set(r) == {"workload", "system"} | keys, r
    for k in keys - {"server_cpu_us"}:
        assert isinstance(r[k], (int, float)) and r[k] >= 0 or k == "bytes_per_item", r
    if "ops_per_s" in r:
        assert r["ops_per_s"] > 0, r
    if mem:
        continue
    cpu = r["server_cpu_us"]
    if s in SERVERLESS or w == "recovery_1M":  # recovery_1M: a restart, no request served
        assert cpu is None, r
    else:
        assert isinstance(cpu, (int, float)) and cpu >= 0, r
print("ipcd-bench: %d rows, all present" % len(have))
