//! One-time codes sent by SMS that prove a citizen holds a phone number
//! before an account is registered with it (NIST SP 800-63B §5.1.3,
//! out-of-band authenticators; the SMS code step of every mainland
//! super-app's registration).
//!
//! Asking for a code never tells whether the number has an account: the
//! answer, its timing limits and its throttles are the same. The number's
//! holder gets a code if the number is free, and a notice that it is
//! already registered if not (so only the holder learns that). A code:
//! [`CODE_DIGITS`] random digits, valid [`CODE_TTL_MS`], used once; after
//! [`MAX_ATTEMPTS`] wrong codes it is spent. Codes are stored as an HMAC
//! under the host's index key, never in clear.
//!
//! Throttles (each refusal is `RateLimited` with the wait, HTTP 429 with
//! `Retry-After`):
//! - per number: one message per [`RESEND_AFTER_MS`], at most
//!   [`MAX_SENDS_PER_NUMBER`] per [`NUMBER_WINDOW_MS`] — so nobody can flood
//!   a phone with messages;
//! - per client: at most [`MAX_SENDS_PER_CLIENT`] per [`CLIENT_WINDOW_MS`]
//!   by default (an operator setting, [`PhoneCodes::set_client_limit`]:
//!   many citizens may share an address behind a carrier's NAT) — so nobody can spend the operator's SMS budget or probe numbers in
//!   bulk.

use std::sync::Arc;

use cityhost_store::Db;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::accounts::check_phone;
use super::sealed::Vault;
use super::tables::{PHONE_CODES, PHONES, SMS_SENDS_BY_CLIENT};
use crate::error::{ServiceError, ServiceResult};
use crate::sms::{SmsChannel, SmsMessage};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// How long a code is valid: 5 minutes, in ms.
pub const CODE_TTL_MS: u64 = 5 * 60 * 1000;
/// The least time between two messages to one number: 60 s, in ms.
pub const RESEND_AFTER_MS: u64 = 60 * 1000;
/// Messages one number may receive per [`NUMBER_WINDOW_MS`].
pub const MAX_SENDS_PER_NUMBER: usize = 5;
/// The window of [`MAX_SENDS_PER_NUMBER`]: 24 hours, in ms.
pub const NUMBER_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;
/// Messages one client may ask for per [`CLIENT_WINDOW_MS`], by default.
pub const MAX_SENDS_PER_CLIENT: usize = 10;
/// The window of [`MAX_SENDS_PER_CLIENT`]: 1 hour, in ms.
pub const CLIENT_WINDOW_MS: u64 = 60 * 60 * 1000;
/// Wrong codes after which a code is spent.
pub const MAX_ATTEMPTS: u32 = 5;

/// The last message to a number and the code it carried
/// ([`PHONE_CODES`], keyed by the number's blind index).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct PhoneCode {
    /// HMAC of number and code ([`Vault::code_mac`]); `None` once used or
    /// spent, or when the message was a notice.
    code_mac: Option<String>,
    /// When the code stops being valid, UTC ms.
    expires_at_ms: u64,
    /// Wrong codes tried against it.
    attempts: u32,
    /// When messages went to the number within [`NUMBER_WINDOW_MS`], UTC
    /// ms, oldest first.
    sent_ms: Vec<u64>,
}

/// When a client asked for messages within [`CLIENT_WINDOW_MS`]
/// ([`SMS_SENDS_BY_CLIENT`]).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct ClientSends {
    /// UTC ms, oldest first.
    sent_ms: Vec<u64>,
}

/// What the citizen is told after asking for a code — the same whether or
/// not the number has an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CodeSent {
    /// How long the code is valid, s.
    pub expires_in_s: u64,
    /// When another message may be asked for, s.
    pub resend_after_s: u64,
}

/// One-time codes for phone numbers, sent through the configured
/// [`SmsChannel`] (none: sending answers `Unavailable`).
#[derive(Clone)]
pub struct PhoneCodes {
    db: Db,
    vault: Vault,
    channel: Option<Arc<dyn SmsChannel>>,
    per_client: usize,
}

impl PhoneCodes {
    /// Codes in `db`, their HMACs under `vault`'s index key, sent through
    /// `channel`.
    pub fn new(db: Db, vault: Vault, channel: Option<Arc<dyn SmsChannel>>) -> Self {
        Self {
            db,
            vault,
            channel,
            per_client: MAX_SENDS_PER_CLIENT,
        }
    }

