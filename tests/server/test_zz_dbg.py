import sys, subprocess
sys.path.insert(0, "/work/main/tests/server")
from test_workers import *

def test_dbg(launch):
    r = launch(plain())
    kids = wait_workers(r, 2)
    os.kill(r.pid, signal.SIGKILL)
    r.wait(5)
    time.sleep(2)
    out=subprocess.run(["ps","-o","pid,ppid,pgid,stat,wchan,cmd","-e"],capture_output=True,text=True).stdout
    print("\n".join(l for l in out.splitlines() if "plain_workers" in l or "pytest" in l))
    for pid in kids:
        try: print(pid, [x for x in open(f"/proc/{pid}/status").read().splitlines() if x.startswith(("Sig","State","PPid"))])
        except Exception as e: print(pid, e)
    print(r.output())
    assert 0
