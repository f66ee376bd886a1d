//! The answer of a lookup: the process behind a socket, with its ancestry, and its EVE form
//! (the `process` object of docs/eve-extensions.schema.json).

use serde_json::{json, Value};

/// One ancestor, nearest first in [`Attribution::ancestry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AncestorSummary {
    pub pid: u32,
    /// The exe taken at exec, or the comm when the exec was not seen.
    pub exe: String,
    pub cmdline: Vec<String>,
}

/// The process that opened a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub pid: u32,
    /// Pid in the process's own pid namespace (equal to `pid` outside containers).
    pub ns_pid: u32,
    pub exe: String,
    pub cmdline: Vec<String>,
    /// The thread-group leader's comm when the socket was opened.
    pub comm: String,
    /// The user's name, when /etc/passwd has the uid.
    pub user: Option<String>,
    pub uid: u32,
    /// The cgroup v2 path ("/" for the root; empty if the cgroup is gone).
    pub cgroup: String,
    /// Inode of the network namespace the socket lived in.
    pub netns: u32,
    /// Docker or containerd container id, from the cgroup path.
    pub container: Option<String>,
    /// Parent first, up to init or the first unknown ancestor.
    pub ancestry: Vec<AncestorSummary>,
}

impl Attribution {
    /// The EVE `process` object.
    pub fn to_eve(&self) -> Value {
        let ancestry: Vec<Value> = self
            .ancestry
            .iter()
            .map(|a| json!({"pid": a.pid, "exe": a.exe, "cmdline": a.cmdline.join(" ")}))
            .collect();
        let mut v = json!({
            "pid": self.pid,
            "exe": self.exe,
            "cmdline": self.cmdline.join(" "),
            "user": self.user.clone().unwrap_or_else(|| self.uid.to_string()),
            "uid": self.uid,
            "cgroup": self.cgroup,
            "netns": self.netns,
            "ancestry": ancestry,
        });
        if self.ns_pid != self.pid {
            v["ns_pid"] = json!(self.ns_pid);
        }
        if let Some(c) = &self.container {
            v["container"] = json!(c);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_object() {
        let a = Attribution {
            pid: 812,
            ns_pid: 812,
            exe: "/usr/bin/curl".into(),
            cmdline: vec!["curl".into(), "-s".into(), "https://x/".into()],
            comm: "curl".into(),
            user: Some("runner".into()),
            uid: 1001,
            cgroup: "/ci.slice/job".into(),
            netns: 4026531840,
            container: None,
            ancestry: vec![AncestorSummary {
                pid: 811,
                exe: "/bin/sh".into(),
                cmdline: vec!["sh".into(), "-c".into(), "curl -s https://x/".into()],
            }],
        };
        assert_eq!(
            a.to_eve(),
            json!({"pid": 812, "exe": "/usr/bin/curl", "cmdline": "curl -s https://x/",
                   "user": "runner", "uid": 1001, "cgroup": "/ci.slice/job", "netns": 4026531840u32,
                   "ancestry": [{"pid": 811, "exe": "/bin/sh", "cmdline": "sh -c curl -s https://x/"}]})
        );
    }
}
