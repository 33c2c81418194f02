//! `verify-id-token HOST_URL APP_ID TOKEN`: fetches the host's JWK Set,
//! verifies the token for the app and prints its claims as JSON.
//!
//! Run with: `cargo run -p verify-id-token -- http://127.0.0.1:8080 housing-fund "$TOKEN"`

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, app_id, token] = args.as_slice() else {
        eprintln!("usage: verify-id-token HOST_URL APP_ID TOKEN");
        return ExitCode::from(2);
    };
    let result = async {
        let jwks = verify_id_token::fetch_jwks(host).await?;
        verify_id_token::verify(token, &jwks, host, app_id)
    }
    .await;
    match result {
        Ok(claims) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&claims).expect("claims serialise")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("refused: {e}");
            ExitCode::FAILURE
        }
    }
}