    /// Sets how many messages one client may ask for per
    /// [`CLIENT_WINDOW_MS`] (default [`MAX_SENDS_PER_CLIENT`]; at least 1).
    pub fn set_client_limit(&mut self, per_hour: usize) {
        self.per_client = per_hour.max(1);
    }

    /// Sends a registration code to `phone` — or, when the number already
    /// has an account, a notice saying so — for a request from `client`
    /// (its address) at `now` (UTC ms). Errors: `invalid-argument("phone")`;
    /// `RateLimited` by the throttles above; `Unavailable` when the host
    /// has no SMS channel or the channel refused the message (the attempt
    /// still counts).
    pub async fn send_registration_code(
        &self,
        phone: &str,
        client: &str,
        now: u64,
    ) -> ServiceResult<CodeSent> {
        check_phone(phone)?;
        let Some(channel) = &self.channel else {
            return Err(ServiceError::Unavailable(
                "this host sends no SMS, so it cannot register new accounts; \
                 the operator configures an SMS gateway (--sms-gateway)"
                    .into(),
            ));
        };
        let key = &self.vault.phone_index(phone);
        let code = format!(
            "{:0width$}",
            rand::rngs::OsRng.gen_range(0..10u32.pow(CODE_DIGITS as u32)),
            width = CODE_DIGITS
        );
        let mac = &self.vault.code_mac(phone, &code);
        let per_client = self.per_client;
        let registered = self
            .db
            .transact(|tx| async move {
                let mut by_client = tx
                    .get(&SMS_SENDS_BY_CLIENT, client)
                    .await?
                    .unwrap_or_default();
                by_client.sent_ms.retain(|t| t + CLIENT_WINDOW_MS > now);
                if by_client.sent_ms.len() >= per_client {
                    return Err(rate_limited(by_client.sent_ms[0] + CLIENT_WINDOW_MS, now));
                }
                let mut record = tx.get(&PHONE_CODES, key).await?.unwrap_or_default();
                record.sent_ms.retain(|t| t + NUMBER_WINDOW_MS > now);
                if let Some(last) = record.sent_ms.last()
                    && last + RESEND_AFTER_MS > now
                {
                    return Err(rate_limited(last + RESEND_AFTER_MS, now));
                }
                if record.sent_ms.len() >= MAX_SENDS_PER_NUMBER {
                    return Err(rate_limited(record.sent_ms[0] + NUMBER_WINDOW_MS, now));
                }
                let registered = tx.contains(&PHONES, key).await?;
                record.code_mac = (!registered).then(|| mac.clone());
                record.expires_at_ms = now + CODE_TTL_MS;
                record.attempts = 0;
                record.sent_ms.push(now);
                tx.put(&PHONE_CODES, key, &record).await?;
                by_client.sent_ms.push(now);
                tx.put(&SMS_SENDS_BY_CLIENT, client, &by_client).await?;
                Ok(registered)
            })
            .await?;
        let message = if registered {
            SmsMessage {
                phone: phone.to_string(),
                template: "register-notice",
                params: Vec::new(),
                text: "【CityHost】有人正在用本手机号注册 CityHost，但本号码已注册。\
                       如是您本人，请直接登录；如非本人操作，请忽略本短信。"
                    .into(),
            }
        } else {
            SmsMessage {
                phone: phone.to_string(),
                template: "register-code",
                text: format!(
                    "【CityHost】您的注册验证码为 {code}，{} 分钟内有效。请勿告诉他人。",
                    CODE_TTL_MS / 60_000
                ),
                params: vec![("code", code)],
            }
        };
        channel.send(&message).await.map_err(|e| {
            tracing::warn!(channel = channel.kind(), error = %e, "an SMS was not sent");
            ServiceError::Unavailable("the SMS gateway is unavailable; try again later".into())
        })?;
        Ok(CodeSent {
            expires_in_s: CODE_TTL_MS / 1000,
            resend_after_s: RESEND_AFTER_MS / 1000,
        })
    }

