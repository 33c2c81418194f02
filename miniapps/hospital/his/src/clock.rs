//! Time as the HIS keeps it: UTC milliseconds since the Unix epoch
//! (`u64`) in data and answers; clinic days and clock times are
//! Asia/Shanghai (UTC+8, no daylight saving since 1991).

/// Milliseconds in a minute.
pub const MINUTE_MS: u64 = 60_000;
/// Milliseconds in an hour.
pub const HOUR_MS: u64 = 60 * MINUTE_MS;
/// Milliseconds in a day.
pub const DAY_MS: u64 = 24 * HOUR_MS;
/// Asia/Shanghai's offset from UTC.
const SHANGHAI_MS: u64 = 8 * HOUR_MS;

/// The current time, UTC ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The Shanghai day number (days since 1970-01-01 in Shanghai) of `ms`.
pub fn shanghai_day(ms: u64) -> u64 {
    (ms + SHANGHAI_MS) / DAY_MS
}

/// The UTC ms of `minute` (minutes after midnight) on Shanghai day `day`.
pub fn at_shanghai(day: u64, minute: u32) -> u64 {
    (day * DAY_MS + u64::from(minute) * MINUTE_MS).saturating_sub(SHANGHAI_MS)
}

/// The ISO weekday of Shanghai day `day`: 1 Monday … 7 Sunday.
pub fn weekday(day: u64) -> u8 {
    // 1970-01-01 was a Thursday (4).
    ((day + 3) % 7 + 1) as u8
}

/// `20261207` for a Shanghai day: the form slot ids use.
pub fn compact_date(day: u64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}{m:02}{d:02}")
}

/// `2026-12-07` for a Shanghai day.
pub fn iso_date(day: u64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The Shanghai day of a `YYYYMMDD` date, if it is one.
pub fn parse_compact_date(text: &str) -> Option<u64> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: u64 = text[..4].parse().ok()?;
    let m: u64 = text[4..6].parse().ok()?;
    let d: u64 = text[6..].parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = days_from_civil(y, m, d);
    // Reject 2026-02-30 and the like: the day must come back as written.
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

/// Gregorian date of `days` since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a Gregorian date from 1970 on.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_days_weekdays_and_dates_agree() {
        // 2026-12-07T00:30:00Z is 08:30 on Monday 7 December in Shanghai.
        let ms = 1_796_603_400_000;
        let day = shanghai_day(ms);
        assert_eq!(iso_date(day), "2026-12-07");
        assert_eq!(weekday(day), 1);
        assert_eq!(at_shanghai(day, 8 * 60 + 30), ms);
        // 16:00 UTC on the 6th is midnight starting the 7th in Shanghai.
        assert_eq!(shanghai_day(ms - 8 * HOUR_MS - 30 * MINUTE_MS), day);
        assert_eq!(shanghai_day(ms - 8 * HOUR_MS - 30 * MINUTE_MS - 1), day - 1);
        assert_eq!(parse_compact_date("20261207"), Some(day));
        assert_eq!(compact_date(day), "20261207");
        assert_eq!(parse_compact_date("20260230"), None);
        assert_eq!(parse_compact_date("2026127"), None);
        assert_eq!(parse_compact_date("2024022９"), None);
        assert_eq!(
            parse_compact_date("20240229").map(iso_date).unwrap(),
            "2024-02-29"
        );
    }
}
