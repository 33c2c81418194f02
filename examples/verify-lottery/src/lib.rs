//! The licence-plate lottery's draw (杭州市小客车摇号), in one place: the
//! quota office's system (`hz-quota-office`) runs it, and anyone recomputes
//! it from the published files with the `verify-lottery` program, so the
//! two can never diverge. The algorithm is documented in `docs/services/lottery.md`;
//! its name in the published files is [`ALGORITHM`].
//!
//! 1. Before applications close the office publishes the **commitment**:
//!    SHA-256 of a secret 32-byte seed ([`commitment`]), as 64 lowercase
//!    hex characters.
//! 2. After the draw it publishes the **seed** (64 lowercase hex
//!    characters) and the **application codes** that took part, sorted
//!    bytewise, each once.
//! 3. Each code's **ticket** is SHA-256(seed bytes ‖ code as ASCII)
//!    ([`ticket`]). The codes are ranked by ticket, smallest first (the
//!    code itself breaks a tie, which SHA-256 makes practically
//!    impossible); the first `quota` are the **winners**, in rank order
//!    ([`draw`]).
//!
//! Nobody can steer it: the seed is fixed (by its commitment) before the
//! list of codes is known to anyone but the office, and the codes are
//! random numbers the office gives out, so no applicant can choose a
//! favourable one.
//!
//! ```
//! use verify_lottery::{Seed, commitment, draw};
//!
//! let seed = Seed::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap();
//! assert_eq!(
//!     commitment(&seed),
//!     "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
//! );
//! let codes: Vec<String> = (1..=6).map(|n| format!("100000000000{n}")).collect();
//! assert_eq!(draw(&seed, &codes, 2).unwrap(), ["1000000000001", "1000000000006"]);
//! ```

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The algorithm's name, as the published files give it.
pub const ALGORITHM: &str = "sha256-rank-v1";

/// Length of an application code: 13 ASCII digits.
pub const CODE_LEN: usize = 13;

/// The draw's secret, 32 bytes; published as 64 lowercase hex characters
/// after the draw.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// Reads 64 hex characters (lower or upper case); `None` otherwise.
    pub fn from_hex(text: &str) -> Option<Seed> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Seed(bytes))
    }

    /// The seed as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for Seed {
    // A seed is secret until its draw: never in a log line by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(…)")
    }
}

/// SHA-256 of the seed's 32 bytes, 64 lowercase hex characters: what the
/// office publishes before applications close.
pub fn commitment(seed: &Seed) -> String {
    hex::encode(Sha256::digest(seed.0))
}

/// A code's ticket: SHA-256 of the seed's 32 bytes followed by the code's
/// ASCII bytes. The smallest tickets win.
pub fn ticket(seed: &Seed, code: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(seed.0);
    hash.update(code.as_bytes());
    hash.finalize().into()
}

/// Whether `code` is an application code: [`CODE_LEN`] ASCII digits.
pub fn is_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| b.is_ascii_digit())
}

/// Why a list of codes cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodesError {
    /// An entry is not 13 digits.
    #[error("codes[{index}]: {code:?} is not a 13-digit application code")]
    Malformed {
        /// Its position in the list.
        index: usize,
        /// The entry.
        code: String,
    },
    /// The list is not sorted bytewise, or has a code twice.
    #[error(
        "codes[{index}]: {code} is not after the code before it (the list is sorted bytewise, each code once)"
    )]
    NotSorted {
        /// Its position in the list.
        index: usize,
        /// The entry.
        code: String,
    },
}

/// Checks that `codes` is what the office publishes: application codes,
/// sorted bytewise, each once.
pub fn check_codes(codes: &[String]) -> Result<(), CodesError> {
    for (index, code) in codes.iter().enumerate() {
        if !is_code(code) {
            return Err(CodesError::Malformed {
                index,
                code: code.clone(),
            });
        }
        if index > 0 && codes[index - 1] >= *code {
            return Err(CodesError::NotSorted {
                index,
                code: code.clone(),
            });
        }
    }
    Ok(())
}

/// The winners among `codes` (sorted bytewise, each once: see
/// [`check_codes`]) for this seed: the `quota` codes with the smallest
/// [`ticket`]s, smallest first. Fewer codes than `quota`: every code wins.
pub fn draw(seed: &Seed, codes: &[String], quota: usize) -> Result<Vec<String>, CodesError> {
    check_codes(codes)?;
    let mut ranked: Vec<([u8; 32], &String)> = codes
        .iter()
        .map(|code| (ticket(seed, code), code))
        .collect();
    ranked.sort();
    Ok(ranked
        .into_iter()
        .take(quota)
        .map(|(_, code)| code.clone())
        .collect())
}