    /// Uses the code last sent to `phone` if `code` is it, still valid and
    /// not yet spent. Errors: `invalid-argument("code")` for anything else
    /// — malformed, wrong, expired, used, spent, never sent, or sent to a
    /// registered number: one answer, so it tells nothing about the number.
    /// A wrong code counts towards [`MAX_ATTEMPTS`].
    pub async fn redeem(&self, phone: &str, code: &str, now: u64) -> ServiceResult<()> {
        let refused = || {
            ServiceError::invalid(
                "code",
                "the code is wrong or no longer valid; ask for a new one",
            )
        };
        if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ServiceError::invalid(
                "code",
                format!("use the {CODE_DIGITS}-digit code sent to the phone"),
            ));
        }
        let key = &self.vault.phone_index(phone);
        let mac = &self.vault.code_mac(phone, code);
        let used = self
            .db
            .transact(|tx| async move {
                let Some(mut record) = tx.get(&PHONE_CODES, key).await? else {
                    return Ok::<_, ServiceError>(false);
                };
                let Some(expected) = record.code_mac.take() else {
                    return Ok(false);
                };
                let valid = record.expires_at_ms > now && record.attempts < MAX_ATTEMPTS;
                // Both are HMACs under the host's secret key: how long the
                // comparison takes could tell at most a prefix of a MAC
                // nobody else can compute.
                let used = valid && expected == *mac;
                if !used {
                    record.attempts += 1;
                    if valid && record.attempts < MAX_ATTEMPTS {
                        record.code_mac = Some(expected);
                    }
                }
                tx.put(&PHONE_CODES, key, &record).await?;
                Ok(used)
            })
            .await?;
        if used { Ok(()) } else { Err(refused()) }
    }
}

