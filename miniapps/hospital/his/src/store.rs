//! The HIS data: departments, doctors with their weekly rota, slots added
//! by staff, and bookings, in one JSON file, `{data dir}/his.json`,
//! created from the bundled seed on first start.
//!
//! Every change holds one lock from the check to the write, and the file
//! is written atomically (a temporary file, synced, renamed over the old
//! one): of any number of concurrent bookings of a slot at most its
//! capacity succeed, and a citizen never holds two active bookings with
//! one doctor on one day. Memory changes only once the file has.
//!
//! Slots come from the rota: each doctor's sessions (weekday, morning or
//! afternoon, patients per hour) make hourly slots — 08:00 to 12:00 in the
//! morning, 14:00 to 17:00 in the afternoon, Asia/Shanghai — on the
//! clinic days of the booking window (today and the next
//! [`BOOKING_DAYS`]` - 1` days). Staff add single slots outside the rota
//! (加号, [`Store::add_slot`]). All times are UTC ms.

use std::collections::BTreeMap;
use std::path::Path;

use cityhost_backend::data_file::DataFile;
use serde::{Deserialize, Serialize};

use crate::clock::{self, DAY_MS, HOUR_MS, MINUTE_MS};

/// The seed: three departments and their doctors.
const SEED: &str = include_str!("../seed/his.json");

/// The data file's name in the data directory.
pub const DATA_FILE: &str = "his.json";

/// How long an unpaid booking holds its place: 15 minutes, the payment
/// order's default lifetime.
pub const HOLD_MS: u64 = 15 * MINUTE_MS;
/// The booking window: today and the next six days (Asia/Shanghai).
pub const BOOKING_DAYS: u64 = 7;
/// A booking may be cancelled, its fee refunded, until two hours before
/// its slot starts.
pub const CANCEL_CUTOFF_MS: u64 = 2 * HOUR_MS;
/// No-shows that suspend booking, counted within [`NO_SHOW_WINDOW_DAYS`].
pub const NO_SHOW_LIMIT: usize = 3;
/// The window the no-shows are counted in, days.
pub const NO_SHOW_WINDOW_DAYS: u64 = 90;
/// How long booking is suspended after the no-show that reached the limit,
/// days.
pub const SUSPENSION_DAYS: u64 = 30;
/// The most patients one slot takes.
pub const MAX_CAPACITY: u32 = 500;

/// A clinical department (科室).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// Id, `a-z 0-9 -`.
    pub id: String,
    /// 内科, 儿科, ….
    pub name: String,
    /// One line about it.
    pub intro: String,
}

/// Morning or afternoon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// 08:00–12:00, hourly slots.
    Am,
    /// 14:00–17:00, hourly slots.
    Pm,
}

impl Period {
    /// Start minutes (after midnight, Shanghai) of the period's slots.
    fn slot_minutes(self) -> &'static [u32] {
        match self {
            Period::Am => &[480, 540, 600, 660],
            Period::Pm => &[840, 900, 960],
        }
    }
}

/// One weekly session of a doctor (出诊).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// ISO weekday: 1 Monday … 7 Sunday.
    pub weekday: u8,
    /// Morning or afternoon.
    pub period: Period,
    /// Patients per hourly slot.
    pub capacity: u32,
}

/// A doctor and their rota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doctor {
    /// Id, `a-z 0-9`, no `-` (slot ids start with it).
    pub id: String,
    /// Full name.
    pub name: String,
    /// 主任医师, 副主任医师, 主治医师.
    pub title: String,
    /// The department's id.
    pub department: String,
    /// What they treat.
    pub specialty: String,
    /// The registration fee (挂号费), fen.
    pub fee_fen: u64,
    /// Weekly sessions.
    pub rota: Vec<Session>,
}

/// A slot added by staff outside the rota (加号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraSlot {
    /// The doctor's id.
    pub doctor: String,
    /// Start, UTC ms (a whole minute).
    pub start_at: u64,
    /// Length, minutes.
    pub minutes: u32,
    /// Patients it takes.
    pub capacity: u32,
}

/// A bookable slot as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// `{doctor}-{YYYYMMDD}-{HHMM}`, the date and time in Shanghai.
    pub id: String,
    /// The doctor's id.
    pub doctor: String,
    /// Start, UTC ms.
    pub start_at: u64,
    /// End, UTC ms.
    pub end_at: u64,
    /// Patients it takes.
    pub capacity: u32,
    /// Active bookings (paid, or unpaid and still held).
    pub taken: u32,
    /// `capacity - taken`.
    pub remaining: u32,
}

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Placed, fee not paid yet; holds its place until `hold_until`.
    Pending,
    /// Unpaid past `hold_until`: the place is free again (computed, never
    /// stored).
    Expired,
    /// Fee paid: the appointment stands.
    Booked,
    /// Cancelled by the patient (a paid fee is refunded by the app).
    Cancelled,
    /// The patient came.
    Attended,
    /// The patient did not come (爽约).
    NoShow,
}

