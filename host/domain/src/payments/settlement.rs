//! Daily settlement statements: what one department received and refunded
//! on one business day, read from the ledger. A department is its Unified
//! Social Credit Code (GB 32100-2015): its merchant account is
//! `merchant:{uscc}`, whatever its name.
//!
//! The business day is the calendar day in China Standard Time
//! (Asia/Shanghai, UTC+8 all year: China has had no daylight saving time
//! since 1991), i.e. `[date 00:00+08:00, date+1 00:00+08:00)`. Every row is
//! one ledger transfer that touched the department's merchant account: a
//! payment (paid = amount) or a refund (refunded = amount). The totals are
//! the sums of the department's ledger entries in that span, so they equal
//! the change of its merchant balance over the day.

use serde::Serialize;
use time::{Date, OffsetDateTime, UtcOffset};

use super::Payments;
use super::ledger::{Account, TransferKind};
use crate::error::{ServiceError, ServiceResult};
use crate::uscc::Uscc;

/// China Standard Time, the offset of the business day.
pub const CHINA_STANDARD_TIME: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+8 is a valid offset"),
};

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRow {
    /// Host order id.
    pub order_id: String,
    /// The app's order number.
    pub out_trade_no: String,
    /// `payment` or `refund`.
    pub kind: &'static str,
    /// Paid to the department, fen.
    pub paid_fen: u64,
    /// Refunded by the department, fen.
    pub refunded_fen: u64,
    /// `paid_fen - refunded_fen`.
    pub net_fen: i64,
    /// When, RFC 3339 in UTC.
    pub time_utc: String,
    /// The UTC date (`YYYY-MM-DD`).
    pub utc_date: String,
    /// The date in Asia/Shanghai (`YYYY-MM-DD`).
    pub local_date: String,
}

/// A department's statement for one business day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The department's Unified Social Credit Code (its merchant account
    /// `merchant:{uscc}`).
    pub department: String,
    /// The business day (Asia/Shanghai).
    pub date: String,
    /// The lines, in time order.
    pub rows: Vec<StatementRow>,
    /// Sum of `paid_fen`.
    pub total_paid_fen: u64,
    /// Sum of `refunded_fen`.
    pub total_refunded_fen: u64,
    /// Sum of `net_fen`: the change of the merchant balance that day.
    pub total_net_fen: i64,
}

/// The UTC span `[from, to)` in ms of a business day.
pub fn business_day_ms(date: Date) -> (u64, u64) {
    let start = date.midnight().assume_offset(CHINA_STANDARD_TIME);
    let from = (start.unix_timestamp() * 1000) as u64;
    (from, from + 24 * 60 * 60 * 1000)
}

/// Parses a `YYYY-MM-DD` date. Errors: `invalid-argument("date")`.
pub fn parse_date(text: &str) -> ServiceResult<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| ServiceError::invalid("date", "use a date like 2026-11-29"))
}

fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

impl Payments {
    /// The statement of the department whose Unified Social Credit Code
    /// is `department` (its merchant account) for the business day `date`.
    pub async fn statement(&self, department: &Uscc, date: Date) -> ServiceResult<Statement> {
        let (from, to) = business_day_ms(date);
        let merchant = Account::Merchant(department.to_string());
        let mut rows = Vec::new();
        for t in self.ledger.transfers_between(from, to).await? {
            let movement: i64 = t
                .legs
                .iter()
                .filter(|l| l.account == merchant)
                .map(|l| l.amount_fen)
                .sum();
            let kind = match t.kind {
                TransferKind::Payment => "payment",
                TransferKind::Refund => "refund",
                TransferKind::TopUp => continue,
            };
            if !t.legs.iter().any(|l| l.account == merchant) {
                continue;
            }
            let at = OffsetDateTime::from_unix_timestamp_nanos(t.at as i128 * 1_000_000)
                .map_err(|_| ServiceError::invalid("date", "out of range"))?;
            rows.push(StatementRow {
                order_id: t.order_id.clone().unwrap_or_default(),
                out_trade_no: t.out_trade_no.clone().unwrap_or_default(),
                kind,
                paid_fen: movement.max(0) as u64,
                refunded_fen: (-movement).max(0) as u64,
                net_fen: movement,
                time_utc: at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                utc_date: date_text(at.date()),
                local_date: date_text(at.to_offset(CHINA_STANDARD_TIME).date()),
            });
        }
        Ok(Statement {
            department: department.to_string(),
            date: date_text(date),
            total_paid_fen: rows.iter().map(|r| r.paid_fen).sum(),
            total_refunded_fen: rows.iter().map(|r| r.refunded_fen).sum(),
            total_net_fen: rows.iter().map(|r| r.net_fen).sum(),
            rows,
        })
    }
}

impl Statement {
    /// The statement as CSV (UTF-8, header row, one row per transfer, then
    /// a `TOTAL` row). Columns: `order_id, out_trade_no, kind, paid_fen,
    /// refunded_fen, net_fen, time_utc, utc_date, local_date`.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "order_id",
            "out_trade_no",
            "kind",
            "paid_fen",
            "refunded_fen",
            "net_fen",
            "time_utc",
            "utc_date",
            "local_date",
        ]);
        for r in &self.rows {
            let _ = w.write_record([
                r.order_id.as_str(),
                &r.out_trade_no,
                r.kind,
                &r.paid_fen.to_string(),
                &r.refunded_fen.to_string(),
                &r.net_fen.to_string(),
                &r.time_utc,
                &r.utc_date,
                &r.local_date,
            ]);
        }
        let _ = w.write_record([
            "TOTAL",
            "",
            "",
            &self.total_paid_fen.to_string(),
            &self.total_refunded_fen.to_string(),
            &self.total_net_fen.to_string(),
            "",
            "",
            &self.date,
        ]);
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}
