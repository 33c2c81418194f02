//! Contribution months (`YYYY-MM`) and the clock: social insurance is
//! levied by calendar month, Asia/Shanghai (UTC+8, no daylight saving).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar month, stored as `year * 12 + (month - 1)` so that months
/// order and subtract as numbers. Written `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(u32);

/// The earliest month the service knows: 1990-01 (records before the
/// provincial system were migrated as totals, not months).
pub const FIRST_YEAR: u32 = 1990;
/// The last year a month may name.
pub const LAST_YEAR: u32 = 2099;

impl Month {
    /// Month `month` (1-12) of `year`, if both are in range.
    pub fn new(year: u32, month: u32) -> Option<Month> {
        ((FIRST_YEAR..=LAST_YEAR).contains(&year) && (1..=12).contains(&month))
            .then(|| Month(year * 12 + month - 1))
    }

    /// Parses exactly `YYYY-MM` (ASCII digits, month 01-12, year
    /// [`FIRST_YEAR`]-[`LAST_YEAR`]).
    pub fn parse(text: &str) -> Option<Month> {
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return None;
        }
        if !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return None;
        }
        Month::new(text[..4].parse().ok()?, text[5..].parse().ok()?)
    }

    /// The year.
    pub fn year(self) -> u32 {
        self.0 / 12
    }

    /// The month of the year, 1-12.
    pub fn month(self) -> u32 {
        self.0 % 12 + 1
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }

    /// The month before this one.
    pub fn previous(self) -> Month {
        Month(self.0.saturating_sub(1))
    }

    /// Months from `self` to `other`, both counted (0 if `other` is
    /// earlier).
    pub fn months_to(self, other: Month) -> u32 {
        if other < self {
            0
        } else {
            other.0 - self.0 + 1
        }
    }

    /// The month (Asia/Shanghai) of `ms`, UTC milliseconds.
    pub fn of_ms(ms: u64) -> Month {
        let days = (ms + 8 * 3_600_000) / 86_400_000;
        let (y, m, _) = civil_from_days(days);
        Month(y as u32 * 12 + m as u32 - 1)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Month::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a month YYYY-MM")))
    }
}

/// The current time, UTC ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `2026-12-04`, the Asia/Shanghai date of `ms` (UTC ms).
pub fn shanghai_date(ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms + 8 * 3_600_000) / 86_400_000);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Gregorian date of `days` since 1970-01-01 (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly_and_count_both_ends() {
        let a = Month::parse("2018-03").unwrap();
        assert_eq!(a.to_string(), "2018-03");
        assert_eq!(
            Month::parse("2018-12").unwrap().next().to_string(),
            "2019-01"
        );
        assert_eq!(a.months_to(Month::parse("2018-05").unwrap()), 3);
        assert_eq!(a.months_to(a.previous()), 0);
        for bad in [
            "",
            "2018-3",
            "2018-13",
            "2018-00",
            "1989-12",
            "2018/03",
            "２018-03",
            "2018-03 ",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_month_is_shanghais() {
        // 2026-11-30T16:00Z is already 1 December in Shanghai.
        assert_eq!(Month::of_ms(1_796_054_400_000).to_string(), "2026-12");
        assert_eq!(Month::of_ms(1_796_054_399_999).to_string(), "2026-11");
        assert_eq!(shanghai_date(1_796_054_400_000), "2026-12-01");
    }
}
