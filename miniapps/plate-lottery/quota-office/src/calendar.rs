//! The lottery's calendar, in Beijing time (UTC+8, no daylight saving):
//! one draw a month. An application submitted up to the 8th, 24:00 joins
//! that month's draw; one submitted later joins the next month's. The draw
//! is held on the 26th at 10:00. Times are UTC milliseconds.

use chrono::{Datelike, NaiveDate};

/// Beijing time is UTC+8 all year.
const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;

/// The last day of a month on which applications join its draw.
pub const LAST_APPLICATION_DAY: u32 = 8;

/// The day of the month of the draw.
pub const DRAW_DAY: u32 = 26;

/// The hour (Beijing time) of the draw.
pub const DRAW_HOUR: u32 = 10;

/// A month's period, `2026-12`: year 2000-2099, month 1-12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// Reads `YYYY-MM`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Period> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        ((2000..=2099).contains(&year) && (1..=12).contains(&month))
            .then_some(Period { year, month })
    }

    /// The period that an application made at `now_ms` (UTC ms) joins,
    /// unless the office closed it early.
    pub fn of(now_ms: u64) -> Period {
        let beijing = chrono::DateTime::from_timestamp_millis(now_ms as i64 + BEIJING_OFFSET_MS)
            .unwrap_or_default()
            .date_naive();
        let this = Period {
            year: beijing.year(),
            month: beijing.month(),
        };
        if beijing.day() <= LAST_APPLICATION_DAY {
            this
        } else {
            this.next()
        }
    }

    /// The month after.
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// When its applications close: the 9th, 00:00 Beijing time, UTC ms.
    pub fn closes_at(self) -> u64 {
        self.beijing_ms(LAST_APPLICATION_DAY + 1, 0)
    }

    /// When its draw is held: the 26th, 10:00 Beijing time, UTC ms.
    pub fn draw_at(self) -> u64 {
        self.beijing_ms(DRAW_DAY, DRAW_HOUR)
    }

    fn beijing_ms(self, day: u32, hour: u32) -> u64 {
        let local = NaiveDate::from_ymd_opt(self.year, self.month, day)
            .and_then(|d| d.and_hms_opt(hour, 0, 0))
            .expect("days 9 and 26 exist in every month");
        (local.and_utc().timestamp_millis() - BEIJING_OFFSET_MS) as u64
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-08 15:59:59.999 UTC = 23:59:59.999 on the 8th in Beijing.
    const LAST_MS_OF_THE_8TH: u64 = 1_796_745_599_999;

    #[test]
    fn applications_up_to_the_8th_join_the_months_draw() {
        assert_eq!(Period::of(LAST_MS_OF_THE_8TH).to_string(), "2026-12");
        assert_eq!(Period::of(LAST_MS_OF_THE_8TH + 1).to_string(), "2027-01");
        let december = Period::parse("2026-12").unwrap();
        assert_eq!(december.closes_at(), LAST_MS_OF_THE_8TH + 1);
        // 2026-12-26 10:00 Beijing = 02:00 UTC.
        assert_eq!(december.draw_at(), 1_798_250_400_000);
        assert_eq!(december.next().to_string(), "2027-01");
        // 01:00 on the 1st in Beijing is still the 30th of November in
        // UTC; 23:00 on the 30th in Beijing is November's 8th-to-month-end
        // stretch, so the next month's.
        let first_of_december_utc = 1_796_083_200_000;
        assert_eq!(
            Period::of(first_of_december_utc - 7 * 3_600_000).to_string(),
            "2026-12"
        );
        assert_eq!(
            Period::of(first_of_december_utc - 9 * 3_600_000).to_string(),
            "2026-12"
        );
    }

    #[test]
    fn periods_are_parsed_strictly() {
        for bad in [
            "",
            "2026-1",
            "2026-13",
            "2026-00",
            "1999-12",
            "2026/12",
            "２０２６-12",
            "2026-12-01",
            "+026-12",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        assert!(Period::parse("2027-01") > Period::parse("2026-12"));
    }
}
