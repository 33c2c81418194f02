//! Formatting money held as integer fen (1 yuan = 100 fen), never floats.

/// `fen` as yuan with a `¥` sign, two decimals and thousands separators:
/// `format_fen(123456)` is `¥1,234.56`.
///
/// ```
/// use cityhost_sdk::money::format_fen;
/// assert_eq!(format_fen(1234), "¥12.34");
/// assert_eq!(format_fen(5), "¥0.05");
/// assert_eq!(format_fen(123_456_700), "¥1,234,567.00");
/// ```
pub fn format_fen(fen: u64) -> String {
    format!("¥{}", format_yuan(fen))
}

/// `fen` as yuan without a sign: `format_yuan(4560)` is `45.60`.
pub fn format_yuan(fen: u64) -> String {
    let yuan = (fen / 100).to_string();
    let mut grouped = String::with_capacity(yuan.len() + yuan.len() / 3 + 3);
    for (i, digit) in yuan.chars().enumerate() {
        if i > 0 && (yuan.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped}.{:02}", fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_fen_as_yuan() {
        assert_eq!(format_fen(0), "¥0.00");
        assert_eq!(format_fen(100), "¥1.00");
        assert_eq!(format_fen(99_999), "¥999.99");
        assert_eq!(format_fen(100_000), "¥1,000.00");
        assert_eq!(format_yuan(u64::MAX), "184,467,440,737,095,516.15");
    }
}
