//! Giving up root: once its capture handles and outputs are open, the daemon becomes an
//! unprivileged user and keeps no capability at all.
//!
//! # Which capabilities, when
//!
//! | capability | needed for | when |
//! |---|---|---|
//! | `CAP_NET_RAW` | opening the `AF_PACKET` socket behind each libpcap capture (promiscuous mode included: libpcap asks for it with a `PACKET_MR_PROMISC` membership on that socket) | at start, until the captures are open |
//! | `CAP_CHOWN` | handing the EVE files, opened by root, over to the run-as user ([`RunAs::chown`]) so that user can reopen them after logrotate | at start, before the drop |
//! | `CAP_SETGID`, `CAP_SETUID` | `setgroups`, `setresgid`, `setresuid` to the run-as user | during the drop |
//! | `CAP_SETPCAP` | emptying the capability bounding set | during the drop |
//!
//! After the drop none is needed: an open capture keeps working without privilege (even its BPF
//! filter can be replaced: attaching a socket filter needs none), signature files are read again
//! on SIGHUP as the run-as user (they must be readable by it), EVE files are reopened on SIGUSR1 as
//! that user (it owns them), and Unix-socket and webhook outputs only connect out. The price: a
//! capture that fails for good (its interface is deleted) cannot be reopened; the daemon must exit
//! and let its supervisor (systemd `Restart=on-failure`) start it again.
//!
//! `CAP_NET_ADMIN` is not needed: libpcap 1.10 on Linux opens captures, promiscuous ones and the
//! `any` interface included, with `CAP_NET_RAW` alone. It would be for things the daemon does not
//! do: wireless monitor mode, hardware timestamps, `SO_RCVBUFFORCE`.
//!
//! # The drop, in order
//!
//! 1. `no_new_privs` is set: no `execve` can ever gain privilege again (setuid bits and file
//!    capabilities are ignored).
//! 2. The ambient set is cleared, then the bounding set (while `CAP_SETPCAP` is still effective;
//!    without it the bounding set is left as it is, which `no_new_privs` makes harmless, and the
//!    report says so).
//! 3. Supplementary groups become just the run-as group, then the real, effective and saved gid,
//!    then the real, effective and saved uid. The kernel clears the permitted and effective sets
//!    when every uid leaves 0.
//! 4. The inheritable, permitted and effective sets are cleared explicitly (they are already empty
//!    unless the target user is root, or keep-caps was set).
//! 5. Everything is read back from `/proc/thread-self/status` and checked, and `setuid(0)` must
//!    fail.
//!
//! Call it before starting any other thread. glibc applies the uid and gid changes to every
//! thread, and the kernel then clears each thread's permitted and effective sets, but the bounding
//! set, the inheritable set and `no_new_privs` belong to each thread: threads already running keep
//! theirs. The report counts the threads so the daemon can warn.

use caps::{CapSet, Capability};
use nix::unistd::{Gid, Group, Uid, User};
use std::fmt;
use std::path::Path;

/// Where the credentials of the calling thread are read.
const STATUS: &str = "/proc/thread-self/status";

/// A resolved run-as identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub(crate) user: String,
    pub(crate) uid: u32,
    pub(crate) group: String,
    pub(crate) gid: u32,
}

/// Why privileges could not be dropped. The daemon must not go on running.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("privileges.user {user:?} does not exist on this machine; create it (useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin {user}) or change privileges.user")]
    NoSuchUser { user: String },
    #[error("privileges.group {group:?} does not exist on this machine; create it (groupadd --system {group}) or change privileges.group")]
    NoSuchGroup { group: String },
    #[error("cannot look up the {what} {name:?}: {source}")]
    Lookup {
        what: &'static str,
        name: String,
        source: nix::Error,
    },
    #[error("cannot {action}: {source}{}", if *source == nix::Error::EPERM { "; the daemon must start as root to change user" } else { "" })]
    Sys { action: String, source: nix::Error },
    #[error("cannot {action}: {message}")]
    Caps {
        action: &'static str,
        message: String,
    },
    #[error("cannot read {STATUS}: {0}")]
    Proc(std::io::Error),
    #[error("privileges were not dropped: {0}")]
    NotDropped(String),
}