/// A booking (预约).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// `bk` and six or more digits.
    pub id: String,
    /// The slot's id.
    pub slot: String,
    /// The doctor's id.
    pub doctor: String,
    /// The doctor's name.
    pub doctor_name: String,
    /// The department's name.
    pub department_name: String,
    /// Slot start, UTC ms.
    pub start_at: u64,
    /// Slot end, UTC ms.
    pub end_at: u64,
    /// The registration fee, fen.
    pub fee_fen: u64,
    /// Who booked: the patient's openid in the mini-app.
    pub patient: String,
    /// Where it stands.
    pub status: Status,
    /// When it was placed, UTC ms.
    pub created_at: u64,
    /// Until when an unpaid booking holds its place, UTC ms.
    pub hold_until: u64,
    /// Until when it may be cancelled, UTC ms.
    pub cancel_until: u64,
    /// The payment's order number, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// When it was paid, UTC ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<u64>,
    /// When it was cancelled, UTC ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<u64>,
    /// When staff marked it attended or a no-show, UTC ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marked_at: Option<u64>,
}

impl Booking {
    /// The booking with [`Status::Expired`] for an unpaid one past its hold.
    fn seen_at(mut self, now: u64) -> Booking {
        if self.status == Status::Pending && now >= self.hold_until {
            self.status = Status::Expired;
        }
        self
    }

    /// Holds a place at `now`: paid, or unpaid within its hold.
    fn is_active(&self, now: u64) -> bool {
        match self.status {
            Status::Booked => true,
            Status::Pending => now < self.hold_until,
            _ => false,
        }
    }
}

/// Everything the data file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Departments by id.
    pub departments: BTreeMap<String, Department>,
    /// Doctors by id.
    pub doctors: BTreeMap<String, Doctor>,
    /// Slots added by staff, by slot id.
    #[serde(default)]
    pub extra_slots: BTreeMap<String, ExtraSlot>,
    /// Bookings by id.
    #[serde(default)]
    pub bookings: BTreeMap<String, Booking>,
    /// The number of the last booking made.
    #[serde(default)]
    pub last_booking: u64,
}

/// A payment reported for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The payer's order number: the idempotency key.
    pub out_trade_no: String,
    /// What was paid, fen; must equal the fee.
    pub amount_fen: u64,
    /// When, UTC ms.
    pub paid_at: u64,
}

/// A change made now, or found made before (idempotent calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded<T> {
    /// Made by this call.
    New(T),
    /// Made before: nothing changed.
    Again(T),
}

/// A patient's record of no-shows and whether they may book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// No-shows within the last [`NO_SHOW_WINDOW_DAYS`] days.
    pub no_shows: usize,
    /// Booking is suspended until then, UTC ms.
    pub suspended_until: Option<u64>,
    /// The rule, for the patient to be told before booking.
    pub rule: Rule,
}

/// The no-show rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// No-shows that suspend booking.
    pub no_shows: usize,
    /// Within this many days.
    pub window_days: u64,
    /// For this many days after the last of them.
    pub suspension_days: u64,
}

/// The rule in force.
pub const RULE: Rule = Rule {
    no_shows: NO_SHOW_LIMIT,
    window_days: NO_SHOW_WINDOW_DAYS,
    suspension_days: SUSPENSION_DAYS,
};

