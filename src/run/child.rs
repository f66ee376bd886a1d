//! The command `run` watches: started in a cgroup v2 leaf of its own (so that every process it
//! starts, detached or not, is known to be the step's), with this process as its subreaper (so
//! that orphans are reparented here and reaped, not to init), signals forwarded to it, and its
//! exit status kept.

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// Why the command could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("no command given: write `egress-ids run [OPTIONS] -- CMD [ARGS...]`")]
    NoCommand,
    #[error("cannot start {program:?}: {source}")]
    Spawn {
        program: OsString,
        source: std::io::Error,
    },
}

/// A cgroup v2 leaf created for the command, removed when dropped (once empty).
#[derive(Debug)]
pub struct Leaf {
    path: PathBuf,
}

impl Leaf {
    /// Creates `egress-ids-run-<pid>` at the root of the cgroup v2 hierarchy; the reason why
    /// not where cgroup v2 is not mounted or not writable: the command then runs without one.
    pub fn create() -> Result<Leaf, String> {
        let root = crate::host::cgroup2_root().ok_or("no cgroup v2 hierarchy is mounted")?;
        let path = root.join(format!("egress-ids-run-{}", std::process::id()));
        std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Leaf { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cgroup path as `/proc/PID/cgroup` shows it (`/egress-ids-run-123`).
    pub fn name(&self) -> String {
        format!(
            "/{}",
            self.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    }

    /// The processes in the leaf now.
    pub fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.path.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }
}

impl Drop for Leaf {
    fn drop(&mut self) {
        // Bounded: a leaf with processes left cannot be removed; it is left for them.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.path).is_ok() || !self.path.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The running command.
pub struct Step {
    child: Child,
    pub leaf: Option<Leaf>,
    /// Why there is no leaf, when there is none.
    pub no_leaf: Option<String>,
}

impl Step {
    /// Makes this process the subreaper of what it starts, creates the leaf and starts `command`
    /// in it. The command enters the leaf before it runs: a shell moves itself into the leaf,
    /// then `exec`s the command, so its first fork is already inside.
    pub fn start(command: &[OsString]) -> Result<Step, ChildError> {
        let (program, args) = command.split_first().ok_or(ChildError::NoCommand)?;
        // Orphans (a detached `sh -c 'curl ... &'`) come back here, not to init.
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let (leaf, no_leaf) = match Leaf::create() {
            Ok(l) => (Some(l), None),
            Err(e) => (None, Some(e)),
        };
        let mut cmd = match &leaf {
            Some(leaf) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg("echo $$ > \"$0\" && exec \"$@\"")
                    .arg(leaf.path().join("cgroup.procs"))
                    .arg(program)
                    .args(args);
                c
            }
            None => {
                let mut c = Command::new(program);
                c.args(args);
                c
            }
        };
        let child = cmd.spawn().map_err(|source| ChildError::Spawn {
            program: program.clone(),
            source,
        })?;
        Ok(Step {
            child,
            leaf,
            no_leaf,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the command.
    pub fn forward(&self, signal: Signal) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), signal);
    }

    /// Waits for the command, reaping the orphans that came back here meanwhile; then waits at
    /// most `linger` for what is left in the leaf. Returns the command's status and the pids
    /// still running in the leaf after that.
    pub fn wait(&mut self, linger: Duration) -> (std::io::Result<ExitStatus>, Vec<u32>) {
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {
                    reap_orphans(self.child.id());
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => break Err(e),
            }
        };
        let until = Instant::now() + linger;
        let left = loop {
            reap_orphans(self.child.id());
            let left = self.leaf.as_ref().map(Leaf::pids).unwrap_or_default();
            if left.is_empty() || Instant::now() >= until {
                break left;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        (status, left)
    }
}

/// Reaps every exited orphan reparented here, leaving the command itself (`except`) to
/// `Child::wait` (never blocks).
fn reap_orphans(except: u32) {
    let peek = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    // Bounded: each turn reaps one child; at most a few thousand exist.
    for _ in 0..4096 {
        match waitid(Id::All, peek).map(|s| s.pid()) {
            Ok(Some(pid)) if pid.as_raw() as u32 != except => {
                let _ = waitpid(pid, None);
            }
            _ => return,
        }
    }
}
