//! `egress-ids run -- CMD` on real processes: in a network namespace of the test's own (the
//! "runner", 10.67.0.2) linked by one veth pair to another (the "internet": a dnsmasq resolver at
//! 198.51.100.53, `openssl s_server` at 203.0.113.21 for the IOC name and at 203.0.113.10 for the
//! registry's), `egress-ids run` starts a real `curl` (through `sh`, as a postinstall hook
//! would): a call to the IOC name fails the step with exit status 3 and a report naming the
//! alert; a call to the registry keeps curl's own status (0); `--audit` keeps it too; a failing
//! command's status passes through; SIGTERM sent to `run` reaches the command.

mod common;

use common::netns::{root_or_skip, run_ok, start_logged, Netns};
use common::runner::{in_runner, run, wait_output, world, Step, IOC, REGISTRY};
use common::*;
use egress_ids::host::cgroup2_root;
use std::process::{Command, Stdio};
use std::time::Duration;

fn curl(name: &str) -> String {
    format!("curl -sk --max-time 10 -o /dev/null https://{name}/")
}

#[test]
fn a_step_that_calls_home_fails_and_a_clean_one_keeps_its_status() {
    if !root_or_skip("egress-ids run in namespaces") {
        return;
    }
    let dir = scratch("run-steps");
    let w = world(&dir, "run");
    // 1. The postinstall-like call to the IOC name: exit 3, the report names it.
    let out = run(&w, &[], &Step::sh(&format!("{} ; true", curl(IOC.0))));
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("{report}");
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(
        report.contains(&format!("ALERT ioc-domain {}: 10.67.0.2:", IOC.0)),
        "{report}"
    );
    assert!(report.contains("the step called home"), "{report}");
    // Where the host collector runs (eBPF, as root here), each alert names curl and the shell
    // that started it, and the chain stops at the step's own command.
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if ci || !report.contains("processes are not named") {
        assert!(report.contains("        by curl (pid "), "{report}");
        assert!(report.contains(") ← sh (pid "), "{report}");
        assert!(!report.contains("← egress-ids (pid"), "{report}");
    }
    // 2. The registry: curl's own 0, no alert.
    let out = run(&w, &[], &Step::sh(&curl(REGISTRY.0)));
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report.contains(", 0 alerts"), "{report}");
    // 3. --audit: the alert is reported, the command's status kept; EVE written.
    let eve = dir.join("audit.json");
    let out = run(
        &w,
        &["--audit", "--eve", eve.to_str().unwrap()],
        &Step::sh(&format!("{} ; exit 7", curl(IOC.0))),
    );
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(7), "{report}");
    assert!(report.contains("--audit: exit status 7"), "{report}");
    let events = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "run --eve");
    assert!(alert_rows(&events)
        .iter()
        .any(|r| r.starts_with(&format!("ioc-domain\t{}\t", IOC.0))));
    // 4. Learning: two clean runs build one allowlist with their counts; a run that alerts
    // leaves it as it was; the list then lets the registry pass as an allowlist.
    let learned = dir.join("ci.allow-domains.txt");
    for _ in 0..2 {
        let out = run(
            &w,
            &["--learn", learned.to_str().unwrap()],
            &Step::sh(&curl(REGISTRY.0)),
        );
        let report = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{report}");
        assert!(report.contains("learned: 1 names in"), "{report}");
    }
    let text = std::fs::read_to_string(&learned).unwrap();
    assert!(
        text.contains(&format!("# seen dns 4, tls 2\n{}\n", REGISTRY.0)),
        "{text}"
    );
    let out = run(
        &w,
        &["--learn", learned.to_str().unwrap()],
        &Step::sh(&curl(IOC.0)),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not learned"));
    assert_eq!(std::fs::read_to_string(&learned).unwrap(), text);
    // 5. A failing command without network: its own status.
    let out = run(&w, &[], &Step::sh("exit 5"));
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn signals_reach_the_command_and_orphans_are_waited_for() {
    if !root_or_skip("egress-ids run signals") {
        return;
    }
    let dir = scratch("run-signals");
    let runner = Netns::new("run-sig");
    runner.ip(&["addr", "add", "10.67.1.2/24", "dev", "lo"]);
    // SIGTERM to `run` is forwarded: the shell's trap writes a mark and exits 9.
    let mark = dir.join("mark");
    let script = format!(
        "trap 'echo got-term > {}; exit 9' TERM; sleep 30 >/dev/null 2>&1 & wait",
        mark.display()
    );
    let child = in_runner(&runner)
        .args(["run", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start run");
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(800));
    run_ok(
        Command::new("kill").args(["-TERM", &pid.to_string()]),
        Duration::from_secs(5),
    );
    let out = wait_output(child, Duration::from_secs(30));
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    // The shell's `sleep 30` outlives it: named in the report, then ended here, and its cgroup
    // (left for it) removed.
    let left: Vec<u32> = report
        .split("left processes running: pid ")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .next()
                .unwrap_or("")
                .split(", ")
                .filter_map(|p| p.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    for p in &left {
        let _ = Command::new("kill").arg(p.to_string()).status();
    }
    if let Some(root) = cgroup2_root() {
        let leaf = root.join(format!("egress-ids-run-{pid}"));
        for _ in 0..100 {
            if std::fs::remove_dir(&leaf).is_ok() || !leaf.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!leaf.exists(), "{} left behind", leaf.display());
    }
    assert_eq!(left.len(), 1, "{report}");
    assert_eq!(out.status.code(), Some(9), "{report}");
    assert_eq!(
        std::fs::read_to_string(&mark).unwrap_or_default().trim(),
        "got-term"
    );
    // A detached grandchild (double fork) outliving the command is waited for, up to the
    // linger, in the step's cgroup.
    let done = dir.join("done");
    let script = format!("sh -c 'sleep 0.5; echo late > {}' & exit 0", done.display());
    let out = wait_output(
        in_runner(&runner)
            .args(["run", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start run"),
        Duration::from_secs(30),
    );
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(
        std::fs::read_to_string(&done).unwrap_or_default().trim(),
        "late",
        "run returned before the orphan ended: {report}"
    );
    assert!(!report.contains("left processes running"), "{report}");
    assert!(!report.contains("without a cgroup"), "{report}");
}

#[test]
fn a_live_sensor_on_the_runner_names_the_process_of_each_alert() {
    if !root_or_skip("live attribution in namespaces") {
        return;
    }
    let dir = scratch("run-live-attribution");
    let w = world(&dir, "runlive");
    let eve = dir.join("live.json");
    let log = dir.join("live.log");
    let mut sensor = start_logged(
        in_runner(&w.runner)
            .args(["live", "-i", "any", "--warmup", "0", "--attribute", "--eve"])
            .arg(&eve),
        &log,
        "capturing on",
        "egress-ids live",
    );
    let attribution = std::fs::read_to_string(&log).unwrap_or_default();
    run_ok(
        w.runner
            .exec("sh")
            .args(["-c", &format!("{} ; true", curl(IOC.0))]),
        Duration::from_secs(30),
    );
    let has_alert = || {
        std::fs::read_to_string(&eve)
            .unwrap_or_default()
            .contains("\"dest_port\":443,\"proto\":\"TCP\"")
    };
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !has_alert() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    sensor.terminate(Duration::from_secs(20));
    let events = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "live --eve");
    let tls_alert = events
        .iter()
        .find(|e| e["event_type"] == "alert" && e["dest_port"] == 443)
        .unwrap_or_else(|| panic!("no alert on the TLS flow: {events:#?}"));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if ci || attribution.contains("process attribution: on") {
        let p = &tls_alert["process"];
        assert_eq!(p["exe"], "/usr/bin/curl", "{tls_alert}");
        assert!(
            p["ancestry"][0]["exe"]
                .as_str()
                .is_some_and(|e| e.ends_with("sh")),
            "{tls_alert}"
        );
    }
}
