//! Resident identity numbers, GB 11643-1999 (18 characters): structure,
//! birth date, province code and check character (ISO 7064 MOD 11-2), and
//! the full name checked beside them in real-name verification.
//!
//! No error here carries the number itself: messages name the part of the
//! number that is wrong, never its value.

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

impl IdNumberError {
    /// Stable machine-readable reason (`format`, `birth_date`, `province`,
    /// `check_character`), sent beside the message in HTTP errors.
    pub fn reason(&self) -> &'static str {
        match self {
            IdNumberError::Format => "format",
            IdNumberError::BirthDate => "birth_date",
            IdNumberError::Province => "province",
            IdNumberError::CheckCharacter => "check_character",
        }
    }
}

/// Why a full name cannot be a resident's registered name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Fewer than 2 or more than 30 characters.
    #[error("a name has 2 to 30 characters")]
    Length,
    /// A character other than a Chinese character or the separator `·`
    /// (U+00B7) between parts of a name (as in `买买提·艾力`).
    #[error("a name is written in Chinese characters, parts separated by a single ·")]
    Characters,
}

impl NameError {
    /// Stable machine-readable reason (`length`, `characters`).
    pub fn reason(&self) -> &'static str {
        match self {
            NameError::Length => "length",
            NameError::Characters => "characters",
        }
    }
}

/// Whether `c` is a CJK unified ideograph (basic block, extension A, and
/// extensions B-F in the supplementary plane), as used in registered names.
fn is_han(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2FA1F)
}

/// Name separator of the household register, MIDDLE DOT U+00B7.
const NAME_SEPARATOR: char = '\u{00B7}';

/// Validates a full name as registered in the household register (户籍):
/// 2-30 characters, Chinese characters with single `·` separators between
/// parts (the full-width `・` and `•` are read as `·`). Returns it trimmed
/// and normalised.
pub fn validate_name(input: &str) -> Result<String, NameError> {
    let name: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '\u{30FB}' | '\u{2022}' | '\u{FF65}' => NAME_SEPARATOR,
            c => c,
        })
        .collect();
    let length = name.chars().count();
    if !(2..=30).contains(&length) {
        return Err(NameError::Length);
    }
    let well_formed = name.chars().all(|c| is_han(c) || c == NAME_SEPARATOR)
        && name.split(NAME_SEPARATOR).all(|part| !part.is_empty());
    if !well_formed {
        return Err(NameError::Characters);
    }
    Ok(name)
}

/// Sex recorded in a resident identity number: the 17th character (the
/// last of the sequence code) is odd for men, even for women.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// Odd sequence code.
    Male,
    /// Even sequence code.
    Female,
}

/// The sex encoded in a validated number (GB 11643-1999, character 17).
pub fn gender(number: &str) -> Gender {
    match number.as_bytes().get(16).map(|d| d.wrapping_sub(b'0') % 2) {
        Some(1) => Gender::Male,
        _ => Gender::Female,
    }
}

/// The birth year encoded in a validated number (characters 7-10).
pub fn birth_year(number: &str) -> u16 {
    number.get(6..10).and_then(|y| y.parse().ok()).unwrap_or(0)
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
/// The checks run in the order of [`IdNumberError`]'s variants and the
/// first failure is returned.
pub fn validate(
    input: &str,
    today: Date,
    mut is_province: impl FnMut(&str) -> bool,
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

/// A name with all but the last character starred: `张三` → `*三`.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let last = chars.last().copied().unwrap_or('*');
    format!("{}{}", "*".repeat(chars.len().saturating_sub(1)), last)
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
    fn names_of_the_household_register() {
        assert_eq!(validate_name(" 张三 ").unwrap(), "张三");
        assert_eq!(validate_name("买买提•艾力").unwrap(), "买买提·艾力");
        assert_eq!(validate_name("张"), Err(NameError::Length));
        assert_eq!(validate_name(&"张".repeat(31)), Err(NameError::Length));
        assert_eq!(validate_name("Zhang San"), Err(NameError::Characters));
        assert_eq!(validate_name("张3"), Err(NameError::Characters));
        assert_eq!(validate_name("·张三"), Err(NameError::Characters));
        assert_eq!(validate_name("买买提··艾力"), Err(NameError::Characters));
    }

    #[test]
    fn sex_and_birth_year_from_the_number() {
        assert_eq!(gender("11010519491231002X"), Gender::Female);
        assert_eq!(gender("33010619900101123X"), Gender::Male);
        assert_eq!(birth_year("11010519491231002X"), 1949);
    }

    #[test]
    fn masks_all_but_first_and_last() {
        assert_eq!(mask("11010519491231002X"), "1****************X");
    }
}