impl RunAs {
    /// Looks up `user` and `group` (default: the user's primary group).
    pub fn resolve(user: &str, group: Option<&str>) -> Result<RunAs, PrivilegeError> {
        let u = User::from_name(user)
            .map_err(|source| PrivilegeError::Lookup {
                what: "user",
                name: user.to_string(),
                source,
            })?
            .ok_or_else(|| PrivilegeError::NoSuchUser {
                user: user.to_string(),
            })?;
        let (group, gid) = match group {
            Some(name) => {
                let g = Group::from_name(name)
                    .map_err(|source| PrivilegeError::Lookup {
                        what: "group",
                        name: name.to_string(),
                        source,
                    })?
                    .ok_or_else(|| PrivilegeError::NoSuchGroup {
                        group: name.to_string(),
                    })?;
                (g.name, g.gid)
            }
            // A primary gid without a group entry is legal; it is shown as a number.
            None => match Group::from_gid(u.gid) {
                Ok(Some(g)) => (g.name, u.gid),
                _ => (u.gid.to_string(), u.gid),
            },
        };
        Ok(RunAs {
            user: u.name,
            uid: u.uid.as_raw(),
            group,
            gid: gid.as_raw(),
        })
    }

    /// Hands the file at `path` over to this user and group, so that it can reopen the file after
    /// the drop (a file output after logrotate). A symbolic link is changed itself, never its
    /// target. Needs `CAP_CHOWN`: call it before [`RunAs::switch`].
    pub(crate) fn chown(&self, path: &Path) -> Result<(), PrivilegeError> {
        nix::unistd::fchownat(
            nix::fcntl::AT_FDCWD,
            path,
            Some(Uid::from_raw(self.uid)),
            Some(Gid::from_raw(self.gid)),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|source| PrivilegeError::Sys {
            action: format!("hand {} over to {}", path.display(), self),
            source,
        })
    }

    /// Becomes this user and group and clears every capability (see the module documentation).
    pub(crate) fn switch(&self) -> Result<PrivilegeReport, PrivilegeError> {
        drop_to(Some(self))
    }
}

impl fmt::Display for RunAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (uid {}), group {} (gid {})",
            self.user, self.uid, self.group, self.gid
        )
    }
}

/// Clears every capability set and sets `no_new_privs` without changing user: for a daemon with
/// no `privileges.user`. Started as root, it stays uid 0, but without capabilities root is only
/// the owner of root's files.
pub(crate) fn drop_capabilities() -> Result<PrivilegeReport, PrivilegeError> {
    drop_to(None)
}

/// What a drop did.
#[derive(Clone, Debug)]
pub(crate) struct PrivilegeReport {
    /// The credentials after, checked.
    pub(crate) after: Credentials,
    /// Whether the bounding set was emptied (it needs `CAP_SETPCAP`).
    pub(crate) bounding_cleared: bool,
    /// Threads in the process at the drop; more than one means some kept their bounding set and
    /// `no_new_privs` flag.
    pub(crate) threads: usize,
}

impl fmt::Display for PrivilegeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dropped privileges: {}", self.after)?;
        if !self.bounding_cleared {
            write!(
                f,
                "; the capability bounding set was left as it was (no CAP_SETPCAP to empty it), which no_new_privs makes harmless"
            )?;
        }
        match self.threads {
            0 | 1 => {}
            2 => write!(
                f,
                "; 1 other thread was already running and kept its bounding set and no_new_privs flag"
            )?,
            n => write!(
                f,
                "; {} other threads were already running and kept their bounding set and no_new_privs flag",
                n - 1
            )?,
        }
        Ok(())
    }
}