/// Why the HIS refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HisError {
    /// No such department.
    #[error("no department {0}")]
    NoDepartment(String),
    /// No such doctor.
    #[error("no doctor {0}")]
    NoDoctor(String),
    /// No such slot.
    #[error("no slot {0}")]
    NoSlot(String),
    /// No such booking (or not the patient's).
    #[error("no booking {0}")]
    NoBooking(String),
    /// The slot has started, or lies beyond the booking window.
    #[error("slot {0} is not open for booking")]
    SlotClosed(String),
    /// Every place of the slot is taken.
    #[error("slot {0} is full")]
    Full(String),
    /// The patient already holds an active booking with this doctor on
    /// this day.
    #[error("already booked with this doctor on this day: {0}")]
    SameDoctorSameDay(String),
    /// Booking is suspended for no-shows.
    #[error("booking is suspended after {no_shows} no-shows until {until}")]
    Suspended {
        /// Until then, UTC ms.
        until: u64,
        /// No-shows in the window.
        no_shows: usize,
    },
    /// The booking is not in a state that allows this.
    #[error("the booking is {0:?}")]
    WrongStatus(Status),
    /// The booking's hold ran out and its place was taken meanwhile.
    #[error("the booking's hold ran out and its slot is full")]
    HoldLost,
    /// The booking was paid by another order.
    #[error("the booking is already paid by {0}")]
    PaidByOther(String),
    /// The amount is not the fee.
    #[error("amount_fen {given} is not the fee {due}")]
    AmountDiffers {
        /// What the payment says.
        given: u64,
        /// The fee.
        due: u64,
    },
    /// Cancelling is closed (two hours before the slot).
    #[error("cancelling closed at {0}")]
    PastCutoff(u64),
    /// A field of a staff request is out of range; names it.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The data file could not be written; nothing changed.
    #[error("saving the data: {0}")]
    Io(String),
}

/// The HIS data, in memory and in its file.
pub struct Store {
    file: DataFile<Data>,
}

