//! The shipping examples of `contrib/shipping/` (Vector and Filebeat reading the EVE file into
//! Elasticsearch or OpenSearch). Neither tool is installable here, so this checks what can be
//! checked without them: each file parses, it reads the EVE file the default configuration
//! writes, and every EVE field it names is one egress-ids writes (in the records of a real
//! replay with `--sensor-name`).

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The EVE path of the default configuration (`contrib/egress-ids.toml`, its `[[output]]`).
fn default_eve_path() -> String {
    let text = std::fs::read_to_string(root().join("contrib/egress-ids.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let outputs = doc["output"].as_array().unwrap();
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0]["type"].as_str(), Some("file"));
    outputs[0]["path"].as_str().unwrap().to_string()
}

/// The keys (dotted paths, objects walked) of the records of a replay with a sensor name.
fn eve_keys() -> BTreeSet<String> {
    let pcaps = [
        root().join("pcaps/npm-postinstall-ioc.pcap"),
        root().join("pcaps/node-http-ua.pcap"),
    ];
    let refs: Vec<&Path> = pcaps.iter().map(|p| p.as_path()).collect();
    let run = replay("shipping-eve", &refs, &["--sensor-name", "runner-1"]);
    fn walk(prefix: &str, v: &Value, keys: &mut BTreeSet<String>) {
        if let Value::Object(map) = v {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&key, v, keys);
                keys.insert(key);
            }
        }
    }
    let mut keys = BTreeSet::new();
    for e in &run.events {
        walk("", e, &mut keys);
    }
    assert!(
        keys.contains("host") && keys.contains("alert.signature"),
        "{keys:?}"
    );
    keys
}

/// `.name` and `.name.sub` paths of a VRL program (Vector's remap language), outside comments
/// and strings (so without `."@timestamp"`), and without Vector's own `.message`.
fn vrl_paths(source: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| {
            // Strings blanked out (VRL strings have no escaped quotes here).
            let mut quoted = false;
            l.chars()
                .map(|c| {
                    if c == '"' {
                        quoted = !quoted;
                        ' '
                    } else if quoted {
                        ' '
                    } else {
                        c
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let source = code.as_str();
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i] == b'.'
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if starts {
            let mut j = i + 1;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'.')
            {
                j += 1;
            }
            let path = source[i + 1..j].trim_end_matches('.');
            if !path.is_empty() && path != "message" {
                paths.insert(path.to_string());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    paths
}

#[test]
fn vector_reads_the_eve_file_and_names_eve_fields() {
    let eve = default_eve_path();
    let keys = eve_keys();
    let text = std::fs::read_to_string(root().join("contrib/shipping/vector.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).expect("vector.toml is TOML");
    let source = &doc["sources"]["egress_ids_eve"];
    assert_eq!(source["type"].as_str(), Some("file"));
    let include: Vec<&str> = source["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(include, [eve.as_str()]);
    let remap = &doc["transforms"]["egress_ids_parse"];
    assert_eq!(remap["type"].as_str(), Some("remap"));
    assert_eq!(
        remap["inputs"].as_array().unwrap()[0].as_str(),
        Some("egress_ids_eve")
    );
    let vrl = remap["source"].as_str().unwrap();
    assert!(vrl.contains("parse_json!(string!(.message))"), "{vrl}");
    let paths = vrl_paths(vrl);
    for want in ["timestamp", "host"] {
        assert!(
            paths.contains(want),
            "the remap does not use .{want}: {paths:?}"
        );
    }
    for path in &paths {
        assert!(
            keys.contains(path),
            "vector.toml names .{path}, which egress-ids never writes"
        );
    }
    // The commented alert filter names event_type and a value egress-ids writes.
    assert!(text.contains("condition = '.event_type == \"alert\"'"));
    assert!(keys.contains("event_type"));
    let sink = &doc["sinks"]["egress_ids_search"];
    assert_eq!(sink["type"].as_str(), Some("elasticsearch"));
    assert_eq!(
        sink["inputs"].as_array().unwrap()[0].as_str(),
        Some("egress_ids_parse")
    );
    eprintln!("vector.toml: reads {eve}; EVE fields named: {paths:?}");
}

/// The YAML document as JSON, by Debian's python3-yaml (PyYAML).
fn yaml(path: &Path) -> Value {
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(path)
        .output()
        .expect("run python3 (scripts/install-deps.sh installs python3-yaml)");
    assert!(
        out.status.success(),
        "{} is not YAML: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every string (keys included) in `v` that starts with `eve.`.
fn eve_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if s.starts_with("eve.") => {
            out.insert(s["eve.".len()..].to_string());
        }
        Value::Array(items) => items.iter().for_each(|i| eve_refs(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                if let Some(rest) = k.strip_prefix("eve.") {
                    out.insert(rest.to_string());
                }
                eve_refs(v, out);
            }
        }
        _ => {}
    }
}

#[test]
fn filebeat_reads_the_eve_file_and_names_eve_fields() {
    let eve = default_eve_path();
    let keys = eve_keys();
    let path = root().join("contrib/shipping/filebeat.yml");
    let doc = yaml(&path);
    let input = &doc["filebeat.inputs"][0];
    assert_eq!(input["type"], "filestream");
    assert_eq!(input["paths"], serde_json::json!([eve]));
    let ndjson = &input["parsers"][0]["ndjson"];
    assert_eq!(ndjson["target"], "eve");
    let timestamp = &doc["processors"][0]["timestamp"];
    assert_eq!(timestamp["field"], "eve.timestamp");
    // The layout's test value is a timestamp as egress-ids writes it (Go checks it at start).
    let sample = timestamp["test"][0].as_str().unwrap();
    assert!(proto_like_timestamp(sample), "{sample}");
    let mut refs = BTreeSet::new();
    eve_refs(&doc, &mut refs);
    // The commented-out filter, uncommented, names eve.event_type too.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut in_example = false;
    let uncommented: String = text
        .lines()
        .map(|l| {
            in_example = l.contains("# Only alerts") || (in_example && l.starts_with("  # "));
            if in_example && !l.contains("# Only alerts") {
                l.replacen("# ", "", 1)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let scratch = scratch("shipping-filebeat").join("uncommented.yml");
    std::fs::write(&scratch, uncommented).unwrap();
    eve_refs(&yaml(&scratch), &mut refs);
    assert!(
        refs.contains("event_type") && refs.contains("timestamp"),
        "{refs:?}"
    );
    for r in &refs {
        assert!(
            keys.contains(r),
            "filebeat.yml names eve.{r}, which egress-ids never writes"
        );
    }
    assert!(doc["output.elasticsearch"]["hosts"].is_array());
    eprintln!("filebeat.yml: reads {eve}; EVE fields named: {refs:?}");
}

/// `2026-03-31T12:00:00.123456+0000`: the shape of EVE's `timestamp`.
fn proto_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 31
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[26] == b'+'
        && s.chars().filter(|c| c.is_ascii_digit()).count() == 24
}

#[test]
fn the_timestamp_sample_is_what_egress_ids_writes() {
    let run = replay("shipping-ts", &[&root().join("pcaps/ioc-sni.pcap")], &[]);
    for e in &run.events {
        let ts = e["timestamp"].as_str().unwrap();
        assert!(proto_like_timestamp(ts), "{ts}");
    }
}
