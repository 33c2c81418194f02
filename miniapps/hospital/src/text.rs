//! What the citizen reads: times in Beijing time, statuses and the
//! no-show rule in words; and the one check of ids the app passes on.

use cityhost_sdk::time;

use crate::his::Standing;

/// An id the app passes to the HIS in a path or body (department, doctor,
/// slot, booking): 1-64 of `A-Z a-z 0-9 - _`.
pub(crate) fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// `12-07 周一 08:00-09:00`, Beijing time, of a slot (UTC ms).
pub(crate) fn slot_time(start_at: u64, end_at: u64) -> String {
    let start = time::format_beijing(start_at);
    let end = time::format_beijing(end_at);
    let days = (start_at + 8 * 3_600_000) / 86_400_000;
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[((days + 3) % 7) as usize];
    format!(
        "{} {weekday} {}-{}",
        &start[5..10],
        &start[11..],
        &end[11..]
    )
}

/// A booking's status in words.
pub(crate) fn status(status: &str) -> &'static str {
    match status {
        "pending" => "待支付",
        "expired" => "已超时",
        "booked" => "已预约",
        "cancelled" => "已取消",
        "attended" => "已就诊",
        "no_show" => "爽约",
        _ => "未知",
    }
}

/// The rule and the citizen's count, before they book.
pub(crate) fn rule(s: &Standing) -> String {
    format!(
        "爽约规则：{} 天内爽约累计 {} 次，将暂停预约 {} 天。您近 {} 天爽约 {} 次。",
        s.rule.window_days, s.rule.no_shows, s.rule.suspension_days, s.rule.window_days, s.no_shows
    )
}

/// The citizen is suspended until `until` (UTC ms).
pub(crate) fn suspended(s: &Standing, until: u64) -> String {
    format!(
        "您近 {} 天爽约 {} 次，预约功能暂停至 {}。",
        s.rule.window_days,
        s.no_shows,
        time::format_beijing(until)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::his::Rule;

    #[test]
    fn slots_read_in_beijing_time_with_their_weekday() {
        // 2026-12-07T00:00Z is Monday 08:00 in Beijing.
        let start = 1_796_601_600_000;
        assert_eq!(
            slot_time(start, start + 3_600_000),
            "12-07 周一 08:00-09:00"
        );
    }

    #[test]
    fn ids_are_checked() {
        assert!(is_id("d101-20261207-0800") && is_id("bk000001"));
        for bad in ["", "a b", "../x", "医生", &"a".repeat(65)] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn the_rule_tells_the_count() {
        let s = Standing {
            no_shows: 2,
            suspended_until: None,
            rule: Rule {
                no_shows: 3,
                window_days: 90,
                suspension_days: 30,
            },
        };
        assert_eq!(
            rule(&s),
            "爽约规则：90 天内爽约累计 3 次，将暂停预约 30 天。您近 90 天爽约 2 次。"
        );
    }
}
