//! What the citizen reads: statuses, insurance names and durations in
//! words, the masked identity number; and the checks of what the app
//! passes on.

/// Whether `text` is a month `YYYY-MM` the records service takes
/// (1990-01 to 2099-12).
pub(crate) fn is_month(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
        && ("1990".."2100").contains(&&text[..4])
        && ("01"..="12").contains(&&text[5..])
}

/// An insurance's status in words.
pub(crate) fn status(status: &str) -> &'static str {
    match status {
        "paying" => "正常缴费",
        "suspended" => "暂停缴费",
        "never" => "未参保",
        _ => "—",
    }
}

/// A short name of an insurance, for tables on a phone.
pub(crate) fn short_name(insurance: &str) -> &'static str {
    match insurance {
        "pension" => "养老保险",
        "medical" => "医疗保险",
        "unemployment" => "失业保险",
        "work_injury" => "工伤保险",
        "maternity" => "生育保险",
        _ => "其他",
    }
}

/// `13 年 2 个月` for 158 months.
pub(crate) fn years(months: u32) -> String {
    match (months / 12, months % 12) {
        (0, m) => format!("{m} 个月"),
        (y, 0) => format!("{y} 年"),
        (y, m) => format!("{y} 年 {m} 个月"),
    }
}

/// The identity number as a certificate prints it: the first and last
/// four characters (`3301**********123X`).
pub(crate) fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_checked() {
        for good in ["1990-01", "2026-11", "2099-12"] {
            assert!(is_month(good), "{good}");
        }
        for bad in [
            "",
            "2026-13",
            "2026-00",
            "1989-12",
            "2026-1",
            "2026/11",
            "２026-11",
            "2026-11 ",
        ] {
            assert!(!is_month(bad), "{bad}");
        }
    }

    #[test]
    fn durations_and_numbers_read_as_printed() {
        assert_eq!(years(158), "13 年 2 个月");
        assert_eq!(years(24), "2 年");
        assert_eq!(years(5), "5 个月");
        assert_eq!(mask("33010619900101123X"), "3301**********123X");
        assert_eq!(status("suspended"), "暂停缴费");
    }
}