fn drop_to(run_as: Option<&RunAs>) -> Result<PrivilegeReport, PrivilegeError> {
    let caps_error = |action: &'static str| {
        move |e: caps::errors::CapsError| PrivilegeError::Caps {
            action,
            message: e.to_string(),
        }
    };
    let before = current_credentials().map_err(PrivilegeError::Proc)?;
    nix::sys::prctl::set_no_new_privs().map_err(|source| PrivilegeError::Sys {
        action: "set no_new_privs".into(),
        source,
    })?;
    caps::clear(None, CapSet::Ambient).map_err(caps_error("clear the ambient capabilities"))?;
    let bounding_cleared = if before.cap_bnd == 0 {
        true
    } else if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)
        .map_err(caps_error("read the effective capabilities"))?
    {
        caps::clear(None, CapSet::Bounding)
            .map_err(caps_error("clear the capability bounding set"))?;
        true
    } else {
        false
    };
    if let Some(run_as) = run_as {
        switch_ids(run_as)?;
    }
    caps::clear(None, CapSet::Inheritable)
        .map_err(caps_error("clear the inheritable capabilities"))?;
    // Clears the effective set too.
    caps::clear(None, CapSet::Permitted).map_err(caps_error("clear the permitted capabilities"))?;
    let after = current_credentials().map_err(PrivilegeError::Proc)?;
    verify(&after, run_as, bounding_cleared)?;
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, Iterator::count);
    Ok(PrivilegeReport {
        after,
        bounding_cleared,
        threads,
    })
}

/// Sets the supplementary groups, gids and uids to `run_as`. Nothing to do (and no privilege
/// needed) when the process is that user already, as when systemd started it with `User=`.
fn switch_ids(run_as: &RunAs) -> Result<(), PrivilegeError> {
    let (uid, gid) = (Uid::from_raw(run_as.uid), Gid::from_raw(run_as.gid));
    let sys = |action: &str| {
        let action = format!("{action} to {run_as}");
        move |source| PrivilegeError::Sys { action, source }
    };
    let ruid = nix::unistd::getresuid().map_err(sys("read the uids before switching"))?;
    let rgid = nix::unistd::getresgid().map_err(sys("read the gids before switching"))?;
    let groups = nix::unistd::getgroups().map_err(sys("read the groups before switching"))?;
    let already = [ruid.real, ruid.effective, ruid.saved] == [uid; 3]
        && [rgid.real, rgid.effective, rgid.saved] == [gid; 3]
        && groups.iter().all(|g| *g == gid);
    if already {
        return Ok(());
    }
    nix::unistd::setgroups(&[gid]).map_err(sys("set the supplementary groups"))?;
    nix::unistd::setresgid(gid, gid, gid).map_err(sys("switch the group"))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(sys("switch the user"))?;
    Ok(())
}

/// Checks that the drop did what it says.
fn verify(
    after: &Credentials,
    run_as: Option<&RunAs>,
    bounding_cleared: bool,
) -> Result<(), PrivilegeError> {
    let mut wrong = Vec::new();
    for (name, mask) in [
        ("CapEff", after.cap_eff),
        ("CapPrm", after.cap_prm),
        ("CapInh", after.cap_inh),
        ("CapAmb", after.cap_amb),
    ] {
        if mask != 0 {
            wrong.push(format!("{name} is {}", cap_names(mask)));
        }
    }
    if bounding_cleared && after.cap_bnd != 0 {
        wrong.push(format!("CapBnd is {}", cap_names(after.cap_bnd)));
    }
    if !after.no_new_privs {
        wrong.push("no_new_privs is not set".into());
    }
    if let Some(r) = run_as {
        if after.uid[..3] != [r.uid; 3] {
            wrong.push(format!("the uids are {:?}, not {}", &after.uid[..3], r.uid));
        }
        if after.gid[..3] != [r.gid; 3] {
            wrong.push(format!("the gids are {:?}, not {}", &after.gid[..3], r.gid));
        }
        if after.groups.iter().any(|g| *g != r.gid) {
            wrong.push(format!("the supplementary groups are {:?}", after.groups));
        }
        if r.uid != 0 && nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
            wrong.push("setuid(0) succeeded".into());
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(PrivilegeError::NotDropped(wrong.join("; ")))
    }
}

