//! The fork/exec table: one row per process (tgid) with what it ran (exe and argv taken at exec,
//! since comm is mutable), who forked it and its pid in its own namespace (uid, cgroup and netns
//! are the socket's, in [`super::sockets`]). Exited processes stay for
//! [`RETAIN`] so that the ancestry of an orphan (a detached double fork, re-parented to init by
//! the kernel) is still the chain of processes that really started it. Bounded: at [`CAP`] rows
//! the oldest exited rows go first, counted in [`Procs::evicted`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::event::{split_args, Task};

/// How long an exited process is kept.
pub(crate) const RETAIN: Duration = Duration::from_secs(300);
/// Most rows kept.
pub(crate) const CAP: usize = 65_536;
/// Longest ancestry walked.
const MAX_DEPTH: usize = 64;

/// One process.
#[derive(Debug, Clone, Default)]
pub(crate) struct Proc {
    pub(crate) ppid: u32,
    pub(crate) exe: Option<String>,
    pub(crate) cmdline: Vec<String>,
    pub(crate) comm: String,
    pub(crate) ns_pid: u32,
    pub(crate) exited: Option<SystemTime>,
}

/// The table.
#[derive(Default)]
pub(crate) struct Procs {
    rows: HashMap<u32, Proc>,
    /// Rows dropped because the table was full.
    pub(crate) evicted: u64,
}

impl Procs {
    fn from_task(t: &Task) -> Proc {
        Proc {
            ppid: t.ppid,
            comm: t.comm.clone(),
            ns_pid: t.ns_pid,
            ..Proc::default()
        }
    }

    fn insert(&mut self, tgid: u32, p: Proc) {
        if self.rows.len() >= CAP && !self.rows.contains_key(&tgid) {
            self.make_room();
        }
        self.rows.insert(tgid, p);
    }

    /// Drops the oldest exited row, or any row if none has exited.
    fn make_room(&mut self) {
        let victim = self
            .rows
            .iter()
            .filter_map(|(pid, p)| p.exited.map(|t| (t, *pid)))
            .min()
            .map(|(_, pid)| pid)
            .or_else(|| self.rows.keys().next().copied());
        if let Some(pid) = victim {
            self.rows.remove(&pid);
            self.evicted += 1;
        }
    }

    /// A new process: the fork's parent is its parent for good (re-parenting is not followed).
    pub(crate) fn fork(&mut self, child: &Task) {
        let mut p = Self::from_task(child);
        // Until it execs, a child runs its parent's image.
        if let Some(parent) = self.rows.get(&child.ppid) {
            p.exe.clone_from(&parent.exe);
            p.cmdline.clone_from(&parent.cmdline);
            p.comm.clone_from(&parent.comm);
        }
        self.insert(child.tgid, p);
    }

