//! The office's data in one JSON file, `{data dir}/office.json`: the
//! driver registry it checks eligibility against (from the bundled seed),
//! the monthly periods with their secret seeds and commitments, and the
//! applications.
//!
//! Every change is serialised (one lock) and written atomically: the new
//! file is written beside the old one, synced, then renamed over it, so a
//! crash leaves either the old data or the new, never half a file; memory
//! changes only once the file is written. Times are UTC milliseconds.

use std::collections::BTreeMap;
use std::path::Path;

use cityhost_backend::data_file::DataFile;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use verify_lottery::{ALGORITHM, CommitmentFile, DrawFile, Seed};

use crate::calendar::Period;

/// The seed: the quota per draw and the driver registry (the four demo
/// citizens, and 24 people who apply at the office's counters).
const SEED: &str = include_str!("../seed/office.json");

/// The data file's name in the data directory.
pub const DATA_FILE: &str = "office.json";

/// A person in the office's registry (from the traffic police's driver and
/// vehicle records), keyed by identity number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Identity number, GB 11643 (18 characters, `X` upper case).
    pub id_number: String,
    /// Full name.
    pub name: String,
    /// Holds a valid motor-vehicle driving licence.
    pub licence: bool,
    /// Plates of passenger cars registered to them in Hangzhou.
    pub cars: Vec<String>,
    /// Hangzhou household registration, or a residence permit with social
    /// insurance paid in Hangzhou.
    pub resident: bool,
    /// Applies at the office's counters: the office files an application
    /// for them in every period (they stand for the applicants of every
    /// channel other than the mini-app).
    pub counter: bool,
}

/// One month's draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodRecord {
    /// `2026-12`.
    pub period: String,
    /// How many codes win.
    pub quota: usize,
    /// When the period was opened and its commitment published.
    pub opened_at: u64,
    /// When applications close (the 9th, 00:00 Beijing time).
    pub closes_at: u64,
    /// When the draw is held (the 26th, 10:00 Beijing time).
    pub draw_at: u64,
    /// SHA-256 of the seed, hex: public from the start.
    pub commitment: String,
    /// The seed, hex: secret until the draw.
    pub seed: String,
    /// When the office closed applications before `closes_at`, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_early_at: Option<u64>,
    /// When it was drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn_at: Option<u64>,
    /// The winners in rank order, once drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winners: Option<Vec<String>>,
}

/// Where a period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodStatus {
    /// Taking applications.
    Open,
    /// Applications closed; the draw is to come.
    Closed,
    /// Drawn; seed and winners are public.
    Drawn,
}

impl PeriodRecord {
    /// Where it stands at `now`.
    pub fn status(&self, now: u64) -> PeriodStatus {
        if self.drawn_at.is_some() {
            PeriodStatus::Drawn
        } else if self.closed_early_at.is_some() || now >= self.closes_at {
            PeriodStatus::Closed
        } else {
            PeriodStatus::Open
        }
    }

    /// When applications closed or close.
    pub fn closed_at(&self) -> u64 {
        self.closed_early_at.unwrap_or(self.closes_at)
    }

    /// The commitment file, public from the period's opening.
    pub fn commitment_file(&self) -> CommitmentFile {
        CommitmentFile {
            period: self.period.clone(),
            algorithm: ALGORITHM.into(),
            quota: self.quota,
            commitment: self.commitment.clone(),
            closes_at: self.closed_at(),
            draw_at: self.draw_at,
        }
    }
}

/// How an application came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Through the mini-app.
    App,
    /// At the office's counter.
    Counter,
}

/// An application for one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// 13 random digits: the only thing about it that is published.
    pub code: String,
    /// The period it joins.
    pub period: String,
    /// The applicant's identity number (never published).
    pub id_number: String,
    /// How it came in.
    pub channel: Channel,
    /// When, UTC ms.
    pub submitted_at: u64,
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Not drawn yet.
    Pending,
    /// Among the winners.
    Won,
    /// Drawn, not among the winners.
    Lost,
}

/// Everything the data file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Winners per draw.
    pub quota: usize,
    /// The registry, by identity number.
    pub people: BTreeMap<String, Person>,
    /// Periods by name.
    #[serde(default)]
    pub periods: BTreeMap<String, PeriodRecord>,
    /// Applications by code.
    #[serde(default)]
    pub applications: BTreeMap<String, Application>,
}

