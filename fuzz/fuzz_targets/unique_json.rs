//! JSON with unique keys (`unique_json::parse`, what app claims are read
//! with before the host signs them). Properties, against serde_json: what
//! it accepts serde_json reads as the same value; what serde_json reads
//! and it refuses has a key twice; its value written out parses again as
//! serde_json reads that text. (Not to the very same value: serde_json,
//! without its `float_roundtrip` feature, may read a float it wrote one
//! unit in the last place off, e.g. `5.5555555555755565e+40`.)
#![no_main]

use cityhost_domain::unique_json;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let plain = serde_json::from_str::<Value>(text);
    match unique_json::parse(text) {
        Ok(value) => {
            assert_eq!(
                plain.as_ref().ok(),
                Some(&value),
                "serde_json reads it otherwise"
            );
            let written = serde_json::to_string(&value).unwrap();
            let again = unique_json::parse(&written).expect("written out, it parses");
            let plain_again = serde_json::from_str::<Value>(&written).unwrap();
            assert_eq!(
                again, plain_again,
                "written out, serde_json reads it otherwise"
            );
        }
        Err(e) => {
            if plain.is_ok() {
                assert!(e.to_string().contains("appears twice"), "{e}");
            }
        }
    }
});
