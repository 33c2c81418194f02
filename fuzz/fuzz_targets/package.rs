//! A signed package as uploaded (`POST /api/publish/packages`): the JSON
//! `PackageUpload`, `decode` (base64, sizes), and the signature check
//! `Package::signed_by` against a registered key and against a key record
//! whose public key comes from the input. Properties: a decoded package
//! re-encodes (`to_upload`) to one that decodes the same; a package
//! signed with a key is found signed by it, and not for another version.
#![no_main]

use base64::Engine as _;
use cityhost_domain::publishing::departments::SigningKeyRecord;
use cityhost_domain::publishing::package::{Package, PackageUpload, is_binary_component};
use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;

fn record(public_key: String) -> SigningKeyRecord {
    SigningKeyRecord {
        id: "fuzz".into(),
        public_key,
        added_at: 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_bytes(&[7; 32]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let registered = record(b64.encode(key.verifying_key().to_bytes()));
    let Ok(upload) = serde_json::from_slice::<PackageUpload>(data) else {
        // Not a package: the bytes as a key record's public key.
        let _ = record(String::from_utf8_lossy(data).into_owned()).verifying_key();
        return;
    };
    let Ok(package) = upload.decode() else {
        return;
    };
    let again = package
        .to_upload()
        .decode()
        .expect("a re-encoded package decodes");
    assert_eq!(package.manifest, again.manifest);
    assert_eq!(package.component, again.component);
    assert_eq!(package.signature, again.signature);
    let _ = is_binary_component(&package.component);

    let keys = [record(upload.signature.clone()), registered.clone()];
    let _ = package.signed_by(&keys, "fuzz-app", "1.0.0");

    let signed = Package::sign(
        &key,
        "fuzz-app",
        "1.0.0",
        package.manifest.clone(),
        package.component.clone(),
    );
    let keys = [registered];
    assert!(signed.signed_by(&keys, "fuzz-app", "1.0.0").is_some());
    assert!(signed.signed_by(&keys, "fuzz-app", "1.0.1").is_none());
});
