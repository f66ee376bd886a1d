//! The fingerprints of recent hellos, per thread. A CI subnet's clients are a handful of TLS
//! stacks (Node, curl, pip, the JVM) that send the same ClientHello fields again and again;
//! JA3 (a string and its MD5) and JA4 (two sorts and two SHA-256) cost microseconds each,
//! while comparing a hello's fields with a remembered one costs nanoseconds. So the last few
//! distinct inputs are remembered with their fingerprints, and a hello whose every input field
//! is equal to one of them shares its (immutable) fingerprints. Equal inputs give equal
//! fingerprints by definition; the cache only saves the work, never changes a value.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::FxHasher;

use super::hello::{ClientHello, Fingerprints};

/// How many distinct inputs a thread remembers (replaced round-robin).
const SLOTS: usize = 16;

/// Every field of a hello that JA3 or JA4 reads.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Inputs {
    legacy_version: u16,
    sslv2_format: bool,
    sni_present: bool,
    transport: char,
    ja4_alpn: [char; 2],
    supported_versions: Vec<u16>,
    cipher_suites: Vec<u16>,
    extensions: Vec<u16>,
    supported_groups: Vec<u16>,
    ec_point_formats: Vec<u8>,
    signature_algorithms: Vec<u16>,
}

/// The same fields, borrowed from a hello (compared and hashed without copying).
#[derive(PartialEq, Eq, Hash)]
struct InputsRef<'a> {
    legacy_version: u16,
    sslv2_format: bool,
    sni_present: bool,
    transport: char,
    ja4_alpn: [char; 2],
    supported_versions: &'a [u16],
    cipher_suites: &'a [u16],
    extensions: &'a [u16],
    supported_groups: &'a [u16],
    ec_point_formats: &'a [u8],
    signature_algorithms: &'a [u16],
}

impl<'a> InputsRef<'a> {
    fn of(h: &'a ClientHello) -> Self {
        InputsRef {
            legacy_version: h.legacy_version,
            sslv2_format: h.sslv2_format,
            sni_present: h.sni_present,
            transport: h.transport,
            ja4_alpn: h.ja4_alpn,
            supported_versions: &h.supported_versions,
            cipher_suites: &h.cipher_suites,
            extensions: &h.extensions,
            supported_groups: &h.supported_groups,
            ec_point_formats: &h.ec_point_formats,
            signature_algorithms: &h.signature_algorithms,
        }
    }

    fn matches(&self, k: &Inputs) -> bool {
        self.legacy_version == k.legacy_version
            && self.sslv2_format == k.sslv2_format
            && self.sni_present == k.sni_present
            && self.transport == k.transport
            && self.ja4_alpn == k.ja4_alpn
            && self.supported_versions == k.supported_versions.as_slice()
            && self.cipher_suites == k.cipher_suites.as_slice()
            && self.extensions == k.extensions.as_slice()
            && self.supported_groups == k.supported_groups.as_slice()
            && self.ec_point_formats == k.ec_point_formats.as_slice()
            && self.signature_algorithms == k.signature_algorithms.as_slice()
    }

    fn owned(&self) -> Inputs {
        Inputs {
            legacy_version: self.legacy_version,
            sslv2_format: self.sslv2_format,
            sni_present: self.sni_present,
            transport: self.transport,
            ja4_alpn: self.ja4_alpn,
            supported_versions: self.supported_versions.to_vec(),
            cipher_suites: self.cipher_suites.to_vec(),
            extensions: self.extensions.to_vec(),
            supported_groups: self.supported_groups.to_vec(),
            ec_point_formats: self.ec_point_formats.to_vec(),
            signature_algorithms: self.signature_algorithms.to_vec(),
        }
    }

    fn digest(&self) -> u64 {
        let mut h = FxHasher::default();
        self.hash(&mut h);
        h.finish()
    }
}

#[derive(Default)]
struct Recent {
    slots: Vec<(u64, Inputs, Arc<Fingerprints>)>,
    next: usize,
}

thread_local! {
    static RECENT: RefCell<Recent> = RefCell::new(Recent::default());
}

/// The fingerprints of `h`: remembered ones when a recent hello had the same inputs, else
/// `compute`'s (then remembered).
pub(super) fn fingerprints(
    h: &ClientHello,
    compute: impl FnOnce() -> Fingerprints,
) -> Arc<Fingerprints> {
    let key = InputsRef::of(h);
    let digest = key.digest();
    let found = RECENT.with_borrow(|r| {
        r.slots
            .iter()
            .find(|(d, inputs, _)| *d == digest && key.matches(inputs))
            .map(|(_, _, f)| Arc::clone(f))
    });
    if let Some(f) = found {
        return f;
    }
    let f = Arc::new(compute());
    RECENT.with_borrow_mut(|r| {
        let entry = (digest, key.owned(), Arc::clone(&f));
        if r.slots.len() < SLOTS {
            r.slots.push(entry);
        } else {
            let i = r.next % SLOTS;
            r.slots[i] = entry;
            r.next = i + 1;
        }
    });
    f
}