/// `commitment.json`: what the office publishes when a period opens,
/// before its applications close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentFile {
    /// The period, `2026-12` (one draw a month).
    pub period: String,
    /// [`ALGORITHM`].
    pub algorithm: String,
    /// How many codes win.
    pub quota: usize,
    /// SHA-256 of the seed, 64 lowercase hex characters.
    pub commitment: String,
    /// When applications close, UTC ms.
    pub closes_at: u64,
    /// When the draw is held, UTC ms.
    pub draw_at: u64,
}

/// `draw.json`: what the office publishes after the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawFile {
    /// The period, `2026-12`.
    pub period: String,
    /// [`ALGORITHM`].
    pub algorithm: String,
    /// How many codes win.
    pub quota: usize,
    /// SHA-256 of the seed, as published before.
    pub commitment: String,
    /// The seed, 64 lowercase hex characters.
    pub seed: String,
    /// Every application code that took part, sorted bytewise.
    pub codes: Vec<String>,
    /// The winners, in rank order.
    pub winners: Vec<String>,
    /// When the draw was held, UTC ms.
    pub drawn_at: u64,
}

/// How the published files disagree with the recomputation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Mismatch {
    /// The files are of different periods.
    #[error("the commitment is for period {commitment}, the draw for {draw}")]
    Period {
        /// The commitment file's period.
        commitment: String,
        /// The draw file's period.
        draw: String,
    },
    /// A file names another algorithm.
    #[error("algorithm {0:?} is not {ALGORITHM}")]
    Algorithm(String),
    /// The draw file's quota is not the one announced.
    #[error("quota {draw} is not the announced {commitment}")]
    Quota {
        /// Announced.
        commitment: usize,
        /// In the draw file.
        draw: usize,
    },
    /// The seed is not 64 hex characters.
    #[error("the seed is not 64 hex characters")]
    SeedFormat,
    /// SHA-256 of the seed is not the commitment published before.
    #[error("SHA-256 of the seed is {computed}, not the commitment {published}")]
    Commitment {
        /// SHA-256 of the published seed.
        computed: String,
        /// What was published before applications closed.
        published: String,
    },
    /// The draw file repeats another commitment than the one published.
    #[error("the draw file's commitment {draw} is not the published {published}")]
    DrawCommitment {
        /// In the draw file.
        draw: String,
        /// In the commitment file.
        published: String,
    },
    /// The codes are not a sorted list of application codes.
    #[error("{0}")]
    Codes(CodesError),
    /// The recomputed winners are not the published ones.
    #[error("the published winners {published:?} are not the recomputed {computed:?}")]
    Winners {
        /// Recomputed from seed and codes.
        computed: Vec<String>,
        /// Published.
        published: Vec<String>,
    },
}