/// One eligibility check and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `identity`, `licence`, `no-car`, `resident` or `once-per-period`.
    pub check: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, for the applicant (Chinese).
    pub detail: String,
}

/// Why an application was not filed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// A check failed; all checks, with the failed ones.
    #[error("not eligible")]
    Ineligible(Vec<Check>),
    /// The person already applied for this period: their application.
    #[error("already applied for {}", .0.period)]
    Already(Application),
    /// The data file could not be written; nothing changed.
    #[error("saving the data: {0}")]
    Io(String),
}

/// Why the office could not close or draw a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfficeError {
    /// No such period was opened.
    #[error("no period {0}")]
    NoPeriod(String),
    /// Its applications are still open (draw before closing).
    #[error("applications for {0} are still open")]
    StillOpen(String),
    /// The data file could not be written; nothing changed.
    #[error("saving the data: {0}")]
    Io(String),
}

/// The office's data, kept in memory and in its file.
pub struct Store {
    file: DataFile<Data>,
}

impl Store {
    /// Opens the data in `dir`, creating the directory and, on first start,
    /// the data file from the bundled seed. Errors: the directory cannot be
    /// made, or the file cannot be read or is not the office's data (it is
    /// then left as it is).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            file: DataFile::open(dir.join(DATA_FILE), SEED)?,
        })
    }

    /// The period taking applications at `now`, opened (seed drawn,
    /// commitment published, counter applications filed) if it was not yet.
    pub fn open_period(&self, now: u64) -> Result<PeriodRecord, OfficeError> {
        let mut data = self.lock();
        let (record, next) = open_in(&data, now);
        if let Some(next) = next {
            self.file
                .commit(&mut data, next)
                .map_err(|e| OfficeError::Io(e.to_string()))?;
            tracing::info!(period = %record.period, commitment = %record.commitment, "period opened");
        }
        Ok(record)
    }

    /// Every period, oldest first.
    pub fn periods(&self) -> Vec<PeriodRecord> {
        self.lock().periods.values().cloned().collect()
    }

    /// Period `period`, if opened.
    pub fn period(&self, period: &str) -> Option<PeriodRecord> {
        self.lock().periods.get(period).cloned()
    }

    /// How many applications period `period` has.
    pub fn count(&self, period: &str) -> usize {
        let data = self.lock();
        data.applications
            .values()
            .filter(|a| a.period == period)
            .count()
    }

    /// The published draw of `period`, once drawn.
    pub fn draw_file(&self, period: &str) -> Option<DrawFile> {
        let data = self.lock();
        let record = data.periods.get(period)?;
        Some(DrawFile {
            period: record.period.clone(),
            algorithm: ALGORITHM.into(),
            quota: record.quota,
            commitment: record.commitment.clone(),
            seed: record.seed.clone(),
            codes: codes_of(&data, period),
            winners: record.winners.clone()?,
            drawn_at: record.drawn_at?,
        })
    }

    /// The checks for the person with `id_number` and `name` applying at
    /// `now`, for the period taking applications.
    pub fn eligibility(
        &self,
        id_number: &str,
        name: &str,
        now: u64,
    ) -> Result<(PeriodRecord, Vec<Check>), OfficeError> {
        let period = self.open_period(now)?;
        let data = self.lock();
        let checks = checks(&data, &period.period, id_number, name);
        Ok((period, checks))
    }

    /// Files an application of the person with `id_number` and `name` at
    /// `now`, for the period taking applications: checks eligibility, one
    /// application per person per period, then gives it a fresh random code.
    pub fn apply(&self, id_number: &str, name: &str, now: u64) -> Result<Application, ApplyError> {
        let mut data = self.lock();
        let (period, next) = open_in(&data, now);
        let mut next = next.unwrap_or_else(|| data.clone());
        if let Some(already) = next
            .applications
            .values()
            .find(|a| a.period == period.period && a.id_number == id_number)
        {
            return Err(ApplyError::Already(already.clone()));
        }
        let checks = checks(&next, &period.period, id_number, name);
        if checks.iter().any(|c| !c.passed) {
            return Err(ApplyError::Ineligible(checks));
        }
        let application = Application {
            code: fresh_code(&next),
            period: period.period.clone(),
            id_number: id_number.to_string(),
            channel: Channel::App,
            submitted_at: now,
        };
        next.applications
            .insert(application.code.clone(), application.clone());
        self.file
            .commit(&mut data, next)
            .map_err(|e| ApplyError::Io(e.to_string()))?;
        tracing::info!(period = %application.period, "application filed");
        Ok(application)
    }

    /// The application with `code` and where it stands.
    pub fn application(&self, code: &str) -> Option<(Application, Outcome)> {
        let data = self.lock();
        let application = data.applications.get(code)?.clone();
        let outcome = match data
            .periods
            .get(&application.period)
            .and_then(|p| p.winners.as_ref())
        {
            None => Outcome::Pending,
            Some(winners) if winners.contains(&application.code) => Outcome::Won,
            Some(_) => Outcome::Lost,
        };
        Some((application, outcome))
    }

    /// Closes `period`'s applications at `now`, before their time (an
    /// office decision, recorded in the period); closing a closed or drawn
    /// period changes nothing.
    pub fn close(&self, period: &str, now: u64) -> Result<PeriodRecord, OfficeError> {
        let mut data = self.lock();
        let record = data
            .periods
            .get(period)
            .ok_or_else(|| OfficeError::NoPeriod(period.to_string()))?;
        if record.status(now) != PeriodStatus::Open {
            return Ok(record.clone());
        }
        let mut next = data.clone();
        let record = next.periods.get_mut(period).expect("checked above");
        record.closed_early_at = Some(now);
        let record = record.clone();
        self.file
            .commit(&mut data, next)
            .map_err(|e| OfficeError::Io(e.to_string()))?;
        tracing::info!(period, "applications closed early");
        Ok(record)
    }

    /// Draws `period` at `now` (its applications must be closed): the
    /// winners by [`verify_lottery::draw`] over its seed and its codes.
    /// Drawing a drawn period changes nothing.
    pub fn draw(&self, period: &str, now: u64) -> Result<PeriodRecord, OfficeError> {
        let mut data = self.lock();
        let record = data
            .periods
            .get(period)
            .ok_or_else(|| OfficeError::NoPeriod(period.to_string()))?;
        match record.status(now) {
            PeriodStatus::Drawn => return Ok(record.clone()),
            PeriodStatus::Open => return Err(OfficeError::StillOpen(period.to_string())),
            PeriodStatus::Closed => {}
        }
        let seed = Seed::from_hex(&record.seed)
            .ok_or_else(|| OfficeError::Io(format!("the seed of {period} is damaged")))?;
        let codes = codes_of(&data, period);
        let winners = verify_lottery::draw(&seed, &codes, record.quota)
            .map_err(|e| OfficeError::Io(format!("the codes of {period}: {e}")))?;
        let mut next = data.clone();
        let record = next.periods.get_mut(period).expect("checked above");
        record.drawn_at = Some(now);
        record.winners = Some(winners);
        let record = record.clone();
        self.file
            .commit(&mut data, next)
            .map_err(|e| OfficeError::Io(e.to_string()))?;
        tracing::info!(period, codes = codes.len(), "drawn");
        Ok(record)
    }

    /// Draws every period whose draw time has come by `now`; the periods
    /// drawn.
    pub fn draw_due(&self, now: u64) -> Result<Vec<String>, OfficeError> {
        let due: Vec<String> = self
            .lock()
            .periods
            .values()
            .filter(|p| p.drawn_at.is_none() && now >= p.draw_at)
            .map(|p| p.period.clone())
            .collect();
        for period in &due {
            self.draw(period, now)?;
        }
        Ok(due)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.file.lock()
    }
}