    /// A new image: exe from the exec (made absolute from /proc when the path was relative).
    pub(crate) fn exec(&mut self, t: &Task, path: &str, args: Vec<String>) {
        let ppid = self.rows.get(&t.tgid).map_or(t.ppid, |p| p.ppid);
        let exe = if path.starts_with('/') {
            path.to_string()
        } else {
            std::fs::read_link(format!("/proc/{}/exe", t.tgid))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| path.to_string())
        };
        let args = if args.is_empty() {
            std::fs::read(format!("/proc/{}/cmdline", t.tgid))
                .map(|b| split_args(&b))
                .unwrap_or_default()
        } else {
            args
        };
        let mut p = Self::from_task(t);
        p.ppid = ppid;
        p.exe = Some(exe);
        p.cmdline = args;
        self.insert(t.tgid, p);
    }

    pub(crate) fn exit(&mut self, t: &Task, now: SystemTime) {
        match self.rows.get_mut(&t.tgid) {
            Some(p) => p.exited = Some(now),
            None => {
                let mut p = Self::from_task(t);
                p.exited = Some(now);
                self.insert(t.tgid, p);
            }
        }
    }

    /// Drops rows that exited more than [`RETAIN`] before `now`.
    pub(crate) fn expire(&mut self, now: SystemTime) {
        self.rows.retain(|_, p| {
            p.exited
                .is_none_or(|t| now.duration_since(t).unwrap_or_default() < RETAIN)
        });
    }

    /// The row of `tgid`, read from /proc when the process predates the collector.
    pub(crate) fn get(&mut self, tgid: u32) -> Option<&Proc> {
        if !self.rows.contains_key(&tgid) {
            let p = from_proc(tgid)?;
            self.insert(tgid, p);
        }
        self.rows.get(&tgid)
    }

    /// `tgid` and its ancestors, nearest first, up to init (pid 1) or an unknown parent.
    pub(crate) fn lineage(&mut self, tgid: u32) -> Vec<(u32, Proc)> {
        let mut out: Vec<(u32, Proc)> = Vec::new();
        let mut pid = tgid;
        while out.len() < MAX_DEPTH && pid != 0 && !out.iter().any(|(p, _)| *p == pid) {
            let Some(p) = self.get(pid).cloned() else {
                break;
            };
            let next = p.ppid;
            out.push((pid, p));
            pid = next;
        }
        out
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// A row from `/proc/<pid>` for a process the collector did not see start.
fn from_proc(pid: u32) -> Option<Proc> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let first_num = |v: Option<String>| {
        v.and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
    };
    Some(Proc {
        ppid: first_num(field("PPid:")).unwrap_or(0),
        exe: std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
        cmdline: std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| split_args(&b))
            .unwrap_or_default(),
        comm: field("Name:").unwrap_or_default(),
        ns_pid: field("NSpid:")
            .and_then(|v| v.split_whitespace().last().and_then(|n| n.parse().ok()))
            .unwrap_or(pid),
        ..Proc::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(tgid: u32, ppid: u32, comm: &str) -> Task {
        Task {
            tgid,
            tid: tgid,
            ppid,
            uid: 1000,
            ns_pid: tgid,
            netns: 1,
            cgroup: 7,
            ktime: 0,
            comm: comm.into(),
        }
    }

    #[test]
    fn a_detached_double_fork_keeps_its_ancestry() {
        // Pids far above any real one, so that no /proc row fills a gap.
        let (node, sh1, sh2, curl) = (4_000_001, 4_000_002, 4_000_003, 4_000_004);
        let mut t = Procs::default();
        t.fork(&task(node, 0, "node"));
        t.exec(&task(node, 0, "node"), "/usr/bin/node", vec!["node".into()]);
        t.fork(&task(sh1, node, "node"));
        t.exec(&task(sh1, node, "sh"), "/bin/sh", vec!["sh".into()]);
        t.fork(&task(sh2, sh1, "sh"));
        t.fork(&task(curl, sh2, "sh"));
        let now = SystemTime::now();
        t.exit(&task(sh2, sh1, "sh"), now);
        t.exit(&task(sh1, node, "sh"), now);
        // The kernel now says curl's parent is init; the exec event carries that.
        t.exec(&task(curl, 1, "curl"), "/usr/bin/curl", vec!["curl".into()]);
        let chain: Vec<(u32, Option<String>)> = t
            .lineage(curl)
            .into_iter()
            .map(|(p, r)| (p, r.exe))
            .collect();
        assert_eq!(
            chain,
            [
                (curl, Some("/usr/bin/curl".into())),
                (sh2, Some("/bin/sh".into())),
                (sh1, Some("/bin/sh".into())),
                (node, Some("/usr/bin/node".into())),
            ]
        );
        t.expire(now + RETAIN + Duration::from_secs(1));
        assert_eq!(
            t.lineage(curl).len(),
            1,
            "exited rows expire, the live one stays"
        );
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = Procs::default();
        let now = SystemTime::now();
        for pid in 0..(CAP as u32 + 10) {
            t.fork(&task(5_000_000 + pid, 0, "x"));
            t.exit(&task(5_000_000 + pid, 0, "x"), now);
        }
        assert_eq!(t.len(), CAP);
        assert_eq!(t.evicted, 10);
    }
}
