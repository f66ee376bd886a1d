//! Fuzzes the lockfile parsers (`inventory build`/`check`): any text, read as each format (npm
//! package-lock, yarn 1, yarn berry, pnpm), gives names or an error, never a panic; every name
//! returned is a valid package name, sorted and unique. The first byte picks the format, so the
//! corpus of one format stays with its parser.
#![no_main]
use egress_ids::detect::inventory::check_name;
use egress_ids::inventory::lockfile::{parse, Format};
use libfuzzer_sys::fuzz_target;

const FORMATS: [Format; 4] = [Format::Npm, Format::YarnV1, Format::YarnBerry, Format::Pnpm];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    if let Ok(lock) = parse(format, text) {
        assert_eq!(lock.format, format);
        for name in &lock.packages {
            assert!(check_name(name).is_ok(), "{name:?}");
        }
        assert!(lock.packages.windows(2).all(|w| w[0] < w[1]));
    }
});