impl Store {
    /// Opens the data in `dir`, creating the directory and, on first
    /// start, the data file from the bundled seed. Errors: the directory
    /// cannot be made, or the file cannot be read or is not HIS data (it
    /// is then left as it is).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            file: DataFile::open(dir.join(DATA_FILE), SEED)?,
        })
    }

    /// Every department, by id.
    pub fn departments(&self) -> Vec<Department> {
        self.lock().departments.values().cloned().collect()
    }

    /// The doctors of `department`, by id.
    pub fn doctors(&self, department: &str) -> Result<Vec<Doctor>, HisError> {
        let data = self.lock();
        if !data.departments.contains_key(department) {
            return Err(HisError::NoDepartment(department.into()));
        }
        Ok(data
            .doctors
            .values()
            .filter(|d| d.department == department)
            .cloned()
            .collect())
    }

    /// The doctor `id`.
    pub fn doctor(&self, id: &str) -> Result<Doctor, HisError> {
        self.lock()
            .doctors
            .get(id)
            .cloned()
            .ok_or_else(|| HisError::NoDoctor(id.into()))
    }

    /// The doctor's open slots at `now` — starting after `now`, within the
    /// booking window (rota) or added by staff — by start time.
    pub fn slots(&self, doctor: &str, now: u64) -> Result<Vec<Slot>, HisError> {
        let data = self.lock();
        let d = data
            .doctors
            .get(doctor)
            .ok_or_else(|| HisError::NoDoctor(doctor.into()))?;
        let today = clock::shanghai_day(now);
        let mut slots = Vec::new();
        for day in today..today + BOOKING_DAYS {
            for session in d.rota.iter().filter(|s| s.weekday == clock::weekday(day)) {
                for &minute in session.period.slot_minutes() {
                    let start_at = clock::at_shanghai(day, minute);
                    if start_at > now {
                        let id = slot_id(doctor, start_at);
                        slots.push(slot_of(
                            &data,
                            &id,
                            doctor,
                            start_at,
                            60,
                            session.capacity,
                            now,
                        ));
                    }
                }
            }
        }
        for (id, extra) in data.extra_slots.iter().filter(|(_, e)| e.doctor == doctor) {
            if extra.start_at > now && !slots.iter().any(|s| s.id == *id) {
                slots.push(slot_of(
                    &data,
                    id,
                    doctor,
                    extra.start_at,
                    extra.minutes,
                    extra.capacity,
                    now,
                ));
            }
        }
        slots.sort_by(|a, b| a.start_at.cmp(&b.start_at).then(a.id.cmp(&b.id)));
        Ok(slots)
    }

    /// The slot `id` as it stands at `now` (started or not).
    pub fn slot(&self, id: &str, now: u64) -> Result<Slot, HisError> {
        let data = self.lock();
        find_slot(&data, id, now)
    }

    /// Books slot `slot_id` for `patient` at `now`: a pending booking that
    /// holds its place for [`HOLD_MS`]. Idempotent: the patient's active
    /// booking of the same slot is answered again
    /// ([`Recorded::Again`]). Refused when the slot is not open (started,
    /// beyond the window), full, when the patient holds another active
    /// booking with the doctor that day, or while their booking is
    /// suspended.
    pub fn book(
        &self,
        slot_id: &str,
        patient: &str,
        now: u64,
    ) -> Result<Recorded<Booking>, HisError> {
        let mut data = self.lock();
        let slot = find_slot(&data, slot_id, now)?;
        if let Some(mine) = data
            .bookings
            .values()
            .find(|b| b.slot == slot.id && b.patient == patient && b.is_active(now))
        {
            return Ok(Recorded::Again(mine.clone().seen_at(now)));
        }
        let standing = standing_of(&data, patient, now);
        if let Some(until) = standing.suspended_until {
            return Err(HisError::Suspended {
                until,
                no_shows: standing.no_shows,
            });
        }
        let today = clock::shanghai_day(now);
        let is_extra = data.extra_slots.contains_key(&slot.id);
        let day = clock::shanghai_day(slot.start_at);
        if slot.start_at <= now || (!is_extra && day >= today + BOOKING_DAYS) {
            return Err(HisError::SlotClosed(slot.id));
        }
        if let Some(other) = data.bookings.values().find(|b| {
            b.patient == patient
                && b.doctor == slot.doctor
                && clock::shanghai_day(b.start_at) == day
                && b.is_active(now)
        }) {
            return Err(HisError::SameDoctorSameDay(other.id.clone()));
        }
        if slot.remaining == 0 {
            return Err(HisError::Full(slot.id));
        }
        let doctor = data
            .doctors
            .get(&slot.doctor)
            .cloned()
            .ok_or_else(|| HisError::NoDoctor(slot.doctor.clone()))?;
        let department_name = data
            .departments
            .get(&doctor.department)
            .map(|d| d.name.clone())
            .unwrap_or_default();
        let mut next = data.clone();
        next.last_booking += 1;
        let booking = Booking {
            id: format!("bk{:06}", next.last_booking),
            slot: slot.id.clone(),
            doctor: doctor.id.clone(),
            doctor_name: doctor.name.clone(),
            department_name,
            start_at: slot.start_at,
            end_at: slot.end_at,
            fee_fen: doctor.fee_fen,
            patient: patient.to_string(),
            status: Status::Pending,
            created_at: now,
            hold_until: now + HOLD_MS,
            cancel_until: slot.start_at.saturating_sub(CANCEL_CUTOFF_MS),
            out_trade_no: None,
            paid_at: None,
            cancelled_at: None,
            marked_at: None,
        };
        next.bookings.insert(booking.id.clone(), booking.clone());
        self.commit(&mut data, next)?;
        Ok(Recorded::New(booking))
    }

    /// The booking `id` at `now`, if it is `patient`'s (`None` asks for
    /// any patient's: staff).
    pub fn booking(&self, id: &str, patient: Option<&str>, now: u64) -> Result<Booking, HisError> {
        let data = self.lock();
        data.bookings
            .get(id)
            .filter(|b| patient.is_none_or(|p| b.patient == p))
            .map(|b| b.clone().seen_at(now))
            .ok_or_else(|| HisError::NoBooking(id.into()))
    }

    /// The patient's bookings at `now`, newest slot first.
    pub fn bookings_of(&self, patient: &str, now: u64) -> Vec<Booking> {
        let data = self.lock();
        let mut mine: Vec<Booking> = data
            .bookings
            .values()
            .filter(|b| b.patient == patient)
            .map(|b| b.clone().seen_at(now))
            .collect();
        mine.sort_by(|a, b| b.start_at.cmp(&a.start_at).then(b.id.cmp(&a.id)));
        mine
    }

    /// The patient's no-shows and suspension at `now`.
    pub fn standing(&self, patient: &str, now: u64) -> Standing {
        standing_of(&self.lock(), patient, now)
    }

    /// Records `payment` of booking `id`: it becomes [`Status::Booked`].
    /// Idempotent by the order number. A payment after the hold ran out
    /// still books if the slot has room; otherwise [`HisError::HoldLost`]
    /// (the app refunds it), as for a cancelled booking
    /// ([`HisError::WrongStatus`]).
    pub fn pay(
        &self,
        id: &str,
        payment: &Payment,
        now: u64,
    ) -> Result<Recorded<Booking>, HisError> {
        let mut data = self.lock();
        let booking = data
            .bookings
            .get(id)
            .cloned()
            .ok_or_else(|| HisError::NoBooking(id.into()))?;
        match (&booking.out_trade_no, booking.status) {
            (Some(no), _) if *no == payment.out_trade_no => {
                return Ok(Recorded::Again(booking.seen_at(now)));
            }
            (Some(no), _) => return Err(HisError::PaidByOther(no.clone())),
            (None, Status::Pending) => {}
            (None, status) => return Err(HisError::WrongStatus(status)),
        }
        if booking.fee_fen != payment.amount_fen {
            return Err(HisError::AmountDiffers {
                given: payment.amount_fen,
                due: booking.fee_fen,
            });
        }
        if !booking.is_active(now) {
            // The hold ran out: the place is still this booking's only if
            // nobody took it meanwhile, and the one-a-day rule still holds.
            let slot = find_slot(&data, &booking.slot, now)?;
            let day = clock::shanghai_day(booking.start_at);
            let clash = data.bookings.values().any(|b| {
                b.id != booking.id
                    && b.patient == booking.patient
                    && b.doctor == booking.doctor
                    && clock::shanghai_day(b.start_at) == day
                    && b.is_active(now)
            });
            if slot.remaining == 0 || clash {
                return Err(HisError::HoldLost);
            }
        }
        let mut next = data.clone();
        let paid = next.bookings.get_mut(id).expect("checked above");
        paid.status = Status::Booked;
        paid.out_trade_no = Some(payment.out_trade_no.clone());
        paid.paid_at = Some(payment.paid_at);
        let paid = paid.clone();
        self.commit(&mut data, next)?;
        Ok(Recorded::New(paid))
    }

    /// Cancels the patient's booking `id` at `now`, until its
    /// `cancel_until` (an unpaid one at any time before its slot).
    /// Idempotent: a cancelled booking is answered again.
    pub fn cancel(&self, id: &str, patient: &str, now: u64) -> Result<Recorded<Booking>, HisError> {
        let mut data = self.lock();
        let booking = data
            .bookings
            .get(id)
            .filter(|b| b.patient == patient)
            .cloned()
            .ok_or_else(|| HisError::NoBooking(id.into()))?;
        match booking.status {
            Status::Cancelled => return Ok(Recorded::Again(booking)),
            Status::Booked if now >= booking.cancel_until => {
                return Err(HisError::PastCutoff(booking.cancel_until));
            }
            Status::Booked | Status::Pending => {}
            status => return Err(HisError::WrongStatus(status)),
        }
        let mut next = data.clone();
        let cancelled = next.bookings.get_mut(id).expect("checked above");
        cancelled.status = Status::Cancelled;
        cancelled.cancelled_at = Some(now);
        let cancelled = cancelled.clone();
        self.commit(&mut data, next)?;
        Ok(Recorded::New(cancelled))
    }

    /// Adds a slot for `doctor` outside the rota (加号): `start_at` (UTC
    /// ms, in the future), `minutes` 5–240, `capacity`
    /// 1–[`MAX_CAPACITY`]. Its id is that of a rota slot at the same time,
    /// which it then replaces.
    pub fn add_slot(&self, extra: ExtraSlot, now: u64) -> Result<Slot, HisError> {
        let mut data = self.lock();
        if !data.doctors.contains_key(&extra.doctor) {
            return Err(HisError::NoDoctor(extra.doctor));
        }
        if extra.start_at <= now {
            return Err(HisError::Invalid {
                field: "start_at",
                reason: "a time in the future, UTC ms",
            });
        }
        if !(5..=240).contains(&extra.minutes) {
            return Err(HisError::Invalid {
                field: "minutes",
                reason: "5-240",
            });
        }
        if !(1..=MAX_CAPACITY).contains(&extra.capacity) {
            return Err(HisError::Invalid {
                field: "capacity",
                reason: "1-500",
            });
        }
        let id = slot_id(&extra.doctor, extra.start_at);
        let mut next = data.clone();
        next.extra_slots.insert(id.clone(), extra);
        self.commit(&mut data, next)?;
        find_slot(&data, &id, now)
    }

    /// Marks a paid booking attended or a no-show (staff, once the visit
    /// is due; the HIS does not check the clock so that a clinic may close
    /// its list early). A booking already marked the same way is answered
    /// again.
    pub fn mark(&self, id: &str, attended: bool, now: u64) -> Result<Booking, HisError> {
        let mut data = self.lock();
        let booking = data
            .bookings
            .get(id)
            .cloned()
            .ok_or_else(|| HisError::NoBooking(id.into()))?;
        let wanted = if attended {
            Status::Attended
        } else {
            Status::NoShow
        };
        match booking.status {
            s if s == wanted => return Ok(booking),
            Status::Booked => {}
            _ => return Err(HisError::WrongStatus(booking.seen_at(now).status)),
        }
        let mut next = data.clone();
        let marked = next.bookings.get_mut(id).expect("checked above");
        marked.status = wanted;
        marked.marked_at = Some(now);
        let marked = marked.clone();
        self.commit(&mut data, next)?;
        Ok(marked)
    }

    /// Writes `next` and makes it the data.
    fn commit(&self, data: &mut Data, next: Data) -> Result<(), HisError> {
        self.file
            .commit(data, next)
            .map_err(|e| HisError::Io(e.to_string()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.file.lock()
    }
}

/// `{doctor}-{YYYYMMDD}-{HHMM}` of a slot starting at `start_at`.
fn slot_id(doctor: &str, start_at: u64) -> String {
    let day = clock::shanghai_day(start_at);
    let minute = (start_at - clock::at_shanghai(day, 0)) / MINUTE_MS;
    format!(
        "{doctor}-{}-{:02}{:02}",
        clock::compact_date(day),
        minute / 60,
        minute % 60
    )
}

fn slot_of(
    data: &Data,
    id: &str,
    doctor: &str,
    start_at: u64,
    minutes: u32,
    capacity: u32,
    now: u64,
) -> Slot {
    let taken = data
        .bookings
        .values()
        .filter(|b| b.slot == id && b.is_active(now))
        .count();
    let taken = u32::try_from(taken).unwrap_or(u32::MAX);
    Slot {
        id: id.to_string(),
        doctor: doctor.to_string(),
        start_at,
        end_at: start_at + u64::from(minutes) * MINUTE_MS,
        capacity,
        taken,
        remaining: capacity.saturating_sub(taken),
    }
}

/// The slot `id`: added by staff, or on the doctor's rota that day.
fn find_slot(data: &Data, id: &str, now: u64) -> Result<Slot, HisError> {
    let no_slot = || HisError::NoSlot(id.to_string());
    if let Some(extra) = data.extra_slots.get(id) {
        return Ok(slot_of(
            data,
            id,
            &extra.doctor,
            extra.start_at,
            extra.minutes,
            extra.capacity,
            now,
        ));
    }
    let mut parts = id.split('-');
    let (Some(doctor), Some(date), Some(time), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(no_slot());
    };
    let d = data.doctors.get(doctor).ok_or_else(no_slot)?;
    let day = clock::parse_compact_date(date).ok_or_else(no_slot)?;
    if time.len() != 4 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(no_slot());
    }
    let minute: u32 = time[..2].parse::<u32>().map_err(|_| no_slot())? * 60
        + time[2..].parse::<u32>().map_err(|_| no_slot())?;
    let session = d
        .rota
        .iter()
        .find(|s| s.weekday == clock::weekday(day) && s.period.slot_minutes().contains(&minute))
        .ok_or_else(no_slot)?;
    Ok(slot_of(
        data,
        id,
        doctor,
        clock::at_shanghai(day, minute),
        60,
        session.capacity,
        now,
    ))
}

