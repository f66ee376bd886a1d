//! Helpers shared by the unit tests: a constant-seed pseudo-random generator for the bounded
//! robustness loops (the same inputs on every run).

/// xorshift64 with a caller-chosen constant seed.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next 64 pseudo-random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Suricata's EVE schema from `../shared/corpus/eve-schema.json` beside the repository, parsed.
/// `None` when `../shared` is absent (the schema checks are then skipped with a note), except
/// under `CI=true`, where `../shared` is always there and its absence is a setup error.
pub(crate) fn eve_schema() -> Option<serde_json::Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/eve-schema.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut schema: serde_json::Value =
                serde_json::from_str(&text).expect("eve-schema.json parses");
            // egress-ids' documented extensions (`ech`, `svcb`) belong to the schema it meets.
            let ext = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../docs/eve-extensions.schema.json");
            let ext = std::fs::read_to_string(ext).expect("docs/eve-extensions.schema.json");
            merge(
                &mut schema,
                &serde_json::from_str(&ext).expect("extensions parse"),
            );
            Some(schema)
        }
        Err(e) => {
            let msg = format!("{} unreadable ({e}); schema checks skipped", path.display());
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}");
            eprintln!("NOTE: {msg}");
            None
        }
    }
}

/// Deep-merges `ext` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut serde_json::Value, ext: &serde_json::Value) {
    match (base, ext) {
        (serde_json::Value::Object(b), serde_json::Value::Object(e)) => {
            for (k, v) in e.iter().filter(|(k, _)| *k != "$comment") {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, e) => *b = e.clone(),
    }
}

/// Bytes from a hex string (whitespace ignored); panics on bad hex (test vectors only).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
