//! `verify-signature JWKS_FILE APP_ID TOKEN`: checks, offline, a token the
//! app `APP_ID` signed, against its JWK Set saved in `JWKS_FILE`; prints
//! the claims as JSON and exits 0, or prints why it is refused and exits
//! with [`verify_signature::Refused::exit_code`] (64 on wrong usage).
//!
//! Run with: `cargo run -p verify-signature -- jwks.json move-my-car "$TOKEN"`

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [jwks, app_id, token] = args.as_slice() else {
        eprintln!("usage: verify-signature JWKS_FILE APP_ID TOKEN");
        return ExitCode::from(64);
    };
    let result = verify_signature::load_jwks(Path::new(jwks))
        .and_then(|jwks| verify_signature::verify(token.trim(), &jwks, app_id));
    match result {
        Ok(claims) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&claims).expect("claims serialise")
            );
            ExitCode::SUCCESS
        }
        Err(refused) => {
            eprintln!("refused: {refused}");
            ExitCode::from(refused.exit_code())
        }
    }
}