fn rate_limited(until: u64, now: u64) -> ServiceError {
    ServiceError::RateLimited {
        retry_after_ms: until.saturating_sub(now).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::accounts::Accounts;
    use crate::sms::DevSms;

    const HOUR: u64 = 60 * 60 * 1000;

    fn codes(db: &Db) -> (PhoneCodes, Arc<DevSms>) {
        let sms = Arc::new(DevSms::default());
        let codes = PhoneCodes::new(db.clone(), vault(), Some(sms.clone()));
        (codes, sms)
    }

    fn vault() -> Vault {
        Vault::new(&[1; 32], &[2; 32])
    }

    /// The code in the newest message to `phone`.
    fn last_code(sms: &DevSms, phone: &str) -> Option<String> {
        let message = sms.recent().into_iter().find(|m| m.phone == phone)?;
        let code = message.params.get("code")?;
        assert!(message.text.contains(code.as_str()), "{}", message.text);
        Some(code.clone())
    }

    fn is_code_error(e: ServiceError) -> bool {
        matches!(e, ServiceError::InvalidArgument { field: "code", .. })
    }

    #[tokio::test]
    async fn a_code_proves_the_number_once() {
        let (_dir, db) = crate::testing::temp_db();
        let (codes, sms) = codes(&db);
        let now = 1_000 * HOUR;
        let sent = codes
            .send_registration_code("13800000001", "client", now)
            .await
            .unwrap();
        assert_eq!(sent.expires_in_s, 300);
        let code = last_code(&sms, "13800000001").unwrap();
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let e = codes.redeem("13800000001", wrong, now).await.unwrap_err();
        assert!(is_code_error(e));
        // The code is for its number only.
        let e = codes.redeem("13800000002", &code, now).await.unwrap_err();
        assert!(is_code_error(e));
        codes
            .redeem("13800000001", &code, now + 1000)
            .await
            .unwrap();
        let e = codes
            .redeem("13800000001", &code, now + 2000)
            .await
            .unwrap_err();
        assert!(is_code_error(e), "a code works once");
        for malformed in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            let e = codes
                .redeem("13800000001", malformed, now)
                .await
                .unwrap_err();
            assert!(is_code_error(e), "{malformed:?}");
        }
    }

    #[tokio::test]
    async fn a_code_expires_and_wrong_guesses_spend_it() {
        let (_dir, db) = crate::testing::temp_db();
        let (codes, sms) = codes(&db);
        let now = 1_000 * HOUR;
        codes
            .send_registration_code("13800000001", "client", now)
            .await
            .unwrap();
        let code = last_code(&sms, "13800000001").unwrap();
        let e = codes
            .redeem("13800000001", &code, now + CODE_TTL_MS)
            .await
            .unwrap_err();
        assert!(is_code_error(e), "expired");

        let later = now + RESEND_AFTER_MS + CODE_TTL_MS;
        codes
            .send_registration_code("13800000001", "client", later)
            .await
            .unwrap();
        let code = last_code(&sms, "13800000001").unwrap();
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        for _ in 0..MAX_ATTEMPTS {
            codes
                .redeem("13800000001", &wrong, later)
                .await
                .unwrap_err();
        }
        let e = codes.redeem("13800000001", &code, later).await.unwrap_err();
        assert!(is_code_error(e), "spent after {MAX_ATTEMPTS} wrong codes");
    }

    #[tokio::test]
    async fn a_registered_number_gets_the_same_answer_and_its_holder_a_notice() {
        let (_dir, db) = crate::testing::temp_db();
        let (codes, sms) = codes(&db);
        Accounts::new(db.clone(), vault())
            .register("13800000001", "a good password")
            .await
            .unwrap();
        let now = 1_000 * HOUR;
        let registered = codes
            .send_registration_code("13800000001", "client", now)
            .await
            .unwrap();
        let free = codes
            .send_registration_code("13800000002", "client", now)
            .await
            .unwrap();
        assert_eq!(registered, free);
        let notice = sms.recent().into_iter().find(|m| m.phone == "13800000001");
        let notice = notice.unwrap();
        assert_eq!(notice.template, "register-notice");
        assert!(
            !notice.text.chars().any(|c| c.is_ascii_digit()),
            "{}",
            notice.text
        );
        // Whatever code is tried for it, the answer is a wrong code.
        let e = codes
            .redeem("13800000001", "123456", now)
            .await
            .unwrap_err();
        assert!(is_code_error(e));
        // Both numbers are throttled alike.
        for phone in ["13800000001", "13800000002"] {
            let e = codes
                .send_registration_code(phone, "client", now + 1000)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    ServiceError::RateLimited {
                        retry_after_ms: 59_000
                    }
                ),
                "{e:?}"
            );
        }
    }

    #[tokio::test]
    async fn messages_are_throttled_per_number_and_per_client() {
        let (_dir, db) = crate::testing::temp_db();
        let (codes, sms) = codes(&db);
        let start = 1_000 * HOUR;
        // Per number: five a day, from any clients.
        for i in 0..MAX_SENDS_PER_NUMBER as u64 {
            let client = format!("client-{i}");
            codes
                .send_registration_code("13800000001", &client, start + i * HOUR)
                .await
                .unwrap();
        }
        let e = codes
            .send_registration_code("13800000001", "other", start + 5 * HOUR)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ServiceError::RateLimited { retry_after_ms } if retry_after_ms == 19 * HOUR),
            "{e:?}"
        );
        codes
            .send_registration_code("13800000001", "other", start + NUMBER_WINDOW_MS)
            .await
            .unwrap();
        // Per client: ten an hour, for any numbers.
        let at = start + 2 * NUMBER_WINDOW_MS;
        for i in 0..MAX_SENDS_PER_CLIENT as u64 {
            let phone = format!("139000000{i:02}");
            codes
                .send_registration_code(&phone, "sprayer", at + i)
                .await
                .unwrap();
        }
        let e = codes
            .send_registration_code("13900000099", "sprayer", at + 10)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ServiceError::RateLimited { retry_after_ms } if retry_after_ms == HOUR - 10),
            "{e:?}"
        );
        assert!(last_code(&sms, "13900000099").is_none(), "nothing was sent");
    }

    #[tokio::test]
    async fn without_a_channel_nothing_is_stored_and_the_answer_is_unavailable() {
        let (_dir, db) = crate::testing::temp_db();
        let codes = PhoneCodes::new(db.clone(), vault(), None);
        let e = codes
            .send_registration_code("13800000001", "client", 1)
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::Unavailable(_)), "{e:?}");
        let stored = db.scan(&PHONE_CODES, cityhost_store::Scan::all()).await;
        assert!(stored.unwrap().is_empty());
        let e = codes
            .send_registration_code("1380000000", "client", 1)
            .await
            .unwrap_err();
        assert!(matches!(
            e,
            ServiceError::InvalidArgument { field: "phone", .. }
        ));
    }
}
