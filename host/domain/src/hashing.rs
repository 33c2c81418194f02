//! argon2id for passwords and payment PINs (RFC 9106; the `argon2` crate's
//! default parameters: 19 MiB, 2 passes, 1 lane), in PHC strings, on a
//! fixed set of hasher threads that each keep one argon2 memory for good.
//!
//! Each argon2 run needs 19 MiB. Run on tokio's blocking pool, every new
//! thread's allocation stayed in its allocator arena after the run, so a
//! host's resident memory grew with every failed login, unauthenticated
//! (docs/security.md). Here [`HASHER_THREADS`] threads are started once,
//! each allocates its memory once, and every hash and check reuses it: the
//! memory argon2 holds is [`HASHER_THREADS`] × 19 MiB whatever the load.
//! At most [`MAX_QUEUED`] runs wait for a thread; past that the caller is
//! told to try again (`Unavailable`, HTTP 503).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{ServiceError, ServiceResult};

/// Threads that run argon2: 2, the cores of the smallest host the platform
/// runs on; more would not hash faster there and each holds 19 MiB.
pub const HASHER_THREADS: usize = 2;
/// Runs that may wait for a hasher thread: 256 (about 2.5 s of work on two
/// cores at ~20 ms a run).
pub const MAX_QUEUED: usize = 256;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

struct Hashers {
    jobs: Sender<Job>,
    queue: Arc<Semaphore>,
}

fn hashers() -> &'static Hashers {
    static HASHERS: OnceLock<Hashers> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let (jobs, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..HASHER_THREADS {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("cityhost-argon2-{n}"))
                .spawn(move || work(&receiver))
                .expect("spawn an argon2 hasher thread");
        }
        Hashers {
            jobs,
            queue: Arc::new(Semaphore::new(MAX_QUEUED)),
        }
    })
}

static RUNS: AtomicU64 = AtomicU64::new(0);

/// argon2 runs finished since the process started (hashes and checks,
/// including the check of a sign-in for a number nobody registered).
pub fn runs() -> u64 {
    RUNS.load(Ordering::Relaxed)
}

/// A hasher thread: one argon2 memory, reused by every job.
fn work(receiver: &Mutex<Receiver<Job>>) {
    let mut memory = vec![Block::default(); Params::default().block_count()];
    loop {
        let job = match receiver.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        job(&mut memory);
    }
}

/// Runs `f` with a hasher thread's memory. Errors: `Unavailable` when
/// [`MAX_QUEUED`] runs already wait, or the job was lost.
async fn run<T: Send + 'static>(
    f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> ServiceResult<T> {
    let busy = || ServiceError::Unavailable("too many sign-ins at once; try again".into());
    let hashers = hashers();
    let _queued = hashers
        .queue
        .clone()
        .try_acquire_owned()
        .map_err(|_| busy())?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    hashers
        .jobs
        .send(Box::new(move |memory| {
            let out = f(memory);
            // Counted before the caller is woken, so a caller that reads
            // [`runs`] after its answer sees its own run.
            RUNS.fetch_add(1, Ordering::Relaxed);
            let _ = sender.send(out);
        }))
        .map_err(|_| busy())?;
    receiver.await.map_err(|_| busy())
}

/// Hashes `secret` with argon2id and a fresh random salt; returns the PHC
/// string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`). Errors:
/// `invalid-argument(field)` if argon2 refuses the input; `Unavailable`
/// (see [`run`]).
pub async fn hash(secret: &str, field: &'static str) -> ServiceResult<String> {
    let secret = secret.to_string();
    run(move |memory| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let argon2 = Argon2::default();
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            Ok(argon2.hash_password_into_with_memory(
                secret.as_bytes(),
                salt_bytes,
                out,
                &mut memory[..],
            )?)
        })?;
        Ok::<_, argon2::password_hash::Error>(
            PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::V0x13.into()),
                params: Params::default().try_into()?,
                salt: Some(salt.as_salt()),
                hash: Some(output),
            }
            .to_string(),
        )
    })
    .await?
    .map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// Whether `secret` matches the PHC string `phc`; `None` if `phc` is no
/// argon2 PHC string. The comparison is constant-time. A hash made with
/// more memory than the defaults is checked in memory of its own. Errors:
/// `Unavailable` (see [`run`]).
pub async fn verify(secret: &str, phc: &str) -> ServiceResult<Option<bool>> {
    let (secret, phc) = (secret.to_string(), phc.to_string());
    run(move |memory| check(secret.as_bytes(), &phc, memory)).await
}

fn check(secret: &[u8], phc: &str, memory: &mut [Block]) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut own;
    let blocks = if params.block_count() <= memory.len() {
        &mut memory[..]
    } else {
        own = vec![Block::default(); params.block_count()];
        &mut own[..]
    };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(secret, salt, &mut out, blocks)
        .ok()?;
    // `Output`'s equality is constant-time.
    Some(Output::new(&out).ok()? == expected)
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHasher;

    use super::*;

    #[tokio::test]
    async fn hashes_check_with_the_argon2_crate_and_the_other_way() {
        let ours = hash("correct horse", "password").await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        // The crate's own check accepts ours...
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2::PasswordVerifier::verify_password(
                &Argon2::default(),
                b"correct horse",
                &parsed
            )
            .is_ok()
        );
        // ...and ours accepts the crate's (hashes stored before).
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert_eq!(verify("correct horse", &theirs).await.unwrap(), Some(true));
        assert_eq!(verify("wrong horse", &theirs).await.unwrap(), Some(false));
        assert_eq!(verify("correct horse", &ours).await.unwrap(), Some(true));
        assert_eq!(verify("x", "not a PHC string").await.unwrap(), None);
        assert_ne!(ours, hash("correct horse", "password").await.unwrap());
    }
}
