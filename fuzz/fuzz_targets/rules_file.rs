//! Fuzzes the Suricata rule reader and matcher: any text gives loaded rules and refusals with
//! a line inside the text, never a panic; the rules then match the input's bytes as every buffer
//! of every kind of transaction (content inspection, pcre, transforms, flowbits), never a panic.
//! Half the inputs are spliced into a real ET Open rule, so the option checks are reached too.
#![no_main]
use egress_ids::detect::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

const SEED_RULE: &str = r#"alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET USER_AGENTS Suspicious User-Agent"; flow:established,to_server; http.user_agent; content:")ver"; fast_pattern; pcre:"/\)ver\d/"; http.host; dotprefix; content:".example"; endswith; bsize:<40; classtype:trojan-activity; sid:2003380; rev:13; metadata:tag User_Agent;)"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let spliced;
    let text = if data.first().is_some_and(|b| b % 2 == 0) {
        let at = (data.len() * 7919) % SEED_RULE.len();
        let at = (0..=at).rev().find(|i| SEED_RULE.is_char_boundary(*i)).unwrap_or(0);
        spliced = format!("{}{}{}", &SEED_RULE[..at], text, &SEED_RULE[at..]);
        spliced.as_str()
    } else {
        &text
    };
    let home = ["10.0.0.0/8".parse().unwrap()];
    let Ok(rules) = RuleSet::from_text("fuzz.rules", text, &home) else {
        return;
    };
    let lines = text.lines().count().max(1);
    for r in &rules.report.refused {
        assert!(r.line >= 1 && r.line <= lines, "{r}");
    }
    rules.inspect_everywhere(data);
});
