//! Resident identity numbers (GB 11643-1999) and names:
//! `idcard::validate` with the shipped province codes, `validate_name`,
//! and the helpers applied to what they accept. Properties: an accepted
//! number is 18 characters whose check character recomputes and which
//! validates again unchanged; 17 digits given their computed check
//! character never fail on format or check character.
#![no_main]

use cityhost_domain::directory::is_province;
use cityhost_domain::identity::idcard::{
    self, IdNumberError, birth_year, check_character, gender, mask, mask_name, validate_name,
};
use libfuzzer_sys::fuzz_target;
use time::{Date, Month};

fuzz_target!(|data: &[u8]| {
    let today = Date::from_calendar_date(2026, Month::December, 5).unwrap();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(number) = idcard::validate(text, today, is_province) {
        let bytes = number.as_bytes();
        assert_eq!(bytes.len(), 18);
        assert_eq!(check_character(&bytes[..17]), bytes[17]);
        assert_eq!(
            idcard::validate(&number, today, is_province).as_deref(),
            Ok(number.as_str())
        );
        let _ = gender(&number);
        assert!(birth_year(&number) <= 2026);
        assert_eq!(mask(&number).chars().count(), 18);
    }
    let digits = data.get(..17).unwrap_or(data);
    if digits.len() == 17 && digits.iter().all(u8::is_ascii_digit) {
        let mut number = digits.to_vec();
        number.push(check_character(digits));
        let number = String::from_utf8(number).unwrap();
        match idcard::validate(&number, today, is_province) {
            Ok(n) => assert_eq!(n, number),
            Err(IdNumberError::BirthDate | IdNumberError::Province) => {}
            Err(e) => panic!("{number}: {e:?}"),
        }
    }
    if let Ok(name) = validate_name(text) {
        assert!((2..=30).contains(&name.chars().count()));
        assert_eq!(validate_name(&name).as_deref(), Ok(name.as_str()));
    }
    let _ = mask(text);
    let _ = mask_name(text);
    let _ = gender(text);
    let _ = birth_year(text);
});
