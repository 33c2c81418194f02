//! Unified Social Credit Code (统一社会信用代码), GB 32100-2015: the 18-character
//! code every registered organisation carries, government departments
//! included.
//!
//! Layout (1-based positions): 1 registering authority, 2 organisation type,
//! 3–8 administrative division (GB/T 2260), 9–17 organisation code per
//! GB 11714 (its own check character at 17), 18 check character.
//! Alphabet: `0-9` and the capital letters without `I O Z S V`
//! (31 characters, values 0–30).
//!
//! Checks:
//! - GB 11714 over positions 9–16: weights 3, 7, 9, 10, 5, 8, 4, 2
//!   (letters valued A = 10 … Z = 35); r = 11 − (S mod 11), 10 → `X`,
//!   11 → `0`; must equal position 17.
//! - GB 32100 over positions 1–17: weights 3^(i−1) mod 31; check =
//!   alphabet[(31 − S mod 31) mod 31]; must equal position 18.
//!
//! ```
//! use cityhost_domain::uscc::{Uscc, UsccError};
//! let code = Uscc::parse("91330100MA27XL0E96").unwrap();
//! assert_eq!(code.division(), "330100");
//! assert!(matches!(Uscc::parse("91330100MA27XL0E97"), Err(UsccError::CheckCharacter { .. })));
//! ```

use std::fmt;

/// The GB 32100-2015 alphabet, in value order.
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 (3^(i−1) mod 31), GB 32100-2015.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights of the organisation code's positions 1–8, GB 11714-1997.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Why a string is not a Unified Social Credit Code. Positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not 18 characters.
    #[error("a Unified Social Credit Code has 18 characters, not {0}")]
    Length(usize),
    /// A character outside the GB 32100 alphabet (`I O Z S V` and lower-case
    /// letters included).
    #[error(
        "character {position} `{character}` is not allowed (use 0-9 and capital letters without I, O, Z, S, V)"
    )]
    Character {
        /// 1-based position.
        position: usize,
        /// The character found.
        character: char,
    },
    /// Positions 3–8 are not a six-digit division code.
    #[error("positions 3-8 must be a six-digit administrative division code, found `{0}`")]
    Division(String),
    /// The organisation code's check character (position 17, GB 11714) is wrong.
    #[error(
        "organisation code check character (position 17) should be `{expected}`, found `{found}`"
    )]
    OrganisationCheck {
        /// What GB 11714 gives for positions 9–16.
        expected: char,
        /// What the code has.
        found: char,
    },
    /// The code's check character (position 18, GB 32100) is wrong.
    #[error("check character (position 18) should be `{expected}`, found `{found}`")]
    CheckCharacter {
        /// What GB 32100 gives for positions 1–17.
        expected: char,
        /// What the code has.
        found: char,
    },
}

/// A valid Unified Social Credit Code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Validates `code` (exactly as written: no trimming, capitals only).
    pub fn parse(code: &str) -> Result<Uscc, UsccError> {
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length(chars.len()));
        }
        let mut values = [0u32; 18];
        for (i, &c) in chars.iter().enumerate() {
            values[i] = value(c).ok_or(UsccError::Character {
                position: i + 1,
                character: c,
            })?;
        }
        let division: String = chars[2..8].iter().collect();
        if !division.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UsccError::Division(division));
        }
        let expected = organisation_check(&chars[8..16]);
        if chars[16] != expected {
            return Err(UsccError::OrganisationCheck {
                expected,
                found: chars[16],
            });
        }
        let expected = check_character(&values[..17]);
        if chars[17] != expected {
            return Err(UsccError::CheckCharacter {
                expected,
                found: chars[17],
            });
        }
        Ok(Uscc(code.to_string()))
    }

    /// Builds a valid code from its first 16 characters (authority, type,
    /// division, the organisation code's first eight characters) by adding
    /// both check characters; `None` if a character is outside the alphabet.
    pub fn complete(first16: &str) -> Option<Uscc> {
        let chars: Vec<char> = first16.chars().collect();
        if chars.len() != 16 || chars.iter().any(|&c| value(c).is_none()) {
            return None;
        }
        let mut code: String = chars.iter().collect();
        code.push(organisation_check(&chars[8..16]));
        let values: Vec<u32> = code.chars().filter_map(value).collect();
        code.push(check_character(&values));
        Uscc::parse(&code).ok()
    }

    /// The code as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Positions 3–8: the six-digit division code of the registering
    /// authority.
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Value of `c` in the GB 32100 alphabet.
fn value(c: char) -> Option<u32> {
    let b = u8::try_from(c).ok()?;
    ALPHABET.iter().position(|&a| a == b).map(|p| p as u32)
}

/// GB 11714 check character over eight characters (digits 0–9, letters
/// A = 10 … Z = 35).
fn organisation_check(chars: &[char]) -> char {
    let sum: u32 = chars
        .iter()
        .zip(ORG_WEIGHTS)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        r => char::from_digit(r, 10).unwrap_or('0'),
    }
}

/// GB 32100 check character over the values of positions 1–17.
fn check_character(values: &[u32]) -> char {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    ALPHABET[((31 - sum % 31) % 31) as usize] as char
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes with the structure of real registrations (market regulation
    /// `91…`, government bodies `11…`), both check characters computed
    /// per the standards.
    const VALID: [&str; 4] = [
        "91330100MA27XL0E96",
        "113300000024820668",
        "91330100143044481D",
        "12330100470104496C",
    ];

    #[test]
    fn accepts_well_formed_codes() {
        for code in VALID {
            let parsed = Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(parsed.as_str(), code);
        }
        assert_eq!(Uscc::parse(VALID[0]).unwrap().division(), "330100");
    }

    #[test]
    fn one_character_off_is_refused_with_the_reason() {
        // Last character changed.
        assert_eq!(
            Uscc::parse("91330100MA27XL0E97"),
            Err(UsccError::CheckCharacter {
                expected: '6',
                found: '7'
            })
        );
        // Organisation code's check character changed.
        assert!(matches!(
            Uscc::parse("91330100MA27XL0E86"),
            Err(UsccError::OrganisationCheck { .. })
        ));
        // A body character changed: the organisation check catches it.
        assert!(matches!(
            Uscc::parse("91330100MA27XL1E96"),
            Err(UsccError::OrganisationCheck { .. })
        ));
        // A division digit changed: only the GB 32100 check catches it.
        assert!(matches!(
            Uscc::parse("91330200MA27XL0E96"),
            Err(UsccError::CheckCharacter { .. })
        ));
    }

    #[test]
    fn names_length_alphabet_and_division_errors() {
        assert_eq!(Uscc::parse("91330100MA27XL0E9"), Err(UsccError::Length(17)));
        assert_eq!(
            Uscc::parse("91330100MA27XL0I96"),
            Err(UsccError::Character {
                position: 16,
                character: 'I'
            })
        );
        for banned in ['O', 'Z', 'S', 'V', 'a'] {
            let code = format!("9133010{banned}MA27XL0E96");
            assert!(
                matches!(
                    Uscc::parse(&code),
                    Err(UsccError::Character { position: 8, .. })
                ),
                "{code}"
            );
        }
        assert!(matches!(
            Uscc::parse("9133A100MA27XL0E96"),
            Err(UsccError::Division(_))
        ));
    }

    #[test]
    fn completes_the_check_characters() {
        for code in VALID {
            assert_eq!(Uscc::complete(&code[..16]).unwrap().as_str(), code);
        }
        assert!(Uscc::complete("9133010IMA27XL0E").is_none());
    }
}
