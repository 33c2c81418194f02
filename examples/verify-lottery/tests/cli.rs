//! The program as a reader of the published files runs it: on files
//! written to disk, its answer and exit code.

use std::process::Command;

use verify_lottery::{ALGORITHM, CommitmentFile, DrawFile, Seed, commitment, draw};

fn files() -> (CommitmentFile, DrawFile) {
    let seed = Seed([42; 32]);
    let codes: Vec<String> = (0..40)
        .map(|n| format!("{:013}", 3_300_000_000_000u64 + n * 7919))
        .collect();
    let c = CommitmentFile {
        period: "2026-12".into(),
        algorithm: ALGORITHM.into(),
        quota: 5,
        commitment: commitment(&seed),
        closes_at: 1_796_745_600_000,
        draw_at: 1_798_250_400_000,
    };
    let d = DrawFile {
        period: "2026-12".into(),
        algorithm: ALGORITHM.into(),
        quota: 5,
        commitment: commitment(&seed),
        seed: seed.to_hex(),
        winners: draw(&seed, &codes, 5).unwrap(),
        codes,
        drawn_at: 1_798_250_400_000,
    };
    (c, d)
}

fn run(c: &CommitmentFile, d: &DrawFile) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("commitment.json");
    let dp = dir.path().join("draw.json");
    std::fs::write(&cp, serde_json::to_vec(c).unwrap()).unwrap();
    std::fs::write(&dp, serde_json::to_vec(d).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_verify-lottery"))
        .arg(&cp)
        .arg(&dp)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn published_files_match() {
    let (c, d) = files();
    let (code, out) = run(&c, &d);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("match: period 2026-12, 40 codes, 5 winners: "),
        "{out}"
    );
    assert!(out.contains(&d.winners[0]), "{out}");
}

#[test]
fn a_tampered_file_is_a_mismatch() {
    let (c, d) = files();
    // A winner swapped for a code that did not win.
    let mut t = d.clone();
    let loser = d
        .codes
        .iter()
        .find(|c| !d.winners.contains(c))
        .unwrap()
        .clone();
    t.winners[4] = loser;
    let (code, out) = run(&c, &t);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("mismatch: period 2026-12: the published winners"),
        "{out}"
    );
    // Another seed than the one committed to.
    let mut t = d.clone();
    t.seed = Seed([43; 32]).to_hex();
    let (code, out) = run(&c, &t);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not the commitment"), "{out}");
}

#[test]
fn unreadable_files_and_wrong_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_verify-lottery"))
        .args(["/nonexistent/commitment.json", "/nonexistent/draw.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_verify-lottery"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
}
