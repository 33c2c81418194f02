//! Chinese licence plates: normalising what a citizen types and checking
//! the shape.

/// Province (and municipality) abbreviations that start a plate.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// A plate as typed, normalised: full-width letters and digits made ASCII,
/// letters upper-cased, spaces and separators (`·`, `•`, `・`, `.`, `-`)
/// removed. `浙a·12 345` becomes `浙A12345`.
pub(crate) fn normalise(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '・' | '.' | '-'))
        .map(|c| match c {
            // Full-width ASCII (！ to ～) to ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Last characters of special plates (GA 36-2018): 学 coach, 警 police,
/// 港 and 澳 Hong Kong and Macao cross-border, 挂 trailer, 领 consulate.
const SPECIAL_SUFFIXES: &str = "学警港澳挂领";

/// Whether a normalised plate has the shape of a plate (GA 36-2018):
///
/// - a province abbreviation, the issuing authority's letter, then 5
///   (ordinary, `浙A12345`) or 6 (new-energy, `浙AD12345`) letters and
///   digits;
/// - the same with 4 letters and digits and one of 学 警 港 澳 挂 领 last
///   (`浙A1234学`, `粤Z1234港`, `沪A1234领`);
/// - an embassy plate: 使 and 6 digits (`使014578`, typed `使014·578`).
pub(crate) fn is_valid(plate: &str) -> bool {
    let chars: Vec<char> = plate.chars().collect();
    let alnum = |c: &char| c.is_ascii_uppercase() || c.is_ascii_digit();
    match chars.as_slice() {
        ['使', digits @ ..] => digits.len() == 6 && digits.iter().all(char::is_ascii_digit),
        [province, authority, rest @ ..] => {
            let serial = match rest {
                [serial @ .., last] if SPECIAL_SUFFIXES.contains(*last) => {
                    serial.len() == 4 && serial.iter().all(alnum)
                }
                serial => matches!(serial.len(), 5 | 6) && serial.iter().all(alnum),
            };
            PROVINCES.contains(*province) && authority.is_ascii_uppercase() && serial
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_citizens_type() {
        assert_eq!(normalise("浙a·12 345"), "浙A12345");
        assert_eq!(normalise(" 浙Ａ１２３４５ "), "浙A12345");
        assert_eq!(normalise("浙A-D12345"), "浙AD12345");
        assert_eq!(normalise("浙ａ１２３４学"), "浙A1234学");
        assert_eq!(normalise("使014·578"), "使014578");
    }

    #[test]
    fn checks_the_shape() {
        assert!(is_valid("浙A12345"));
        assert!(is_valid("浙AD12345"));
        assert!(is_valid("京B8X9Y7"));
        assert!(!is_valid("浙12345"));
        assert!(!is_valid("浙A1234"));
        assert!(!is_valid("浙A1234567"));
        assert!(!is_valid("AA12345"));
        assert!(!is_valid("浙A12#45"));
        assert!(!is_valid(""));
    }

    #[test]
    fn accepts_special_plates() {
        for plate in [
            "浙A1234学",
            "浙A1234警",
            "粤Z1234港",
            "粤Z1234澳",
            "浙A1234挂",
            "沪A1234领",
            "使014578",
        ] {
            assert!(is_valid(plate), "{plate}");
        }
        assert!(is_valid(&normalise("浙Ａ１２３４学")));
        assert!(!is_valid("浙A12345学"), "4 characters before the suffix");
        assert!(!is_valid("浙A123学"));
        assert!(!is_valid("浙A1234使"), "使 starts an embassy plate");
        assert!(!is_valid("浙A1234京"));
        assert!(!is_valid("使01457"));
        assert!(!is_valid("使01457A"));
        assert!(!is_valid("浙学1234"));
    }
}
