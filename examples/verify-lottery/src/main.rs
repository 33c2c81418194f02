//! `verify-lottery COMMITMENT_FILE DRAW_FILE`: recomputes a licence-plate
//! lottery draw from the quota office's published files (`commitment.json`,
//! published before applications closed, and `draw.json`, published after
//! the draw) and says whether the published winners match.
//!
//! Prints `match: …` and exits 0, or `mismatch: …` and exits 1; a file
//! that cannot be read or is not such a file exits 2, wrong usage 64.
//!
//! Run with: `cargo run -p verify-lottery -- commitment.json draw.json`

use std::path::Path;
use std::process::ExitCode;

use serde::de::DeserializeOwned;

fn read<T: DeserializeOwned>(path: &str) -> Result<T, String> {
    let text = std::fs::read(Path::new(path)).map_err(|e| format!("reading {path}: {e}"))?;
    serde_json::from_slice(&text).map_err(|e| format!("{path}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [commitment, draw] = args.as_slice() else {
        eprintln!("usage: verify-lottery COMMITMENT_FILE DRAW_FILE");
        return ExitCode::from(64);
    };
    let files = read::<verify_lottery::CommitmentFile>(commitment)
        .and_then(|c| Ok((c, read::<verify_lottery::DrawFile>(draw)?)));
    let (commitment, draw) = match files {
        Ok(files) => files,
        Err(e) => {
            eprintln!("unreadable: {e}");
            return ExitCode::from(2);
        }
    };
    match verify_lottery::verify(&commitment, &draw) {
        Ok(winners) => {
            println!(
                "match: period {}, {} codes, {} winners: {}",
                draw.period,
                draw.codes.len(),
                winners.len(),
                winners.join(" ")
            );
            ExitCode::SUCCESS
        }
        Err(mismatch) => {
            println!("mismatch: period {}: {mismatch}", draw.period);
            ExitCode::from(1)
        }
    }
}
