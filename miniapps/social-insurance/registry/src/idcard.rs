//! Resident identity numbers (GB 11643-1999), by which the service keys
//! every insured person: 6-digit address code, 8-digit birth date, 3-digit
//! sequence, and an ISO 7064 MOD 11-2 check character.

/// Province codes (the first two digits) of GB/T 2260.
const PROVINCES: [u32; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// Weights of positions 1-17: 2^(17-i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character of the first 17 digits.
fn check_char(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize]
}

/// Why a number is not an identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Not 17 digits and a digit or `X`.
    #[error("an identity number is 17 digits and a check digit or X")]
    Format,
    /// The first two digits are no province.
    #[error("the first two digits name no province")]
    Province,
    /// Positions 7-14 are no date, or a future one.
    #[error("positions 7-14 are not a birth date")]
    BirthDate,
    /// The check character does not match.
    #[error("the check character does not match (GB 11643-1999)")]
    Check,
}

/// `number` checked (structure, province, birth date not after `today`
/// as `YYYYMMDD`, check character) and with a lower-case `x` made `X`.
pub fn validate(number: &str, today: &str) -> Result<String, Invalid> {
    let b = number.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Err(Invalid::Format);
    }
    let last = b[17].to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == b'X') {
        return Err(Invalid::Format);
    }
    let province: u32 = number[..2].parse().map_err(|_| Invalid::Format)?;
    if !PROVINCES.contains(&province) {
        return Err(Invalid::Province);
    }
    let birth = &number[6..14];
    if !is_date(birth) || birth > today {
        return Err(Invalid::BirthDate);
    }
    if check_char(&b[..17]) != last {
        return Err(Invalid::Check);
    }
    Ok(number.to_ascii_uppercase())
}

/// Whether `yyyymmdd` is a calendar date from 1900 on.
fn is_date(yyyymmdd: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (
        yyyymmdd[..4].parse::<u32>(),
        yyyymmdd[4..6].parse::<u32>(),
        yyyymmdd[6..].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1900 && (1..=days).contains(&d)
}

/// The number as printed on a certificate: the first four and last four
/// characters, the ten between as `*` (`3301**********123X`).
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let middle = chars.len() - 8;
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(middle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_example_and_the_demo_numbers_check() {
        assert_eq!(
            validate("11010519491231002x", "20261204").unwrap(),
            "11010519491231002X"
        );
        for n in [
            "33010619900101123X",
            "330102198506152345",
            "330106199203041023",
            "330183197809053014",
        ] {
            assert!(validate(n, "20261204").is_ok(), "{n}");
        }
    }

    #[test]
    fn each_fault_is_named() {
        assert_eq!(
            validate("3301061990010112", "20261204"),
            Err(Invalid::Format)
        );
        assert_eq!(
            validate("33010619900101123Y", "20261204"),
            Err(Invalid::Format)
        );
        assert_eq!(
            validate("99010619900101123X", "20261204"),
            Err(Invalid::Province)
        );
        assert_eq!(
            validate("330106199002301238", "20261204"),
            Err(Invalid::BirthDate)
        );
        assert_eq!(
            validate("330106203001011238", "20261204"),
            Err(Invalid::BirthDate)
        );
        assert_eq!(
            validate("330106199001011231", "20261204"),
            Err(Invalid::Check)
        );
    }

    #[test]
    fn a_certificate_shows_four_and_four() {
        assert_eq!(mask("33010619900101123X"), "3301**********123X");
    }
}
