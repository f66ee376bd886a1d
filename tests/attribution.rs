//! Process attribution where a CI runner needs it beyond `run`'s own step, on real processes in
//! namespaces the test creates (tests/common/runner.rs: a runner at 10.67.0.2, an "internet"
//! with dnsmasq and `openssl s_server` for the IOC name and the registry's):
//!
//! - **The daemon on a self-hosted runner** (`capture.attribute = true`, giving up root for
//!   `nobody` after the collector started): two jobs, each a `Runner.Worker` process as GitHub's
//!   runner starts them; one's step calls the IOC name. contrib/self-hosted/job-alerts.py, run as
//!   each job's last step, fails that job (exit 3, naming curl) and passes the other (exit 0).
//! - **A container started by the step**: the step moves itself into a cgroup of its own named
//!   as Docker names them and runs curl in a network namespace of its own behind a veth, which
//!   the runner masquerades (nftables) as Docker does. `run` sees the connection twice (on the
//!   veth with the container's address, on the uplink with the runner's): both alerts name curl
//!   and the container, the second through the kernel's conntrack entry.
//! - **Learned files merged**: two clean runs learn into two files; `merge-learned` adds them up.

mod common;

use common::netns::{root_or_skip, run_ok, start_logged, Netns};
use common::runner::{in_runner, run, world, Resolv, Step, IOC, REGISTRY, RESOLVER};
use common::*;
use egress_ids::host::cgroup2_root;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

