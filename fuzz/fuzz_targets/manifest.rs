//! An app's manifest (`cityhost.toml`) as a department uploads it:
//! `Manifest::parse` (TOML, then every rule of `validate`), and the
//! sections read later (`[http]`, `[schedule]`, the department key).
//! Property: a manifest that parses is written back (`toml::to_string`)
//! as a manifest that parses again, to the same text.
#![no_main]

use cityhost_domain::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::parse(text) else {
        return;
    };
    let _ = manifest.http_policy();
    let _ = manifest.cron_schedules();
    let _ = manifest.department_key();
    let written = toml::to_string(&manifest).expect("a parsed manifest serialises");
    let again = Manifest::parse(&written)
        .unwrap_or_else(|e| panic!("written back, the manifest no longer parses: {e}\n{written}"));
    let rewritten = toml::to_string(&again).expect("a parsed manifest serialises");
    assert_eq!(written, rewritten, "writing back is not stable");
});