/// The credentials of a thread, as `/proc/<pid>/task/<tid>/status` shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// Real, effective, saved and filesystem uid.
    pub(crate) uid: [u32; 4],
    /// Real, effective, saved and filesystem gid.
    pub(crate) gid: [u32; 4],
    /// Supplementary groups.
    pub(crate) groups: Vec<u32>,
    /// Capability sets, as bit masks (bit n is capability n).
    pub(crate) cap_inh: u64,
    pub(crate) cap_prm: u64,
    pub(crate) cap_eff: u64,
    pub(crate) cap_bnd: u64,
    pub(crate) cap_amb: u64,
    pub(crate) no_new_privs: bool,
}

/// The calling thread's credentials, from `/proc/thread-self/status` (`/proc/self/status` would
/// show the main thread's).
pub(crate) fn current_credentials() -> std::io::Result<Credentials> {
    let status = std::fs::read_to_string(STATUS)?;
    Credentials::parse(&status).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no Uid, Gid or Cap* lines in it",
        )
    })
}

impl Credentials {
    /// Reads the `Uid`, `Gid`, `Groups`, `Cap*` and `NoNewPrivs` lines of a `status` file; other
    /// lines are ignored. `None` when a line is missing or malformed.
    pub(crate) fn parse(status: &str) -> Option<Credentials> {
        let field = |name: &str| {
            status.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == name).then(|| value.trim())
            })
        };
        let ids = |name: &str| -> Option<[u32; 4]> {
            let v: Vec<u32> = field(name)?
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            v.try_into().ok()
        };
        let mask = |name: &str| u64::from_str_radix(field(name)?, 16).ok();
        Some(Credentials {
            uid: ids("Uid")?,
            gid: ids("Gid")?,
            groups: field("Groups")?
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?,
            cap_inh: mask("CapInh")?,
            cap_prm: mask("CapPrm")?,
            cap_eff: mask("CapEff")?,
            cap_bnd: mask("CapBnd")?,
            cap_amb: mask("CapAmb").unwrap_or(0),
            no_new_privs: field("NoNewPrivs") == Some("1"),
        })
    }
}

