//! Durations of working time and offsets from a deadline as the config writes them
//! (`9h`, `1h30m`, `7d`; `-1h`), parsed and printed back.

use std::fmt;
use std::str::FromStr;

/// A duration of working time as written in the config: `9h`, `1h30m`, `45s`, `7d`.
/// Days and time never mix (`1d4h` is an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkDuration {
    /// `Nd`: N working days, counted as Civil Code arts. 191/194 count periods.
    Days(u32),
    /// `Nh`, `Nm`, `Ns` and their sums: working time in whole seconds.
    Seconds(u64),
}

/// A signed working-time offset (escalations: `-2h`, `+1h`, `0h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Offset {
    /// Before the deadline (written with `-`); `+` or no sign means at or after it.
    pub negative: bool,
    /// How much working time away from the deadline.
    pub amount: WorkDuration,
}

/// Why a duration or offset text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text was empty.
    #[error("empty duration")]
    Empty,
    /// Not a space-free sum of `Nd`, `Nh`, `Nm`, `Ns`, or too large (the text given).
    #[error("invalid duration {0:?}: expected a sum of Nd, Nh, Nm, Ns such as 9h, 1h30m or 7d")]
    Invalid(String),
    /// Days and hours, minutes or seconds in one value, such as `1d4h` (the text given).
    #[error("invalid duration {0:?}: working days (d) do not mix with hours, minutes or seconds")]
    MixedDaysAndTime(String),
}

impl FromStr for WorkDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s;
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        // No spaces anywhere: `9h`, `1h30m`, not ` 9h` or `1h 30m`.
        let invalid = || DurationError::Invalid(s.to_string());
        let (mut days, mut secs, mut saw_days, mut saw_time) = (0u64, 0u64, false, false);
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if digits.is_empty() {
                return Err(invalid());
            }
            let n: u64 = digits.parse().map_err(|_| invalid())?;
            digits.clear();
            let unit = match c.to_ascii_lowercase() {
                'd' => {
                    saw_days = true;
                    days = days.checked_add(n).ok_or_else(invalid)?;
                    continue;
                }
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return Err(invalid()),
            };
            saw_time = true;
            secs = n
                .checked_mul(unit)
                .and_then(|v| v.checked_add(secs))
                .ok_or_else(invalid)?;
        }
        if !digits.is_empty() {
            return Err(invalid());
        }
        match (saw_days, saw_time) {
            (true, true) => Err(DurationError::MixedDaysAndTime(s.to_string())),
            (true, false) => Ok(WorkDuration::Days(
                u32::try_from(days).map_err(|_| invalid())?,
            )),
            _ => Ok(WorkDuration::Seconds(secs)),
        }
    }
}

impl FromStr for Offset {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s;
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let amount = rest.parse::<WorkDuration>().map_err(|e| match e {
            DurationError::Empty => DurationError::Invalid(s.to_string()),
            other => other,
        })?;
        Ok(Offset { negative, amount })
    }
}

impl fmt::Display for WorkDuration {
    /// The canonical form, which parses back to the same value: `7d`, `1h30m`, `45s`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WorkDuration::Days(n) => write!(f, "{n}d"),
            WorkDuration::Seconds(0) => f.write_str("0s"),
            WorkDuration::Seconds(n) => {
                let (h, m, s) = (n / 3600, n / 60 % 60, n % 60);
                if h > 0 {
                    write!(f, "{h}h")?;
                }
                if m > 0 {
                    write!(f, "{m}m")?;
                }
                if s > 0 {
                    write!(f, "{s}s")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        write!(f, "{}", self.amount)
    }
}
