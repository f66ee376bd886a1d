//! Cgroup ids to paths (the id of cgroup v2 is its directory's inode under /sys/fs/cgroup) and
//! container ids from those paths (Docker and containerd naming).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where cgroup v2 is usually mounted (hybrid systems have it at /sys/fs/cgroup/unified).
const DEFAULT_ROOT: &str = "/sys/fs/cgroup";
/// Deepest directory level walked.
const MAX_DEPTH: usize = 16;
/// Most directories walked in one scan.
const MAX_DIRS: usize = 100_000;

/// Cgroup id → path ("/" for the root), filled by walking the hierarchy when an id is unknown.
#[derive(Default)]
pub(crate) struct Cgroups {
    paths: HashMap<u64, String>,
}

impl Cgroups {
    /// The path of cgroup `id`, rescanning the hierarchy once if it is not known yet.
    pub(crate) fn path(&mut self, id: u64) -> Option<String> {
        if let Some(p) = self.paths.get(&id) {
            return Some(p.clone());
        }
        self.paths.clear();
        let mut budget = MAX_DIRS;
        let root = cgroup2_root().unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        scan(&root, "", 0, &mut budget, &mut self.paths);
        self.paths.get(&id).cloned()
    }
}

/// The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo: `/sys/fs/cgroup` on
/// a unified host, `/sys/fs/cgroup/unified` on a hybrid one; `None` where it is not mounted.
pub fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        (right.split_whitespace().next() == Some("cgroup2"))
            .then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
    })
}

fn scan(dir: &Path, rel: &str, depth: usize, budget: &mut usize, out: &mut HashMap<u64, String>) {
    if depth > MAX_DEPTH || *budget == 0 {
        return;
    }
    *budget -= 1;
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    out.insert(
        meta.ino(),
        if rel.is_empty() {
            "/".into()
        } else {
            rel.into()
        },
    );
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let name = e.file_name();
            let child = format!("{rel}/{}", name.to_string_lossy());
            scan(&e.path(), &child, depth + 1, budget, out);
        }
    }
}

/// The container id in a cgroup path: Docker's `docker-<64 hex>.scope` (systemd driver) or
/// `/docker/<64 hex>` (cgroupfs driver), containerd's `cri-containerd-<64 hex>.scope`.
pub(crate) fn container_id(path: &str) -> Option<String> {
    path.split('/').rev().find_map(|seg| {
        let id = seg
            .strip_prefix("docker-")
            .or_else(|| seg.strip_prefix("cri-containerd-"))
            .and_then(|s| s.strip_suffix(".scope"))
            .unwrap_or(seg);
        let hex = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let named = id.len() != seg.len() || path.contains(&format!("/docker/{seg}"));
        (hex && named).then(|| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_ids_of_docker_and_containerd() {
        let id = "3f4e".repeat(16);
        assert_eq!(
            container_id(&format!("/system.slice/docker-{id}.scope")).as_deref(),
            Some(id.as_str())
        );
        assert_eq!(
            container_id(&format!("/docker/{id}")).as_deref(),
            Some(id.as_str())
        );
        assert_eq!(
            container_id(&format!(
                "/kubepods.slice/x.slice/cri-containerd-{id}.scope"
            ))
            .as_deref(),
            Some(id.as_str())
        );
        assert_eq!(container_id(&format!("/user.slice/{id}")), None);
        assert_eq!(container_id("/system.slice/docker-abc.scope"), None);
        assert_eq!(container_id("/"), None);
    }
}
