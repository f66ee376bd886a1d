//! The kinds of value settings take: whole numbers in a range, byte sizes, durations and whole
//! seconds. Each is read from text (a flag's value, a TOML string, or a TOML integer's digits)
//! and shown in messages as written: a plain integer bare (`12`), anything else quoted.

use crate::units::{format_size, parse_duration, parse_size};
use std::time::Duration;

/// The longest duration any setting takes, in seconds (136 years): far beyond any use, and small
/// enough that adding it to a timestamp or a clock reading cannot overflow.
pub(crate) const MAX_SECONDS: u64 = u32::MAX as u64;

/// Whether a duration may be zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Zero {
    Allowed,
    Refused,
}

/// `text` as an integer, when it is one (spaces around it allowed).
fn integer(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// `text` as messages show it: a plain integer bare, anything else quoted.
fn shown(text: &str) -> String {
    match integer(text) {
        Some(n) => n.to_string(),
        None => format!("{text:?}"),
    }
}

/// A whole number from `min` to `max`; `allowed` says so in messages (`use 1 to 9`).
pub(crate) fn count_in<T: TryFrom<i64>>(
    text: &str,
    min: i64,
    max: i64,
    allowed: &str,
) -> Result<T, String> {
    let digits = text.trim();
    let out_of_range = |shown: String| format!("{shown} is out of range; {allowed}");
    let Some(n) = integer(text) else {
        return Err(
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                out_of_range(shown(text))
            } else {
                format!("{text:?} is not a whole number; {allowed}")
            },
        );
    };
    if !(min..=max).contains(&n) {
        return Err(out_of_range(n.to_string()));
    }
    T::try_from(n).map_err(|_| out_of_range(n.to_string()))
}

/// A byte size ([`parse_size`], or a plain number of bytes) of at least `min` and at most `max`.
pub(crate) fn size_in(text: &str, min: usize, max: Option<usize>) -> Result<usize, String> {
    let n = match integer(text) {
        Some(n) => usize::try_from(n)
            .map_err(|_| format!("{n} is negative; write a size such as \"64MiB\""))?,
        None => parse_size(text)?,
    };
    if n < min {
        return Err(format!(
            "{} is below the minimum, {}",
            shown(text),
            format_size(min)
        ));
    }
    match max {
        Some(max) if n > max => Err(format!(
            "{} is above the maximum, {}",
            shown(text),
            format_size(max)
        )),
        _ => Ok(n),
    }
}

/// A duration ([`parse_duration`], or a plain number of seconds) of at most [`MAX_SECONDS`].
pub(crate) fn duration(text: &str, zero: Zero) -> Result<Duration, String> {
    let d = match integer(text) {
        Some(n) => Duration::from_secs(u64::try_from(n).map_err(|_| {
            format!("{n} is negative; write a number of seconds or a duration such as \"5s\"")
        })?),
        None => parse_duration(text)?,
    };
    if zero == Zero::Refused && d.is_zero() {
        return Err("must be more than 0".into());
    }
    if d > Duration::from_secs(MAX_SECONDS) {
        return Err(format!(
            "{} is above the maximum, {MAX_SECONDS} seconds (136 years)",
            shown(text)
        ));
    }
    Ok(d)
}

/// A duration in whole seconds.
pub(crate) fn seconds(text: &str, zero: Zero) -> Result<u64, String> {
    let d = duration(text, zero)?;
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "{d:?} is not a whole number of seconds; this setting counts seconds"
        ));
    }
    Ok(d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_their_digits_read_alike() {
        let count = |text| count_in::<u32>(text, 1, 9, "use 1 to 9");
        assert_eq!(count("7"), Ok(7));
        assert_eq!(count(" 7 "), Ok(7));
        assert_eq!(count("10"), Err("10 is out of range; use 1 to 9".into()));
        assert_eq!(
            count("99999999999999999999"),
            Err("\"99999999999999999999\" is out of range; use 1 to 9".into())
        );
        assert_eq!(
            count("four"),
            Err("\"four\" is not a whole number; use 1 to 9".into())
        );
        assert_eq!(
            size_in("12", 1 << 20, None),
            Err("12 is below the minimum, 1MiB".into())
        );
        assert_eq!(
            size_in("4GiB", 0, Some(2047 << 20)),
            Err("\"4GiB\" is above the maximum, 2047MiB".into())
        );
        assert_eq!(
            size_in("-1", 0, None),
            Err("-1 is negative; write a size such as \"64MiB\"".into())
        );
        assert_eq!(size_in("2M", 0, None), Ok(2 << 20));
    }

    #[test]
    fn durations_have_a_floor_and_a_ceiling() {
        assert_eq!(seconds("0", Zero::Allowed), Ok(0));
        assert_eq!(
            seconds("0", Zero::Refused),
            Err("must be more than 0".into())
        );
        assert_eq!(
            seconds("0s", Zero::Refused),
            Err("must be more than 0".into())
        );
        assert_eq!(seconds("10m", Zero::Refused), Ok(600));
        assert_eq!(
            seconds(&MAX_SECONDS.to_string(), Zero::Refused),
            Ok(MAX_SECONDS)
        );
        assert!(seconds("4294967296", Zero::Allowed)
            .unwrap_err()
            .starts_with("4294967296 is above the maximum"));
        assert!(seconds("1500ms", Zero::Allowed)
            .unwrap_err()
            .starts_with("1.5s is not a whole number of seconds"));
        assert!(seconds("-5", Zero::Allowed)
            .unwrap_err()
            .starts_with("-5 is negative"));
        assert_eq!(
            duration("250ms", Zero::Refused),
            Ok(Duration::from_millis(250))
        );
    }
}