fn curl(name: &str) -> String {
    format!("curl -sk --max-time 10 -o /dev/null https://{name}/")
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

#[test]
fn the_daemon_names_each_jobs_process_and_a_job_fails_on_its_own_alerts_only() {
    if !root_or_skip("the daemon with attribution in namespaces") {
        return;
    }
    let dir = scratch("attribution-daemon");
    let w = world(&dir, "attrd");
    let eve = dir.join("eve.json");
    let config = dir.join("egress-ids.toml");
    std::fs::write(
        &config,
        format!(
            "[capture]\ninterfaces = [\"any\"]\nattribute = true\n\n[detect]\nwarmup = 0\n\n\
             [privileges]\nuser = \"nobody\"\n\n[[output]]\ntype = \"file\"\npath = \"{}\"\n",
            eve.display()
        ),
    )
    .unwrap();
    let log = dir.join("daemon.log");
    let mut daemon = start_logged(
        in_runner(&w.runner)
            .args(["daemon", "--config"])
            .arg(&config),
        &log,
        "capturing on",
        "egress-ids daemon",
    );
    let started_log = std::fs::read_to_string(&log).unwrap_or_default();
    if !started_log.contains("process attribution: on") {
        // capture.attribute = true: the daemon refuses to run without the collector.
        assert!(!ci(), "no collector under CI:\n{started_log}");
        eprintln!("NOTE: no eBPF collector here; the daemon test is skipped:\n{started_log}");
        return;
    }
    assert!(
        started_log.contains("dropped privileges: uid 65534"),
        "the daemon did not give up root:\n{started_log}"
    );
    // Each job is a `Runner.Worker` process (a copy of sh under that name) running its steps;
    // the last step is job-alerts.py, after the alert of the step (if any) is in the file.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let worker = bin.join("Runner.Worker");
    std::fs::copy("/bin/sh", &worker).unwrap();
    let job_alerts = root().join("contrib/self-hosted/job-alerts.py");
    let job = |name: &str, wait_for_alert: bool| {
        let wait = if wait_for_alert {
            format!(
                "i=0; while ! grep -q '\"event_type\":\"alert\"' {eve} && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; ",
                eve = eve.display()
            )
        } else {
            String::new()
        };
        let script = format!(
            "{curl} ; {wait}python3 {py} --eve {eve}",
            curl = curl(name),
            py = job_alerts.display(),
            eve = eve.display()
        );
        let out = w
            .runner
            .exec(&worker)
            .args(["-c", &script])
            .output()
            .expect("run a job");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (bad_code, bad_out) = job(IOC.0, true);
    let (good_code, good_out) = job(REGISTRY.0, false);
    daemon.terminate(Duration::from_secs(20));
    let daemon_log = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!("job calling home:\n{bad_out}\nclean job:\n{good_out}");
    assert_eq!(bad_code, Some(3), "{bad_out}\n{daemon_log}");
    assert!(
        bad_out.contains("ALERT") && bad_out.contains("by curl (pid "),
        "{bad_out}"
    );
    assert!(bad_out.contains("Runner.Worker"), "{bad_out}");
    // The other job's step reached only the registry: the first job's alert is not its own.
    assert_eq!(good_code, Some(0), "{good_out}");
    assert!(good_out.contains("no alert for this job"), "{good_out}");
    let events = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "daemon eve");
    let alert = events
        .iter()
        .find(|e| e["event_type"] == "alert" && e["dest_ip"] == IOC.1)
        .unwrap_or_else(|| panic!("no alert for {}: {events:#?}", IOC.1));
    let p = &alert["process"];
    assert_eq!(p["exe"], "/usr/bin/curl", "{alert}");
    assert_eq!(p["user"], "root", "{alert}");
    assert_eq!(
        p["ancestry"][0]["exe"],
        worker.display().to_string(),
        "{alert}"
    );
    // The flow event too, written when the daemon ended the flow at its stop.
    let flow = events
        .iter()
        .find(|e| e["event_type"] == "flow" && e["dest_ip"] == IOC.1 && e["dest_port"] == 443)
        .unwrap_or_else(|| panic!("no flow event for {}:443: {events:#?}", IOC.1));
    assert_eq!(flow["process"]["exe"], "/usr/bin/curl", "{flow}");
    assert_eq!(flow["process"]["pid"], p["pid"], "{flow}");
    let counts = daemon_log
        .lines()
        .find(|l| l.contains("alert and flow events named their process"))
        .unwrap_or_else(|| panic!("no attribution counts:\n{daemon_log}"));
    eprintln!("daemon: {counts}");
}

#[test]
fn attribution_asked_for_and_unavailable_stops_the_sensor_and_auto_says_why() {
    if !root_or_skip("running the sensor as nobody") {
        return;
    }
    // A copy nobody can reach wherever the checkout is.
    let dir = std::env::temp_dir().join(format!("egress-ids-nobody-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("egress-ids");
    std::fs::copy(env!("CARGO_BIN_EXE_egress-ids"), &bin).unwrap();
    for path in [&dir, &bin] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let as_nobody = |flags: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(&bin)
            .args(["live", "-i", "lo", "--eve", "/dev/null"])
            .args(flags)
            .output()
            .expect("run setpriv");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Asked for: the sensor does not start, and says what is missing.
    let (code, err) = as_nobody(&["--attribute"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("process attribution was asked for")
            && err.contains("process attribution needs root"),
        "{err}"
    );
    // The default: one line says why, and the sensor goes on (here to fail on the capture,
    // which needs root too).
    let (code, err) = as_nobody(&[]);
    assert!(
        err.contains("process attribution: off: process attribution needs root"),
        "{err}"
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(!err.contains("was asked for"), "{err}");
    // Turned off: not a word of it.
    let (_, err) = as_nobody(&["--no-attribute"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!err.contains("process attribution"), "{err}");
}

/// A cgroup made by the test under the cgroup v2 root, removed on drop (once its processes are
/// gone).
struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            let leaf_gone = self
                .0
                .read_dir()
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.path().is_dir())
                        .all(|e| std::fs::remove_dir(e.path()).is_ok())
                })
                .unwrap_or(true);
            if leaf_gone && (std::fs::remove_dir(&self.0).is_ok() || !self.0.exists()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn a_container_started_by_the_step_is_named_on_both_sides_of_its_nat() {
    if !root_or_skip("a stand-in container behind NAT") {
        return;
    }
    let Some(cgroot) = cgroup2_root() else {
        assert!(!ci(), "no cgroup v2 under CI");
        eprintln!("NOTE: no cgroup v2 here; skipped");
        return;
    };
    let dir = scratch("attribution-container");
    let w = world(&dir, "attrc");
    // The container: its own namespace behind a veth, masqueraded by the runner as Docker does.
    let ctr = Netns::new("attrc-ctr");
    w.runner.veth_to("ctr0", &ctr, "eth0", 1500);
    w.runner.ip(&["addr", "add", "10.68.0.1/24", "dev", "ctr0"]);
    ctr.ip(&["addr", "add", "10.68.0.2/24", "dev", "eth0"]);
    ctr.ip(&["route", "add", "default", "via", "10.68.0.1"]);
    w.runner.sysctl("net.ipv4.ip_forward=1");
    let nat = dir.join("nat.nft");
    std::fs::write(
        &nat,
        "table ip nat {\n  chain post {\n    type nat hook postrouting priority 100;\n    \
         ip saddr 10.68.0.0/24 oifname \"eth0\" masquerade\n  }\n}\n",
    )
    .unwrap();
    run_ok(
        w.runner.exec("nft").arg("-f").arg(&nat),
        Duration::from_secs(10),
    );
    let _resolv = Resolv::new(&ctr, RESOLVER);
    // Its cgroup, named as Docker's systemd driver names them.
    let id = format!("{:08x}", 0x9e37_79b9_u32 ^ std::process::id()).repeat(8);
    let slice = cgroot.join(format!("eids-test-{}.slice", std::process::id()));
    let _cgroup = Cgroup(slice.clone());
    let scope_in_run = format!(
        "/sys/fs/cgroup/{}/docker-{id}.scope",
        slice.file_name().unwrap().to_string_lossy()
    );
    let eve = dir.join("run.json");
    let script = format!(
        "mkdir -p {scope_in_run} && echo $$ > {scope_in_run}/cgroup.procs && \
         exec ip netns exec {ctr} {curl}",
        ctr = ctr.name(),
        curl = curl(IOC.0)
    );
    let out = run(&w, &["--eve", eve.to_str().unwrap()], &Step::sh(&script));
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("{report}");
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(
        w.server_log(IOC.0).contains("ACCEPT") && !w.sni_received(IOC.0).is_empty(),
        "the server did not receive the connection"
    );
    let events = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "run eve");
    if !report.contains("by curl") {
        assert!(!ci(), "no attribution under CI:\n{report}");
        eprintln!("NOTE: no eBPF collector here; attribution not checked");
        return;
    }
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    // On the veth, the container's own address; on the uplink, the runner's (masqueraded): the
    // DNS query (UDP) and the TLS hello (TCP) on each side.
    for src in ["10.68.0.2", "10.67.0.2"] {
        for proto in ["UDP", "TCP"] {
            assert!(
                alerts
                    .iter()
                    .any(|e| e["src_ip"] == src && e["proto"] == proto),
                "no {proto} alert from {src}: {alerts:#?}"
            );
        }
    }
    let from = |src: &str| {
        alerts
            .iter()
            .find(|e| e["src_ip"] == src)
            .unwrap_or_else(|| panic!("no alert from {src}"))
    };
    // Each alert, either side, names curl in the container (not the resolver that answered).
    for alert in &alerts {
        let p = &alert["process"];
        assert_eq!(p["exe"], "/usr/bin/curl", "{alert}");
        assert_eq!(p["container"], id.as_str(), "{alert}");
        assert!(
            p["cgroup"]
                .as_str()
                .is_some_and(|c| c.ends_with(&format!("docker-{id}.scope"))),
            "{alert}"
        );
    }
    assert_ne!(
        from("10.68.0.2")["src_port"],
        Value::Null,
        "the pre-NAT alert has a port"
    );
    assert!(
        report.contains(&format!("in container {}", &id[..12])),
        "{report}"
    );
}

#[test]
fn learned_files_of_two_clean_runs_merge_into_one() {
    if !root_or_skip("run --learn in namespaces") {
        return;
    }
    let dir = scratch("attribution-learn-merge");
    let w = world(&dir, "attrl");
    let (a, b, all) = (
        dir.join("job-a.allow-domains.txt"),
        dir.join("job-b.allow-domains.txt"),
        dir.join("ci.allow-domains.txt"),
    );
    for (file, steps) in [(&a, 1), (&b, 2)] {
        let script = vec![curl(REGISTRY.0); steps].join(" && ");
        let out = run(&w, &["--learn", file.to_str().unwrap()], &Step::sh(&script));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = egress_ids(&[
        "merge-learned",
        "-o",
        all.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("1 names from 2 learned files"), "{said}");
    let text = std::fs::read_to_string(&all).unwrap();
    eprintln!("{text}");
    // Each count is the sum of the two files' (one TLS hello per curl: 1 + 2).
    let counts = |text: &str| -> (u64, u64) {
        let line = text
            .lines()
            .find(|l| l.starts_with("# seen "))
            .unwrap_or_else(|| panic!("no counts in {text}"));
        let n = |kind: &str| {
            line.split([',', ';'])
                .find_map(|p| p.trim().trim_start_matches("# seen ").strip_prefix(kind))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0)
        };
        (n("dns "), n("tls "))
    };
    let (da, ta) = counts(&std::fs::read_to_string(&a).unwrap());
    let (db, tb) = counts(&std::fs::read_to_string(&b).unwrap());
    assert_eq!((ta, tb), (1, 2));
    assert!(da >= 1 && db >= 2, "one query or more per curl");
    assert_eq!(counts(&text), (da + db, 3), "{text}");
    assert!(text.contains("\nregistry.npmjs.org\n"), "{text}");
    // The merged file is a signatures list the next run takes.
    let out = run(
        &w,
        &["--signatures", all.to_str().unwrap()],
        &Step::sh(&curl(REGISTRY.0)),
    );
    assert_eq!(out.status.code(), Some(0));
    // A missing input is named, exit 2.
    let gone = dir.join("gone.allow-domains.txt");
    let out = egress_ids(&[
        "merge-learned",
        "-o",
        all.to_str().unwrap(),
        a.to_str().unwrap(),
        gone.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gone.allow-domains.txt: cannot read"));
}