/// A capability mask by name: `none`, `all`, `all but CAP_X`, or the names.
fn cap_names(mask: u64) -> String {
    let mut known: Vec<Capability> = caps::all().into_iter().collect();
    known.sort_by_key(|c| c.index());
    let all = known.iter().fold(0u64, |m, c| m | c.bitmask());
    let names = |m: u64| {
        known
            .iter()
            .filter(|c| m & c.bitmask() != 0)
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    if mask == 0 {
        "none".into()
    } else if mask & all == all {
        "all".into()
    } else if (mask & all).count_ones() > all.count_ones() / 2 {
        format!("all but {}", names(all & !mask))
    } else {
        names(mask)
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids = |v: &[u32; 4]| {
            if v.iter().all(|x| *x == v[0]) {
                v[0].to_string()
            } else {
                format!(
                    "{}/{}/{}/{} (real/effective/saved/fs)",
                    v[0], v[1], v[2], v[3]
                )
            }
        };
        let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
        write!(
            f,
            "uid {} gid {} groups [{}]; capabilities effective {}, permitted {}, inheritable {}, ambient {}, bounding {}; no_new_privs {}",
            ids(&self.uid),
            ids(&self.gid),
            groups.join(","),
            cap_names(self.cap_eff),
            cap_names(self.cap_prm),
            cap_names(self.cap_inh),
            cap_names(self.cap_amb),
            cap_names(self.cap_bnd),
            if self.no_new_privs { "on" } else { "off" },
        )
    }
}

#[cfg(test)]
mod tests {
    //! The drops run in a child process (this test binary again, running one test), so the other
    //! tests keep their privileges.

    use super::*;
    use std::process::Command;

    /// Set in the child: which drop to run.
    const CHILD: &str = "EGRESS_IDS_TEST_PRIVILEGES_CHILD";

    /// As root, or skipped with a note; in CI (CI=true) the tests run as root and must not skip.
    fn root_or_skip(test: &str) -> bool {
        if Uid::effective().is_root() {
            return true;
        }
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!in_ci, "{test} needs root, and CI runs the tests as root");
        eprintln!("NOTE: {test} skipped: it needs root");
        false
    }

    /// Runs test `name` of this module in a child with `CHILD=mode`, under `wrapper` (a command
    /// and its arguments) if any; returns its stdout.
    fn run_child(name: &str, mode: &str, wrapper: &[&str]) -> String {
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, m)| m);
        let exe = std::env::current_exe().unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = command
            .args([
                "--exact",
                &format!("{module}::{name}"),
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, mode)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "child failed: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("1 passed"),
            "the child ran no test:\n{stdout}"
        );
        stdout
    }

    /// In the child: drops, then prints the report, this thread's and the process's status, and
    /// what opening a capture does now.
    fn child(mode: &str) {
        // A new line first: libtest has written the test's name on this one.
        println!();
        // A capture opened before the drop, as the daemon does.
        let mut held = pcap::Capture::from_device("lo")
            .and_then(|c| c.timeout(200).open())
            .map_err(|e| println!("BEFORE refused: {e}"))
            .ok();
        if held.is_some() {
            println!("BEFORE opened");
        }
        let report = match mode {
            "nobody" | "already-nobody" => RunAs::resolve("nobody", None).and_then(|r| r.switch()),
            _ => drop_capabilities(),
        };
        let report = report.unwrap_or_else(|e| panic!("drop: {e}"));
        println!("REPORT {report}");
        for (tag, path) in [("THREAD", STATUS), ("PROCESS", "/proc/self/status")] {
            for line in std::fs::read_to_string(path).unwrap().lines() {
                println!("{tag} {line}");
            }
        }
        match pcap::Capture::from_device("lo").and_then(|c| c.open()) {
            Ok(_) => println!("CAPTURE opened"),
            Err(e) => println!("CAPTURE refused: {e}"),
        }
        // The capture opened before the drop still works, and its filter can still be replaced.
        if let Some(capture) = held.as_mut() {
            capture.filter("udp and dst port 9", true).unwrap();
            let marker = b"sent after the drop";
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let seen = (0..20).any(|_| {
                socket.send_to(marker, "127.0.0.1:9").unwrap();
                capture
                    .next_packet()
                    .is_ok_and(|p| p.data.windows(marker.len()).any(|w| w == marker))
            });
            println!("HELD {}", if seen { "receives" } else { "is silent" });
        }
    }

    /// The `tag` lines of a child's output, as credentials.
    fn credentials(stdout: &str, tag: &str) -> Credentials {
        let lines: String = stdout
            .lines()
            .filter_map(|l| l.strip_prefix(tag)?.strip_prefix(' '))
            .map(|l| format!("{l}\n"))
            .collect();
        Credentials::parse(&lines).unwrap_or_else(|| panic!("no {tag} status in:\n{stdout}"))
    }

    fn assert_powerless_but_still_capturing(stdout: &str, c: &Credentials) {
        assert_eq!(
            (c.cap_eff, c.cap_prm, c.cap_inh, c.cap_amb, c.cap_bnd),
            (0, 0, 0, 0, 0),
            "{c}"
        );
        assert!(c.no_new_privs, "{c}");
        let capture = stdout.lines().find(|l| l.starts_with("CAPTURE")).unwrap();
        assert!(
            capture.contains("refused") && capture.contains("Operation not permitted"),
            "opening an AF_PACKET capture must fail with EPERM now: {capture}"
        );
        assert!(
            stdout.contains("BEFORE opened") && stdout.contains("HELD receives"),
            "the capture opened before the drop must keep working:\n{stdout}"
        );
    }

    #[test]
    fn dropping_to_nobody_leaves_no_capability() {
        if let Ok(mode) = std::env::var(CHILD) {
            return child(&mode);
        }
        if !root_or_skip("dropping_to_nobody_leaves_no_capability") {
            return;
        }
        let stdout = run_child("dropping_to_nobody_leaves_no_capability", "nobody", &[]);
        let thread = credentials(&stdout, "THREAD");
        assert_eq!(thread.uid, [65534; 4], "{thread}");
        assert_eq!(thread.gid, [65534; 4], "{thread}");
        assert_eq!(thread.groups, [65534], "{thread}");
        assert_powerless_but_still_capturing(&stdout, &thread);
        // libtest ran the drop on its test thread. The main thread changed user too (glibc applies
        // set*id to every thread), which cleared its capabilities, but it kept its own bounding set
        // and no_new_privs flag, as the module documentation warns; the report said so.
        let process = credentials(&stdout, "PROCESS");
        assert_eq!(process.uid, [65534; 4], "{process}");
        assert_eq!((process.cap_eff, process.cap_prm), (0, 0), "{process}");
        let report = stdout.lines().find(|l| l.starts_with("REPORT")).unwrap();
        assert!(
            report.contains("uid 65534 gid 65534 groups [65534]"),
            "{report}"
        );
        assert!(report.contains("effective none"), "{report}");
    }

    #[test]
    fn dropping_capabilities_alone_keeps_root_powerless() {
        if let Ok(mode) = std::env::var(CHILD) {
            return child(&mode);
        }
        if !root_or_skip("dropping_capabilities_alone_keeps_root_powerless") {
            return;
        }
        let stdout = run_child(
            "dropping_capabilities_alone_keeps_root_powerless",
            "capabilities",
            &[],
        );
        let thread = credentials(&stdout, "THREAD");
        assert_eq!(thread.uid, [0; 4], "{thread}");
        assert_powerless_but_still_capturing(&stdout, &thread);
    }

    /// Started as the run-as user with CAP_NET_RAW alone (systemd `User=` with
    /// `AmbientCapabilities=CAP_NET_RAW`): the capture opens, no id change is needed, and the drop
    /// leaves nothing but the bounding set, which it cannot empty without CAP_SETPCAP.
    #[test]
    fn starting_as_the_user_with_net_raw_alone_is_enough() {
        if let Ok(mode) = std::env::var(CHILD) {
            return child(&mode);
        }
        if !root_or_skip("starting_as_the_user_with_net_raw_alone_is_enough") {
            return;
        }
        if !Path::new("/usr/bin/setpriv").exists() {
            eprintln!("NOTE: starting_as_the_user_with_net_raw_alone_is_enough skipped: no setpriv (util-linux)");
            return;
        }
        // nobody must be able to run this test binary: every directory above it searchable by
        // others (a checkout under /root is not).
        let exe = std::env::current_exe().unwrap();
        let reachable = exe.ancestors().all(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
        });
        if !reachable {
            eprintln!(
                "NOTE: starting_as_the_user_with_net_raw_alone_is_enough skipped: nobody cannot run {}",
                exe.display()
            );
            return;
        }
        let setpriv = [
            "/usr/bin/setpriv",
            "--reuid=nobody",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all,+net_raw",
            "--ambient-caps=-all,+net_raw",
            "--bounding-set=-all,+net_raw",
            "--",
        ];
        let stdout = run_child(
            "starting_as_the_user_with_net_raw_alone_is_enough",
            "already-nobody",
            &setpriv,
        );
        assert!(
            stdout.contains("BEFORE opened") && stdout.contains("HELD receives"),
            "{stdout}"
        );
        let thread = credentials(&stdout, "THREAD");
        assert_eq!(thread.uid, [65534; 4], "{thread}");
        assert_eq!(
            (
                thread.cap_eff,
                thread.cap_prm,
                thread.cap_inh,
                thread.cap_amb
            ),
            (0, 0, 0, 0),
            "{thread}"
        );
        assert_eq!(
            thread.cap_bnd,
            Capability::CAP_NET_RAW.bitmask(),
            "{thread}"
        );
        assert!(thread.no_new_privs);
        let report = stdout.lines().find(|l| l.starts_with("REPORT")).unwrap();
        assert!(
            report.contains("bounding set was left as it was"),
            "{report}"
        );
        let capture = stdout.lines().find(|l| l.starts_with("CAPTURE")).unwrap();
        assert!(capture.contains("Operation not permitted"), "{capture}");
    }

    #[test]
    fn users_and_groups_resolve_or_say_how_to_create_them() {
        if User::from_name("nobody").ok().flatten().is_some() {
            let r = RunAs::resolve("nobody", None).unwrap();
            assert_eq!((r.uid, r.gid), (65534, 65534));
            assert_eq!(
                r.to_string(),
                format!("nobody (uid 65534), group {} (gid 65534)", r.group)
            );
            let r = RunAs::resolve("nobody", Some("root")).unwrap();
            assert_eq!((r.uid, r.group.as_str(), r.gid), (65534, "root", 0));
        }
        let e = RunAs::resolve("egress-ids-no-such-user", None).unwrap_err();
        assert!(matches!(e, PrivilegeError::NoSuchUser { .. }), "{e:?}");
        assert!(e.to_string().contains("useradd --system"), "{e}");
        let e = RunAs::resolve("root", Some("egress-ids-no-such-group")).unwrap_err();
        assert!(
            e.to_string()
                .contains("groupadd --system egress-ids-no-such-group"),
            "{e}"
        );
    }

    #[test]
    fn chown_hands_a_file_over_but_never_a_link_target() {
        if !root_or_skip("chown_hands_a_file_over_but_never_a_link_target") {
            return;
        }
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("egress-ids-chown-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (file, target, link) = (dir.join("eve.json"), dir.join("target"), dir.join("link"));
        std::fs::write(&file, "").unwrap();
        std::fs::write(&target, "").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let nobody = RunAs {
            user: "nobody".into(),
            uid: 65534,
            group: "nogroup".into(),
            gid: 65534,
        };
        nobody.chown(&file).unwrap();
        nobody.chown(&link).unwrap();
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        assert_eq!(std::fs::metadata(&target).unwrap().uid(), 0);
        assert_eq!(std::fs::symlink_metadata(&link).unwrap().uid(), 65534);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn credentials_parse_and_read_out() {
        let status = "Name:\tegress-ids\nUid:\t0\t1000\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t0 4 \n\
                      CapInh:\t0000000000000000\nCapPrm:\t0000000000002000\nCapEff:\t0000000000002000\n\
                      CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n";
        let c = Credentials::parse(status).unwrap();
        assert_eq!(c.uid, [0, 1000, 0, 0]);
        assert_eq!(c.groups, [0, 4]);
        assert_eq!(c.cap_eff, 1 << 13);
        assert_eq!(c.cap_bnd, 0x1ff_ffff_ffff);
        assert!(c.no_new_privs);
        assert_eq!(
            c.to_string(),
            "uid 0/1000/0/0 (real/effective/saved/fs) gid 0 groups [0,4]; capabilities effective \
             CAP_NET_RAW, permitted CAP_NET_RAW, inheritable none, ambient none, bounding all; \
             no_new_privs on"
        );
        let most = 0x1ff_ffff_ffff & !(1u64 << 24);
        assert_eq!(cap_names(most), "all but CAP_SYS_RESOURCE");
        assert_eq!(
            cap_names((1 << 12) | (1 << 13)),
            "CAP_NET_ADMIN,CAP_NET_RAW"
        );
        assert!(Credentials::parse("Uid:\t0\t0\t0\n").is_none());
        let now = current_credentials().unwrap();
        assert_eq!(now.uid[1], Uid::effective().as_raw());
    }
}
