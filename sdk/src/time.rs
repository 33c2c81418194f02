//! Time as the platform passes it: UTC milliseconds since the Unix epoch
//! (`u64`), shown to citizens in Beijing time (UTC+8, no daylight saving).

/// Milliseconds in an hour.
const HOUR_MS: u64 = 3_600_000;

/// The current time, UTC milliseconds since the Unix epoch (from the WASI
/// wall clock, which every component may read).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `ms` as a Beijing-time date and time, `2026-10-05 16:30`.
///
/// ```
/// assert_eq!(cityhost_sdk::time::format_beijing(0), "1970-01-01 08:00");
/// ```
pub fn format_beijing(ms: u64) -> String {
    let (date, minute_of_day) = beijing(ms);
    format!("{date} {:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// `ms` as a Beijing-time date, `2026-10-05`.
pub fn format_beijing_date(ms: u64) -> String {
    beijing(ms).0
}

/// The Beijing-time date (`YYYY-MM-DD`) and minute of the day of `ms`.
fn beijing(ms: u64) -> (String, u64) {
    let local_minutes = (ms + 8 * HOUR_MS) / 60_000;
    let days = local_minutes / (24 * 60);
    let (y, m, d) = civil_from_days(days);
    (format!("{y:04}-{m:02}-{d:02}"), local_minutes % (24 * 60))
}

/// Gregorian date of `days` since 1970-01-01 (H. Hinnant's algorithm, for
/// non-negative days).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_beijing_time() {
        // 2026-10-05T08:30:00Z is 16:30 in Beijing.
        assert_eq!(format_beijing(1_791_189_000_000), "2026-10-05 16:30");
        // 2024-02-29T20:00:00Z is already 1 March in Beijing.
        assert_eq!(format_beijing_date(1_709_236_800_000), "2024-03-01");
        assert_eq!(format_beijing_date(951_782_400_000), "2000-02-29");
    }
}
