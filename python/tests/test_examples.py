"""python/examples run against a live ipcd (found through IPCD_SOCKET)."""
import os
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
PYDIR = os.path.dirname(EXAMPLES)


def run(daemon, script, *args):
    env = dict(os.environ, IPCD_SOCKET=daemon.sock_path,
               PYTHONPATH=os.pathsep.join(filter(None, [PYDIR, os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_producer_consumer(daemon):
    out = run(daemon, "producer_consumer.py")
    assert out.splitlines() == ["Consumed: %d" % i for i in range(5)]


def test_task_queue(daemon):
    out = run(daemon, "task_queue.py", "1000")
    assert out.strip() == "1000 results, sum %d" % sum(i * i for i in range(1000))