/// The period taking applications at `now` in `data`, and the data with it
/// opened if it had to be (the caller writes it).
fn open_in(data: &Data, now: u64) -> (PeriodRecord, Option<Data>) {
    let mut period = Period::of(now);
    loop {
        match data.periods.get(&period.to_string()) {
            Some(record) if record.status(now) == PeriodStatus::Open => {
                return (record.clone(), None);
            }
            Some(_) => period = period.next(),
            None => break,
        }
    }
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let seed = Seed(seed);
    let record = PeriodRecord {
        period: period.to_string(),
        quota: data.quota,
        opened_at: now,
        closes_at: period.closes_at(),
        draw_at: period.draw_at(),
        commitment: verify_lottery::commitment(&seed),
        seed: seed.to_hex(),
        closed_early_at: None,
        drawn_at: None,
        winners: None,
    };
    let mut next = data.clone();
    next.periods.insert(record.period.clone(), record.clone());
    let counter: Vec<String> = next
        .people
        .values()
        .filter(|p| p.counter)
        .map(|p| p.id_number.clone())
        .collect();
    for id_number in counter {
        let application = Application {
            code: fresh_code(&next),
            period: record.period.clone(),
            id_number,
            channel: Channel::Counter,
            submitted_at: now,
        };
        next.applications
            .insert(application.code.clone(), application);
    }
    (record, Some(next))
}

