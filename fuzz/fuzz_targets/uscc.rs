//! Unified Social Credit Codes (GB 32100-2015): `Uscc::parse` and
//! `Uscc::complete`. Properties: a parsed code is the input, its
//! division six digits, and completing its first 16 characters gives it
//! back; 16 characters of the alphabet with a numeric division always
//! complete to a code that parses.
#![no_main]

use cityhost_domain::uscc::{ALPHABET, Uscc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = Uscc::parse(text) {
        assert_eq!(code.as_str(), text);
        assert_eq!(code.to_string(), text);
        assert!(code.division().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(code.division().len(), 6);
        assert_eq!(Uscc::complete(&text[..16]).as_ref(), Some(&code));
    }
    let first16: String = text.chars().take(16).collect();
    if let Some(code) = Uscc::complete(&first16) {
        assert!(code.as_str().starts_with(&first16));
        assert_eq!(Uscc::parse(code.as_str()).as_ref(), Ok(&code));
    } else if first16.len() == 16
        && first16.bytes().all(|b| ALPHABET.contains(&b))
        && first16.as_bytes()[2..8].iter().all(u8::is_ascii_digit)
    {
        panic!("{first16} does not complete");
    }
});
