//! The citizen's payment PIN: 6 digits, set once, stored as an argon2id
//! hash (`payment_pins` table). [`MAX_WRONG_PINS`] wrong PINs in a row lock
//! the citizen's payments for [`PIN_LOCK_MS`]; the count is updated in one
//! transaction (read, change, write) so that parallel attempts cannot pass
//! the limit. Hashing runs on the hasher threads ([`crate::hashing`]).

use cityhost_store::{Db, now_ms};
use serde::{Deserialize, Serialize};

use super::PaymentError;
use super::tables::PAYMENT_PINS;
use crate::error::{ServiceError, ServiceResult};

/// Wrong PINs in a row before payments are locked.
pub const MAX_WRONG_PINS: u32 = 5;
/// How long payments stay locked: 15 minutes, in ms.
pub const PIN_LOCK_MS: u64 = 15 * 60 * 1000;

/// A citizen's PIN record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PinRecord {
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

/// Payment PINs. Cheap to clone.
#[derive(Clone)]
pub struct PaymentPins {
    db: Db,
}

impl PaymentPins {
    /// Payment PINs over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Sets the citizen's PIN (once), durably. Errors:
    /// `invalid-argument("pin")` unless exactly 6 ASCII digits, all alike
    /// (`000000`) or a run (`123456`, `654321`) refused;
    /// [`PaymentError::PinAlreadySet`].
    pub async fn set(&self, citizen_id: &str, pin: &str) -> ServiceResult<()> {
        validate(pin)?;
        let hash = crate::hashing::hash(pin, "pin").await?;
        let record = &PinRecord {
            hash,
            ..PinRecord::default()
        };
        self.db
            .transact(|tx| async move {
                if tx.contains(&PAYMENT_PINS, citizen_id).await? {
                    return Err(PaymentError::PinAlreadySet.into());
                }
                tx.put(&PAYMENT_PINS, citizen_id, record).await?;
                Ok::<_, ServiceError>(())
            })
            .await?;
        self.db.sync().await?;
        Ok(())
    }

    /// The citizen's PIN status at `now`.
    pub async fn status(&self, citizen_id: &str) -> ServiceResult<PinStatus> {
        let now = now_ms();
        Ok(match self.db.get(&PAYMENT_PINS, citizen_id).await? {
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
        })
    }

    /// Checks the PIN (argon2, tens of ms, on the blocking pool). Errors:
    /// [`PaymentError::PinNotSet`], [`PaymentError::PinLocked`] (also on
    /// the wrong PIN that reaches [`MAX_WRONG_PINS`]),
    /// [`PaymentError::WrongPin`] with the tries left.
    pub async fn verify(&self, citizen_id: &str, pin: &str) -> ServiceResult<PinVerified> {
        let now = now_ms();
        let record = self
            .db
            .get(&PAYMENT_PINS, citizen_id)
            .await?
            .ok_or(PaymentError::PinNotSet)?;
        if record.locked_until_ms > now {
            return Err(PaymentError::PinLocked {
                retry_after_ms: record.locked_until_ms - now,
            }
            .into());
        }
        let right = pin.len() == 6
            && crate::hashing::verify(pin, &record.hash)
                .await?
                .ok_or_else(|| {
                    ServiceError::Forbidden("the stored payment PIN is unreadable".into())
                })?;
        // One read-modify-write: a success resets the count; a wrong PIN
        // adds one, and the fifth in a row sets the lock.
        let outcome = self
            .db
            .transact(|tx| async move {
                let Some(mut r) = tx.get(&PAYMENT_PINS, citizen_id).await? else {
                    return Err(ServiceError::from(PaymentError::PinNotSet));
                };
                if r.locked_until_ms > now {
                    return Ok(Err(PaymentError::PinLocked {
                        retry_after_ms: r.locked_until_ms - now,
                    }));
                }
                let outcome = if right {
                    r.wrong = 0;
                    r.locked_until_ms = 0;
                    Ok(())
                } else {
                    r.wrong += 1;
                    if r.wrong >= MAX_WRONG_PINS {
                        r.wrong = 0;
                        r.locked_until_ms = now + PIN_LOCK_MS;
                        Err(PaymentError::PinLocked {
                            retry_after_ms: PIN_LOCK_MS,
                        })
                    } else {
                        Err(PaymentError::WrongPin {
                            remaining_tries: MAX_WRONG_PINS - r.wrong,
                        })
                    }
                };
                tx.put(&PAYMENT_PINS, citizen_id, &r).await?;
                Ok(outcome)
            })
            .await?;
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
