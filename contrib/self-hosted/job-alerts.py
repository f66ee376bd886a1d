#!/usr/bin/env python3
"""The last step of a job on a self-hosted runner watched by the egress-ids daemon: fails the job
when the daemon raised an alert for a process of this job since it started.

  python3 contrib/self-hosted/job-alerts.py [--eve /var/log/egress-ids/eve.json] [--since EPOCH]

The job's processes are those under this job's runner worker (GitHub's `Runner.Worker`, GitLab's
`gitlab-runner` with the shell executor): each alert carries `process` with its ancestry (pids),
so an alert belongs to the job when the worker's pid is the process or one of its ancestors.
Exit 0: none; 3: this job called home (each alert is
printed); 2: the EVE file cannot be read.
"""
import argparse
import json
import os
import sys
from datetime import datetime

WORKERS = ("Runner.Worker", "gitlab-runner")


def ancestors(pid):
    """(pid, comm) of pid and each of its ancestors, from /proc."""
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            return
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        yield pid, comm
        pid = int(stat[stat.rindex(")") + 2 :].split()[1])


def job_worker():
    for pid, comm in ancestors(os.getpid()):
        if comm in WORKERS:
            return pid
    return None


def started(pid):
    """The start of pid as seconds since the epoch."""
    ticks = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19])
    boot = next(float(l.split()[1]) for l in open("/proc/stat") if l.startswith("btime"))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eve", default="/var/log/egress-ids/eve.json")
    ap.add_argument("--since", type=float, help="seconds since the epoch (default: the worker's start)")
    args = ap.parse_args()
    worker = job_worker()
    if worker is None:
        print("job-alerts: not under a runner worker (" + ", ".join(WORKERS) + ")", file=sys.stderr)
        return 2
    since = args.since if args.since is not None else started(worker)
    try:
        lines = open(args.eve, encoding="utf-8", errors="replace").readlines()
    except OSError as e:
        print(f"job-alerts: {args.eve}: {e.strerror}", file=sys.stderr)
        return 2
    found = 0
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event_type") != "alert" or "process" not in ev:
            continue
        when = datetime.strptime(ev["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        p = ev["process"]
        pids = [p.get("pid")] + [a.get("pid") for a in p.get("ancestry", [])]
        if when < since or worker not in pids:
            continue
        found += 1
        chain = [f"{os.path.basename(p.get('exe', '?'))} (pid {p.get('pid')})"]
        for a in p.get("ancestry", []):
            if p.get("pid") == worker:
                break
            chain.append(os.path.basename(a.get("exe", "?")))
            if a.get("pid") == worker:
                break
        print(
            f"ALERT {ev['alert']['signature']}: {ev.get('src_ip')}:{ev.get('src_port')} -> "
            f"{ev.get('dest_ip')}:{ev.get('dest_port')} ({ev.get('proto')}) at {ev['timestamp']}"
            f"\n      by {' <- '.join(chain)}"
        )
    if found:
        print(f"job-alerts: this job raised {found} alerts", file=sys.stderr)
        return 3
    print("job-alerts: no alert for this job", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
