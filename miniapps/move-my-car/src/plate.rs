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

/// Whether a normalised plate has the shape of a civil plate: a province
/// abbreviation, the issuing authority's letter, then 5 (ordinary) or 6
/// (new-energy) letters and digits.
pub(crate) fn is_valid(plate: &str) -> bool {
    let mut chars = plate.chars();
    let (Some(province), Some(authority)) = (chars.next(), chars.next()) else {
        return false;
    };
    let rest: Vec<char> = chars.collect();
    PROVINCES.contains(province)
        && authority.is_ascii_uppercase()
        && matches!(rest.len(), 5 | 6)
        && rest
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_citizens_type() {
        assert_eq!(normalise("浙a·12 345"), "浙A12345");
        assert_eq!(normalise(" 浙Ａ１２３４５ "), "浙A12345");
        assert_eq!(normalise("浙A-D12345"), "浙AD12345");
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
}
