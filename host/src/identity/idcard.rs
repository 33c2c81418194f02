//! Resident identity numbers, GB 11643-1999 (18 characters): structure,
//! birth date, province code and check character (ISO 7064 MOD 11-2).

use time::{Date, Month, OffsetDateTime};

/// Why an identity number is not well-formed, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 17 digits followed by a digit or `X`.
    #[error("an identity number is 17 digits followed by a digit or X")]
    Format,
    /// Characters 7-14 are not a real calendar date, or it is in the future.
    #[error("the birth date (characters 7-14) is not a real past date")]
    BirthDate,
    /// Characters 1-2 are not a province code of China.
    #[error("the province code (characters 1-2) does not exist")]
    Province,
    /// The 18th character does not match the check character.
    #[error("the check character (character 18) does not match")]
    CheckCharacter,
}

/// Weights of positions 1-17: 2^(17-i) mod 11 (GB 11643-1999).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for S mod 11 = 0..10 (ISO 7064 MOD 11-2).
const CHECK: &[u8; 11] = b"10X98765432";

/// The check character for the first 17 digits (ISO 7064 MOD 11-2).
/// Panics if `first17` is not 17 ASCII digits (callers check first).
pub fn check_character(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// Validates `input` and returns it normalised (lower-case `x` → `X`).
/// `is_province` says whether a two-digit code is a province of China.
/// `today` is the current UTC date (birth dates after it are refused).
pub fn validate(
    input: &str,
    today: Date,
    is_province: impl Fn(&str) -> bool,
) -> Result<String, IdNumberError> {
    let number = input.trim().to_ascii_uppercase();
    let bytes = number.as_bytes();
    if bytes.len() != 18
        || !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return Err(IdNumberError::Format);
    }
    let field = |range: std::ops::Range<usize>| number[range].parse::<u32>().unwrap_or(0);
    let month = Month::try_from(field(10..12) as u8).map_err(|_| IdNumberError::BirthDate)?;
    let birth = Date::from_calendar_date(field(6..10) as i32, month, field(12..14) as u8)
        .map_err(|_| IdNumberError::BirthDate)?;
    if birth > today {
        return Err(IdNumberError::BirthDate);
    }
    if !is_province(&number[..2]) {
        return Err(IdNumberError::Province);
    }
    if check_character(&bytes[..17]) != bytes[17] {
        return Err(IdNumberError::CheckCharacter);
    }
    Ok(number)
}

/// Today's date, UTC.
pub fn today_utc() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Masked form shown to apps: first and last character kept, the rest
/// starred (`1****************X`).
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn check(input: &str) -> Result<String, IdNumberError> {
        validate(input, date!(2026 - 11 - 29), |p| p == "11" || p == "33")
    }

    #[test]
    fn accepts_the_standards_worked_example() {
        // GB 11643-1999: S = 167, 167 mod 11 = 2 → X.
        assert_eq!(check_character(b"11010519491231002"), b'X');
        assert_eq!(check("11010519491231002x").unwrap(), "11010519491231002X");
    }

    #[test]
    fn each_check_has_its_own_error() {
        assert_eq!(check("1101051949123100"), Err(IdNumberError::Format));
        assert_eq!(check("11010519491331002X"), Err(IdNumberError::BirthDate));
        assert_eq!(check("11010520300101002X"), Err(IdNumberError::BirthDate));
        assert_eq!(check("99010519491231002X"), Err(IdNumberError::Province));
        assert_eq!(
            check("110105194912310021"),
            Err(IdNumberError::CheckCharacter)
        );
    }

    #[test]
    fn masks_all_but_first_and_last() {
        assert_eq!(mask("11010519491231002X"), "1****************X");
    }
}