/// Recomputes the draw of `draw` and checks it against `commitment`
/// published before: same period, algorithm and quota; SHA-256(seed) is
/// the commitment; the codes are sorted application codes; the winners
/// are the recomputed ones, in order. `Ok` holds the winners.
pub fn verify(commitment_file: &CommitmentFile, draw: &DrawFile) -> Result<Vec<String>, Mismatch> {
    if commitment_file.period != draw.period {
        return Err(Mismatch::Period {
            commitment: commitment_file.period.clone(),
            draw: draw.period.clone(),
        });
    }
    for name in [&commitment_file.algorithm, &draw.algorithm] {
        if name != ALGORITHM {
            return Err(Mismatch::Algorithm(name.clone()));
        }
    }
    if commitment_file.quota != draw.quota {
        return Err(Mismatch::Quota {
            commitment: commitment_file.quota,
            draw: draw.quota,
        });
    }
    let seed = Seed::from_hex(&draw.seed).ok_or(Mismatch::SeedFormat)?;
    let computed = commitment(&seed);
    if !computed.eq_ignore_ascii_case(&commitment_file.commitment) {
        return Err(Mismatch::Commitment {
            computed,
            published: commitment_file.commitment.clone(),
        });
    }
    if !draw
        .commitment
        .eq_ignore_ascii_case(&commitment_file.commitment)
    {
        return Err(Mismatch::DrawCommitment {
            draw: draw.commitment.clone(),
            published: commitment_file.commitment.clone(),
        });
    }
    let winners = self::draw(&seed, &draw.codes, draw.quota).map_err(Mismatch::Codes)?;
    if winners != draw.winners {
        return Err(Mismatch::Winners {
            computed: winners,
            published: draw.winners.clone(),
        });
    }
    Ok(winners)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed vector of docs/services/lottery.md (computed independently with
    /// Python's hashlib).
    fn vector() -> (Seed, Vec<String>) {
        let seed = Seed((0u8..32).collect::<Vec<_>>().try_into().unwrap());
        let codes = (1..=6).map(|n| format!("100000000000{n}")).collect();
        (seed, codes)
    }

    #[test]
    fn the_documented_vector() {
        let (seed, codes) = vector();
        assert_eq!(
            commitment(&seed),
            "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
        );
        assert_eq!(
            hex::encode(ticket(&seed, "1000000000001")),
            "445061e21a5abdcf8f6158059896378fa4ff8e666c75ad5aafe59798ecb20462"
        );
        assert_eq!(
            draw(&seed, &codes, 6).unwrap(),
            [
                "1000000000001",
                "1000000000006",
                "1000000000005",
                "1000000000002",
                "1000000000004",
                "1000000000003"
            ]
        );
        assert_eq!(
            draw(&seed, &codes, 2).unwrap(),
            ["1000000000001", "1000000000006"]
        );
        assert_eq!(draw(&seed, &codes, 10).unwrap().len(), 6);
        assert!(draw(&seed, &codes, 0).unwrap().is_empty());
    }

    #[test]
    fn another_seed_gives_another_draw() {
        let (_, codes) = vector();
        let other = Seed([7; 32]);
        assert_ne!(
            draw(&other, &codes, 6).unwrap(),
            draw(&vector().0, &codes, 6).unwrap()
        );
    }

    #[test]
    fn codes_must_be_sorted_digits_each_once() {
        let (seed, mut codes) = vector();
        codes.swap(0, 1);
        assert!(matches!(
            draw(&seed, &codes, 1),
            Err(CodesError::NotSorted { index: 1, .. })
        ));
        let twice = vec!["1000000000001".to_string(), "1000000000001".to_string()];
        assert!(matches!(
            check_codes(&twice),
            Err(CodesError::NotSorted { index: 1, .. })
        ));
        let bad = vec!["100000000000x".to_string()];
        assert!(matches!(
            check_codes(&bad),
            Err(CodesError::Malformed { index: 0, .. })
        ));
    }

    fn files() -> (CommitmentFile, DrawFile) {
        let (seed, codes) = vector();
        let c = CommitmentFile {
            period: "2026-12".into(),
            algorithm: ALGORITHM.into(),
            quota: 2,
            commitment: commitment(&seed),
            closes_at: 1,
            draw_at: 2,
        };
        let d = DrawFile {
            period: "2026-12".into(),
            algorithm: ALGORITHM.into(),
            quota: 2,
            commitment: commitment(&seed),
            seed: seed.to_hex(),
            winners: draw(&seed, &codes, 2).unwrap(),
            codes,
            drawn_at: 3,
        };
        (c, d)
    }

    #[test]
    fn published_files_verify_and_every_tampering_is_caught() {
        let (c, d) = files();
        assert_eq!(verify(&c, &d).unwrap(), ["1000000000001", "1000000000006"]);

        let mut t = d.clone();
        t.winners.swap(0, 1);
        assert!(matches!(verify(&c, &t), Err(Mismatch::Winners { .. })));
        let mut t = d.clone();
        t.winners[1] = "1000000000002".into();
        assert!(matches!(verify(&c, &t), Err(Mismatch::Winners { .. })));
        // A winning code struck from the list changes the winners. (A
        // losing code struck changes nothing the seed can show: each
        // applicant checks that their own code is listed.)
        let mut t = d.clone();
        t.codes.retain(|c| c != "1000000000006");
        assert!(matches!(verify(&c, &t), Err(Mismatch::Winners { .. })));
        let mut t = d.clone();
        t.seed = Seed([1; 32]).to_hex();
        assert!(matches!(verify(&c, &t), Err(Mismatch::Commitment { .. })));
        let mut t = d.clone();
        t.seed = "zz".into();
        assert_eq!(verify(&c, &t), Err(Mismatch::SeedFormat));
        let mut t = d.clone();
        t.quota = 3;
        assert!(matches!(verify(&c, &t), Err(Mismatch::Quota { .. })));
        let mut t = d.clone();
        t.period = "2027-01".into();
        assert!(matches!(verify(&c, &t), Err(Mismatch::Period { .. })));
        let mut t = d.clone();
        t.commitment = "00".repeat(32);
        assert!(matches!(
            verify(&c, &t),
            Err(Mismatch::DrawCommitment { .. })
        ));
        let mut t = d.clone();
        t.algorithm = "other".into();
        assert!(matches!(verify(&c, &t), Err(Mismatch::Algorithm(_))));
    }

    #[test]
    fn a_seed_is_never_printed() {
        assert_eq!(format!("{:?}", Seed([9; 32])), "Seed(…)");
        assert_eq!(Seed::from_hex(&Seed([9; 32]).to_hex()), Some(Seed([9; 32])));
        assert_eq!(Seed::from_hex("00"), None);
    }
}
