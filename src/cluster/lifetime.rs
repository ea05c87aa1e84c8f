//! `icclab.disco.lifetime`: how long a cluster may live, counted from its creation.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest lifetime accepted: a year.
const MAX_SECS: u64 = 366 * 86_400;

/// A lifetime in whole seconds, written as `3600`, `90s`, `30m`, `2h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lifetime(u64);

impl Lifetime {
    /// Parses a lifetime; the error says what a valid one looks like.
    pub fn parse(text: &str) -> Result<Lifetime, String> {
        let text = text.trim();
        let hint = || {
            format!(
                "`{}` is not a lifetime: give seconds (3600) or a number with s, m, h or d (30m, 2h, 7d)",
                text.chars().take(40).collect::<String>()
            )
        };
        let (number, unit) = match text.char_indices().last() {
            Some((at, c)) if c.is_ascii_alphabetic() => (&text[..at], c),
            Some(_) => (text, 's'),
            None => return Err(hint()),
        };
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return Err(hint());
        }
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(hint()),
        };
        let seconds = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .filter(|s| *s <= MAX_SECS)
            .ok_or_else(|| format!("a lifetime is at most {}d", MAX_SECS / 86_400))?;
        if seconds == 0 {
            return Err("a lifetime must be longer than 0 s (omit it for no limit)".into());
        }
        Ok(Lifetime(seconds))
    }

    pub fn from_secs(seconds: u64) -> Lifetime {
        Lifetime(seconds)
    }

    pub fn secs(self) -> u64 {
        self.0
    }

    pub fn duration(self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

/// The shortest exact form: `7d`, `2h`, `30m` or `90s` (parses back to the same value).
impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        match () {
            _ if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            _ if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            _ if s % 60 == 0 => write!(f, "{}m", s / 60),
            _ => write!(f, "{s}s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_units_are_accepted() {
        for (text, seconds) in [
            ("3600", 3600),
            ("90s", 90),
            ("30m", 1800),
            ("2h", 7200),
            ("7d", 604_800),
        ] {
            assert_eq!(Lifetime::parse(text).unwrap().secs(), seconds, "{text}");
        }
    }

    #[test]
    fn the_display_form_parses_back() {
        for seconds in [1, 59, 60, 90, 3600, 5400, 86_400, 90_000] {
            let lifetime = Lifetime::from_secs(seconds);
            assert_eq!(Lifetime::parse(&lifetime.to_string()).unwrap(), lifetime);
        }
    }

    #[test]
    fn nonsense_zero_and_huge_lifetimes_are_refused() {
        for bad in [
            "",
            "soon",
            "2w",
            "-5",
            "1.5h",
            "h",
            "0",
            "0m",
            "400d",
            "99999999999999999999",
        ] {
            assert!(Lifetime::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