/// A 13-digit code no application has, from the OS's random numbers.
fn fresh_code(data: &Data) -> String {
    loop {
        let code = rand::rngs::OsRng
            .gen_range(1_000_000_000_000u64..10_000_000_000_000u64)
            .to_string();
        if !data.applications.contains_key(&code) {
            return code;
        }
    }
}

/// The codes of `period`'s applications, sorted bytewise.
fn codes_of(data: &Data, period: &str) -> Vec<String> {
    // BTreeMap keys are sorted bytewise already; all codes are 13 digits.
    data.applications
        .values()
        .filter(|a| a.period == period)
        .map(|a| a.code.clone())
        .collect()
}

/// The eligibility checks of a person for `period`.
fn checks(data: &Data, period: &str, id_number: &str, name: &str) -> Vec<Check> {
    let check = |check, passed, detail: String| Check {
        check,
        passed,
        detail,
    };
    let Some(person) = data.people.get(id_number) else {
        return vec![check(
            "licence",
            false,
            "未查询到您的机动车驾驶证记录".into(),
        )];
    };
    if person.name != name {
        return vec![check(
            "identity",
            false,
            "姓名与驾驶人记录不一致，请到窗口核对".into(),
        )];
    }
    let already = data
        .applications
        .values()
        .find(|a| a.period == period && a.id_number == id_number);
    vec![
        check("identity", true, "身份信息与驾驶人记录一致".into()),
        if person.licence {
            check("licence", true, "持有有效的机动车驾驶证".into())
        } else {
            check("licence", false, "未持有有效的机动车驾驶证".into())
        },
        if person.cars.is_empty() {
            check("no-car", true, "名下无本市登记的小客车".into())
        } else {
            check(
                "no-car",
                false,
                format!("名下已有本市登记的小客车：{}", person.cars.join("、")),
            )
        },
        if person.resident {
            check("resident", true, "本市户籍或持本市居住证并缴纳社保".into())
        } else {
            check("resident", false, "非本市户籍且无本市居住证".into())
        },
        match already {
            None => check("once-per-period", true, format!("本期（{period}）尚未申请")),
            Some(a) => check(
                "once-per-period",
                false,
                format!("本期（{period}）已申请，申请编码 {}", a.code),
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04 10:00 UTC: period 2026-12 takes applications.
    const NOW: u64 = 1_796_378_400_000;
    const ZHANG: (&str, &str) = ("33010619900101123X", "张三");
    const LI: (&str, &str) = ("330102198506152345", "李四");

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn the_seed_is_office_data() {
        let data: Data = serde_json::from_str(SEED).unwrap();
        assert_eq!(data.quota, 5);
        assert!(data.people.iter().all(|(id, p)| *id == p.id_number));
        assert_eq!(data.people.values().filter(|p| p.counter).count(), 24);
    }

    #[test]
    fn a_period_opens_with_its_commitment_and_counter_applications() {
        let (_dir, store) = store();
        let period = store.open_period(NOW).unwrap();
        assert_eq!(period.period, "2026-12");
        assert_eq!(period.status(NOW), PeriodStatus::Open);
        let seed = Seed::from_hex(&period.seed).unwrap();
        assert_eq!(verify_lottery::commitment(&seed), period.commitment);
        assert_eq!(store.count("2026-12"), 24);
        // Opening again is the same period with the same seed.
        assert_eq!(store.open_period(NOW + 1).unwrap(), period);
    }

    #[test]
    fn one_application_per_person_per_period_and_only_if_eligible() {
        let (dir, store) = store();
        let a = store.apply(ZHANG.0, ZHANG.1, NOW).unwrap();
        assert!(verify_lottery::is_code(&a.code), "{}", a.code);
        assert_eq!(a.period, "2026-12");
        assert_eq!(
            store.apply(ZHANG.0, ZHANG.1, NOW + 1),
            Err(ApplyError::Already(a.clone()))
        );
        let Err(ApplyError::Ineligible(checks)) = store.apply(LI.0, LI.1, NOW) else {
            panic!("李四 owns a car")
        };
        let car = checks.iter().find(|c| c.check == "no-car").unwrap();
        assert!(!car.passed && car.detail.contains("浙A12345"), "{car:?}");
        assert!(matches!(
            store.apply("330183197809053014", "赵六", NOW),
            Err(ApplyError::Ineligible(c)) if c.iter().any(|c| c.check == "licence" && !c.passed)
        ));
        assert!(matches!(
            store.apply(ZHANG.0, "张四", NOW + 2),
            Err(ApplyError::Already(_))
        ));
        assert!(matches!(
            store.apply("330106199203041023", "王六", NOW),
            Err(ApplyError::Ineligible(c)) if c[0].check == "identity"
        ));
        assert!(matches!(
            store.apply("11010519491231002X", "某人", NOW),
            Err(ApplyError::Ineligible(_))
        ));
        // After the 8th the next month's period takes the application.
        let later = store.apply(ZHANG.0, ZHANG.1, 1_796_745_600_000).unwrap();
        assert_eq!(later.period, "2027-01");
        // Reopened: both applications are there.
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.application(&a.code).unwrap().0, a);
        assert_eq!(again.application(&later.code).unwrap().1, Outcome::Pending);
    }

    #[test]
    fn the_draw_waits_for_the_close_and_is_what_the_verifier_recomputes() {
        let (_dir, store) = store();
        let mine = store.apply(ZHANG.0, ZHANG.1, NOW).unwrap();
        assert_eq!(
            store.draw("2026-12", NOW),
            Err(OfficeError::StillOpen("2026-12".into()))
        );
        assert!(store.draw_file("2026-12").is_none());
        assert_eq!(store.draw_due(NOW).unwrap(), Vec::<String>::new());
        // The scheduled time comes: the draw runs by itself.
        let period = store.period("2026-12").unwrap();
        assert_eq!(store.draw_due(period.draw_at).unwrap(), ["2026-12"]);
        let drawn = store.period("2026-12").unwrap();
        assert_eq!(drawn.status(period.draw_at), PeriodStatus::Drawn);
        let file = store.draw_file("2026-12").unwrap();
        assert_eq!(file.codes.len(), 25);
        assert_eq!(file.winners.len(), 5);
        assert_eq!(
            verify_lottery::verify(&period.commitment_file(), &file).unwrap(),
            file.winners
        );
        let outcome = store.application(&mine.code).unwrap().1;
        assert_eq!(outcome == Outcome::Won, file.winners.contains(&mine.code));
        // Drawing again changes nothing; late applications go to the next month.
        assert_eq!(store.draw("2026-12", period.draw_at + 1).unwrap(), drawn);
        assert_eq!(
            store.draw_due(period.draw_at + 2).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            store
                .apply(ZHANG.0, ZHANG.1, period.draw_at)
                .unwrap()
                .period,
            "2027-01"
        );
    }

    #[test]
    fn the_office_may_close_early_then_draw() {
        let (_dir, store) = store();
        store.open_period(NOW).unwrap();
        assert_eq!(
            store.close("2027-05", NOW),
            Err(OfficeError::NoPeriod("2027-05".into()))
        );
        let closed = store.close("2026-12", NOW + 10).unwrap();
        assert_eq!(closed.closed_early_at, Some(NOW + 10));
        assert_eq!(closed.commitment_file().closes_at, NOW + 10);
        // Applications now go to January's draw.
        assert_eq!(
            store.apply(ZHANG.0, ZHANG.1, NOW + 20).unwrap().period,
            "2027-01"
        );
        let drawn = store.draw("2026-12", NOW + 30).unwrap();
        assert_eq!(drawn.winners.as_ref().unwrap().len(), 5);
        assert_eq!(store.close("2026-12", NOW + 40).unwrap(), drawn);
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