fn standing_of(data: &Data, patient: &str, now: u64) -> Standing {
    let since = now.saturating_sub(NO_SHOW_WINDOW_DAYS * DAY_MS);
    let mut marked: Vec<u64> = data
        .bookings
        .values()
        .filter(|b| b.patient == patient && b.status == Status::NoShow)
        .filter_map(|b| b.marked_at)
        .filter(|&at| at >= since)
        .collect();
    marked.sort_unstable();
    let suspended_until = if marked.len() >= NO_SHOW_LIMIT {
        marked
            .last()
            .map(|last| last + SUSPENSION_DAYS * DAY_MS)
            .filter(|&until| until > now)
    } else {
        None
    };
    Standing {
        no_shows: marked.len(),
        suspended_until,
        rule: RULE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 2026-12-07 07:00 in Shanghai.
    const MONDAY_7AM: u64 = 1_796_598_000_000;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn payment(no: &str, amount_fen: u64) -> Payment {
        Payment {
            out_trade_no: no.into(),
            amount_fen,
            paid_at: MONDAY_7AM,
        }
    }

    fn new(r: Result<Recorded<Booking>, HisError>) -> Booking {
        match r {
            Ok(Recorded::New(b)) => b,
            other => panic!("not a new booking: {other:?}"),
        }
    }

    #[test]
    fn the_seed_is_his_data() {
        let data: Data = serde_json::from_str(SEED).unwrap();
        assert!(data.departments.len() >= 3);
        for (id, d) in &data.doctors {
            assert_eq!(*id, d.id);
            assert!(!d.id.contains('-') && data.departments.contains_key(&d.department));
            assert!(d.fee_fen > 0 && !d.rota.is_empty());
            assert!(
                d.rota
                    .iter()
                    .all(|s| (1..=7).contains(&s.weekday) && s.capacity > 0)
            );
        }
    }

    #[test]
    fn rota_slots_cover_the_window_in_shanghai_time() {
        let (_dir, store) = store();
        let slots = store.slots("d101", MONDAY_7AM).unwrap();
        assert!(!slots.is_empty());
        let first = &slots[0];
        // d101 sees patients on Monday mornings: 08:00 Shanghai = 00:00 UTC.
        assert_eq!(first.id, "d101-20261207-0800");
        assert_eq!(first.start_at, MONDAY_7AM + HOUR_MS);
        assert_eq!(first.end_at - first.start_at, HOUR_MS);
        assert!(slots.iter().all(|s| s.start_at > MONDAY_7AM));
        assert!(slots.iter().all(|s| s.start_at < MONDAY_7AM + 7 * DAY_MS));
        assert_eq!(store.slot(&first.id, MONDAY_7AM).unwrap(), *first);
        for bad in [
            "d101-20261207-0830",
            "d101-20261208-0800",
            "x-20261207-0800",
            "d101-2026127-0800",
            "d101",
            "",
        ] {
            assert!(
                matches!(store.slot(bad, MONDAY_7AM), Err(HisError::NoSlot(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            store.slots("nobody", MONDAY_7AM),
            Err(HisError::NoDoctor(_))
        ));
    }

    #[test]
    fn capacity_and_one_booking_per_doctor_per_day_hold() {
        let (dir, store) = store();
        let slot = store.slots("d101", MONDAY_7AM).unwrap().remove(0);
        let capacity = slot.capacity as usize;
        let mut ids = Vec::new();
        // p0 a minute before the others.
        for n in 0..capacity {
            let at = MONDAY_7AM + if n == 0 { 0 } else { MINUTE_MS };
            ids.push(new(store.book(&slot.id, &format!("p{n}"), at)).id);
        }
        assert_eq!(
            store.book(&slot.id, "late", MONDAY_7AM + MINUTE_MS),
            Err(HisError::Full(slot.id.clone()))
        );
        // The same patient again: the same booking.
        assert!(
            matches!(store.book(&slot.id, "p0", MONDAY_7AM), Ok(Recorded::Again(b)) if b.id == ids[0])
        );
        // Another slot of the same doctor the same day: refused.
        let later = "d101-20261207-1000";
        assert_eq!(
            store.book(later, "p0", MONDAY_7AM),
            Err(HisError::SameDoctorSameDay(ids[0].clone()))
        );
        // An unpaid booking's hold runs out: its place is free again.
        let after_hold = MONDAY_7AM + HOLD_MS;
        assert_eq!(
            store
                .booking(&ids[0], Some("p0"), after_hold)
                .unwrap()
                .status,
            Status::Expired
        );
        let late = new(store.book(&slot.id, "late", after_hold));
        // Paying the expired one now: the slot is full, the hold is lost.
        assert_eq!(
            store.pay(&ids[0], &payment("reg-a", slot_fee(&store)), after_hold),
            Err(HisError::HoldLost)
        );
        // Paying within the hold books it; again is idempotent.
        assert!(
            matches!(store.pay(&late.id, &payment("reg-b", slot_fee(&store)), after_hold), Ok(Recorded::New(b)) if b.status == Status::Booked)
        );
        assert!(matches!(
            store.pay(&late.id, &payment("reg-b", slot_fee(&store)), after_hold),
            Ok(Recorded::Again(_))
        ));
        assert_eq!(
            store.pay(&late.id, &payment("reg-c", slot_fee(&store)), after_hold),
            Err(HisError::PaidByOther("reg-b".into()))
        );
        assert_eq!(
            store.pay(&ids[1], &payment("reg-d", 1), after_hold),
            Err(HisError::AmountDiffers {
                given: 1,
                due: slot_fee(&store)
            })
        );
        // Reopened from the file: the same.
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(
            again.slot(&slot.id, after_hold).unwrap().taken,
            slot.capacity
        );
        assert!(!dir.path().join("his.json.tmp").exists());
    }

    fn slot_fee(store: &Store) -> u64 {
        store.doctor("d101").unwrap().fee_fen
    }

    #[test]
    fn concurrent_bookings_never_exceed_capacity() {
        let (_dir, store) = store();
        let slot = store.slots("d101", MONDAY_7AM).unwrap().remove(0);
        let store = std::sync::Arc::new(store);
        let booked: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..32)
                .map(|n| {
                    let store = store.clone();
                    let id = slot.id.clone();
                    s.spawn(move || store.book(&id, &format!("p{n}"), MONDAY_7AM).is_ok())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count()
        });
        assert_eq!(booked, slot.capacity as usize);
        assert_eq!(store.slot(&slot.id, MONDAY_7AM).unwrap().remaining, 0);
    }

    #[test]
    fn cancelling_closes_two_hours_before_the_slot() {
        let (_dir, store) = store();
        let b = new(store.book("d101-20261207-1000", "p", MONDAY_7AM));
        assert_eq!(b.cancel_until, b.start_at - 2 * HOUR_MS);
        store
            .pay(&b.id, &payment("reg-x", b.fee_fen), MONDAY_7AM)
            .unwrap();
        assert_eq!(
            store.cancel(&b.id, "someone else", MONDAY_7AM),
            Err(HisError::NoBooking(b.id.clone()))
        );
        assert_eq!(
            store.cancel(&b.id, "p", b.cancel_until),
            Err(HisError::PastCutoff(b.cancel_until))
        );
        let cancelled = new(store.cancel(&b.id, "p", b.cancel_until - 1));
        assert_eq!(cancelled.status, Status::Cancelled);
        assert!(matches!(
            store.cancel(&b.id, "p", MONDAY_7AM),
            Ok(Recorded::Again(_))
        ));
        // Its place is free; another payment for it is refused.
        assert_eq!(store.slot(&b.slot, MONDAY_7AM).unwrap().taken, 0);
        assert_eq!(
            store.pay(&b.id, &payment("reg-y", b.fee_fen), MONDAY_7AM),
            Err(HisError::PaidByOther("reg-x".into()))
        );
        // An unpaid booking is cancelled at any time; paying it then is refused.
        let unpaid = new(store.book("d101-20261207-1100", "p", MONDAY_7AM));
        let late = unpaid.start_at - HOUR_MS;
        assert_eq!(
            new(store.cancel(&unpaid.id, "p", late)).status,
            Status::Cancelled
        );
        assert_eq!(
            store.pay(&unpaid.id, &payment("reg-z", unpaid.fee_fen), late),
            Err(HisError::WrongStatus(Status::Cancelled))
        );
    }

    #[test]
    fn three_no_shows_in_ninety_days_suspend_booking_for_thirty() {
        let (_dir, store) = store();
        let mut now = MONDAY_7AM;
        for n in 0..3 {
            let slot = store.slots("d101", now).unwrap().remove(0);
            let b = new(store.book(&slot.id, "p", now));
            store
                .pay(&b.id, &payment(&format!("reg-{n}"), b.fee_fen), now)
                .unwrap();
            assert_eq!(store.standing("p", now).no_shows, n);
            assert_eq!(
                store.mark(&b.id, false, now).unwrap().status,
                Status::NoShow
            );
            assert_eq!(
                store.mark(&b.id, true, now),
                Err(HisError::WrongStatus(Status::NoShow))
            );
            now += 7 * DAY_MS;
        }
        let standing = store.standing("p", now);
        assert_eq!(standing.no_shows, 3);
        let until = standing.suspended_until.unwrap();
        assert_eq!(until, now - 7 * DAY_MS + 30 * DAY_MS);
        let slot = store.slots("d101", now).unwrap().remove(0);
        assert_eq!(
            store.book(&slot.id, "p", now),
            Err(HisError::Suspended { until, no_shows: 3 })
        );
        assert!(store.book(&slot.id, "q", now).is_ok(), "others still book");
        // After the suspension, booking is open again.
        assert_eq!(store.standing("p", until).suspended_until, None);
    }

    #[test]
    fn staff_slots_are_checked_and_bookable() {
        let (_dir, store) = store();
        let extra = |start_at, minutes, capacity| ExtraSlot {
            doctor: "d201".into(),
            start_at,
            minutes,
            capacity,
        };
        let at = MONDAY_7AM + 20 * DAY_MS;
        let slot = store.add_slot(extra(at, 30, 2), MONDAY_7AM).unwrap();
        assert_eq!(
            (slot.capacity, slot.remaining, slot.end_at),
            (2, 2, at + 30 * MINUTE_MS)
        );
        // Beyond the rota's window, yet bookable: staff opened it.
        assert!(store.book(&slot.id, "p", MONDAY_7AM).is_ok());
        let field = |r: Result<Slot, HisError>| match r {
            Err(HisError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(store.add_slot(extra(MONDAY_7AM, 30, 2), MONDAY_7AM)),
            "start_at"
        );
        assert_eq!(
            field(store.add_slot(extra(at, 0, 2), MONDAY_7AM)),
            "minutes"
        );
        assert_eq!(
            field(store.add_slot(extra(at, 30, 0), MONDAY_7AM)),
            "capacity"
        );
    }

    #[test]
    fn a_damaged_data_file_is_an_error_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DATA_FILE), "{not json").unwrap();
        assert!(Store::open(dir.path()).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(DATA_FILE)).unwrap(),
            "{not json"
        );
    }
}
