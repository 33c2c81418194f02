//! The citizen's payment PIN: 6 digits, set once, stored as an argon2id
//! hash (`payment_pins` tree). [`MAX_WRONG_PINS`] wrong PINs in a row lock
//! the citizen's payments for [`PIN_LOCK_MS`]; the count is updated in one
//! atomic read-modify-write so that parallel attempts cannot pass the limit.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use super::PaymentError;
use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, now_ms, trees};

/// Wrong PINs in a row before payments are locked.
pub const MAX_WRONG_PINS: u32 = 5;
/// How long payments stay locked: 15 minutes, in ms.
pub const PIN_LOCK_MS: u64 = 15 * 60 * 1000;

/// A citizen's PIN record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PinRecord {
    /// argon2id PHC string.
    hash: String,
    /// Wrong PINs in a row.
    wrong: u32,
    /// Payments locked until, UTC ms (0 = not locked).
    locked_until_ms: u64,
}

/// Proof that the citizen entered their PIN just now; needed to pay. Only
/// [`PaymentPins::verify`] makes one.
#[derive(Debug)]
pub struct PinVerified {
    pub(crate) citizen_id: String,
}

/// What the payment sheet shows about the citizen's PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PinStatus {
    /// Whether a PIN is set.
    pub set: bool,
    /// Wrong PINs still allowed before the lock.
    pub remaining_tries: u32,
    /// How long payments stay locked, ms (0 = not locked).
    pub locked_for_ms: u64,
}

/// Payment PINs.
#[derive(Clone)]
pub struct PaymentPins {
    pins: sled::Tree,
}

impl PaymentPins {
    /// Opens the PIN tree.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            pins: store.tree(trees::PAYMENT_PINS)?,
        })
    }

    /// Sets the citizen's PIN (once). Errors: `invalid-argument("pin")`
    /// unless exactly 6 ASCII digits, all alike (`000000`) or a run
    /// (`123456`, `654321`) refused; [`PaymentError::PinAlreadySet`].
    pub fn set(&self, citizen_id: &str, pin: &str) -> ServiceResult<()> {
        validate(pin)?;
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| ServiceError::invalid("pin", e.to_string()))?
            .to_string();
        let record = serde_json::to_vec(&PinRecord {
            hash,
            ..PinRecord::default()
        })
        .map_err(store::StoreError::from)?;
        match self
            .pins
            .compare_and_swap(citizen_id, None as Option<&[u8]>, Some(record))?
        {
            Ok(()) => Ok(()),
            Err(_) => Err(PaymentError::PinAlreadySet.into()),
        }
    }

    /// The citizen's PIN status at `now`.
    pub fn status(&self, citizen_id: &str) -> ServiceResult<PinStatus> {
        let now = now_ms();
        Ok(
            match store::get_json::<PinRecord>(&self.pins, citizen_id)? {
                None => PinStatus {
                    set: false,
                    remaining_tries: MAX_WRONG_PINS,
                    locked_for_ms: 0,
                },
                Some(r) => PinStatus {
                    set: true,
                    remaining_tries: MAX_WRONG_PINS.saturating_sub(r.wrong),
                    locked_for_ms: r.locked_until_ms.saturating_sub(now),
                },
            },
        )
    }

    /// Checks the PIN (argon2: tens of ms; call from a blocking thread).
    /// Errors: [`PaymentError::PinNotSet`], [`PaymentError::PinLocked`]
    /// (also on the wrong PIN that reaches [`MAX_WRONG_PINS`]),
    /// [`PaymentError::WrongPin`] with the tries left.
    pub fn verify(&self, citizen_id: &str, pin: &str) -> ServiceResult<PinVerified> {
        let now = now_ms();
        let record: PinRecord =
            store::get_json(&self.pins, citizen_id)?.ok_or(PaymentError::PinNotSet)?;
        if record.locked_until_ms > now {
            return Err(PaymentError::PinLocked {
                retry_after_ms: record.locked_until_ms - now,
            }
            .into());
        }
        let parsed = PasswordHash::new(&record.hash)
            .map_err(|_| ServiceError::Forbidden("the stored payment PIN is unreadable".into()))?;
        let right = pin.len() == 6
            && Argon2::default()
                .verify_password(pin.as_bytes(), &parsed)
                .is_ok();
        // One atomic read-modify-write: a success resets the count; a wrong
        // PIN adds one, and the fifth in a row sets the lock.
        let mut outcome: Result<(), PaymentError> = Ok(());
        self.pins.update_and_fetch(citizen_id, |old| {
            let old = old?;
            let mut r: PinRecord = serde_json::from_slice(old).ok()?;
            if r.locked_until_ms > now {
                outcome = Err(PaymentError::PinLocked {
                    retry_after_ms: r.locked_until_ms - now,
                });
            } else if right {
                r.wrong = 0;
                r.locked_until_ms = 0;
                outcome = Ok(());
            } else {
                r.wrong += 1;
                if r.wrong >= MAX_WRONG_PINS {
                    r.wrong = 0;
                    r.locked_until_ms = now + PIN_LOCK_MS;
                    outcome = Err(PaymentError::PinLocked {
                        retry_after_ms: PIN_LOCK_MS,
                    });
                } else {
                    outcome = Err(PaymentError::WrongPin {
                        remaining_tries: MAX_WRONG_PINS - r.wrong,
                    });
                }
            }
            serde_json::to_vec(&r).ok()
        })?;
        outcome?;
        Ok(PinVerified {
            citizen_id: citizen_id.to_string(),
        })
    }
}

fn validate(pin: &str) -> ServiceResult<()> {
    let digits: Vec<u8> = pin.bytes().collect();
    if digits.len() != 6 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ServiceError::invalid("pin", "use exactly 6 digits"));
    }
    let steps: Vec<i16> = digits
        .windows(2)
        .map(|w| w[1] as i16 - w[0] as i16)
        .collect();
    if steps.iter().all(|&d| d == 0)
        || steps.iter().all(|&d| d == 1)
        || steps.iter().all(|&d| d == -1)
    {
        return Err(ServiceError::invalid(
            "pin",
            "too easy to guess: avoid six equal digits and runs like 123456",
        ));
    }
    Ok(())
}
