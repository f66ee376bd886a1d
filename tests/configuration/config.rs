//! `egress-ids config`, as an operator drives it: print the documented defaults, edit them, check
//! the result before restarting the daemon.

use crate::common::*;

#[test]
fn the_printed_default_configuration_checks_ok() {
    let dir = scratch("config-default");
    let out = egress_ids(&["config", "--print-default"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[capture]") && text.contains("[[output]]"),
        "{text}"
    );
    let path = dir.join("egress-ids.toml");
    std::fs::write(&path, &text).unwrap();
    let out = egress_ids(&["config", "--check", path.to_str().unwrap()]);
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned()
        ),
        (Some(0), format!("{}: ok\n", path.display()), String::new())
    );
}

#[test]
fn an_unknown_key_is_refused_with_file_line_column_and_key() {
    let dir = scratch("config-unknown-key");
    let path = dir.join("egress-ids.toml");
    let text = String::from_utf8(egress_ids(&["config", "--print-default"]).stdout)
        .unwrap()
        .replace("interfaces = [\"any\"]", "interfacez = [\"eth0\"]");
    let line = 1 + text
        .lines()
        .position(|l| l.starts_with("interfacez"))
        .unwrap();
    std::fs::write(&path, &text).unwrap();
    let out = egress_ids(&["config", "--check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr.trim_end(),
        format!(
            "egress-ids: error: {}:{line}:1: unknown key `interfacez` in [capture]; the keys there are `interfaces`, `bpf`, `promisc`, `snaplen`, `buffer_size`, `capture_threads`, `attribute`",
            path.display()
        )
    );
}

#[test]
fn a_bad_value_and_a_bad_signature_file_are_refused() {
    let dir = scratch("config-bad-values");
    let path = dir.join("egress-ids.toml");
    std::fs::write(
        &path,
        "[detect]\nhome_net = [\"10.0.0.0/8\", \"10.1.2.3\"]\n",
    )
    .unwrap();
    let out = egress_ids(&["config", "--check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:2:27: detect.home_net: \"10.1.2.3\" is not a CIDR prefix",
            path.display()
        )),
        "{stderr}"
    );

    let list = dir.join("corp.ioc-domains.txt");
    std::fs::write(&list, "evil.example\nnot a domain\n").unwrap();
    std::fs::write(
        &path,
        format!("[detect]\nsignatures = [{:?}]\n", list.to_str().unwrap()),
    )
    .unwrap();
    let out = egress_ids(&["config", "--check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: detect.signatures: {}:2:",
            path.display(),
            list.display()
        )),
        "{stderr}"
    );
}

#[test]
fn config_needs_one_action() {
    let out = egress_ids(&["config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--print-default|--check"));
    let out = egress_ids(&["config", "--check", "/nonexistent/egress-ids.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("/nonexistent/egress-ids.toml: cannot read the configuration"));
}
