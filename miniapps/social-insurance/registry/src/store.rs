//! The records: insured persons keyed by identity number, the paying units
//! (参保单位) they were insured through, and the contribution rates, in one
//! JSON file, `{data dir}/insurance.json`, created from the bundled seed on
//! first start.
//!
//! A person's contributions are kept as the department's system keeps
//! them: spells of insurance through one unit (参保缴费期间), each with the
//! insurances it covers and its contribution base (缴费基数) from each
//! July's adjustment. A month's contribution is the base times each
//! insurance's employer and personal rate in force that month, in fen,
//! rounded half up. A spell that has not ended runs through the last
//! month levied: the month before the current one (Asia/Shanghai), since
//! a month is levied at its end. Months without a spell are a gap
//! (断缴), shown as such; unemployment benefit (失业保险金) paid in a gap
//! is kept beside the spells.
//!
//! The data never changes while the service runs (records reach it from
//! the levying system in production); the file is read once, checked, and
//! answered from memory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cityhost_backend::data_file::DataFile;
use serde::{Deserialize, Serialize};

use crate::month::Month;

/// The seed: units, rates and the demo population's records.
const SEED: &str = include_str!("../seed/insurance.json");

/// The data file's name in the data directory.
pub const DATA_FILE: &str = "insurance.json";

/// The five insurances of employee social insurance (职工社会保险).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Insurance {
    /// 企业职工基本养老保险.
    Pension,
    /// 职工基本医疗保险.
    Medical,
    /// 失业保险.
    Unemployment,
    /// 工伤保险.
    WorkInjury,
    /// 生育保险.
    Maternity,
}

impl Insurance {
    /// Every insurance, in the order certificates list them.
    pub const ALL: [Insurance; 5] = [
        Insurance::Pension,
        Insurance::Medical,
        Insurance::Unemployment,
        Insurance::WorkInjury,
        Insurance::Maternity,
    ];

    /// Its name as the department prints it.
    pub fn name(self) -> &'static str {
        match self {
            Insurance::Pension => "企业职工基本养老保险",
            Insurance::Medical => "职工基本医疗保险",
            Insurance::Unemployment => "失业保险",
            Insurance::WorkInjury => "工伤保险",
            Insurance::Maternity => "生育保险",
        }
    }
}

/// A rate in force from a month on, in basis points of the base (1600 =
/// 16 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// First month it applies to.
    pub from: Month,
    /// The unit's part (单位缴纳), basis points.
    pub employer_bp: u32,
    /// The person's part (个人缴纳), basis points.
    pub personal_bp: u32,
}

/// A paying unit (参保单位).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// Its Unified Social Credit Code (GB 32100-2015).
    pub uscc: String,
    /// Its registered name.
    pub name: String,
}

/// The contribution base from a month on (each July's adjustment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Base {
    /// First month it applies to.
    pub from: Month,
    /// 缴费基数, fen a month.
    pub base_fen: u64,
}

/// A spell of insurance through one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spell {
    /// The unit's USCC (a key of [`Data::units`]).
    pub unit: String,
    /// First month.
    pub from: Month,
    /// Last month; none while it lasts.
    #[serde(default)]
    pub to: Option<Month>,
    /// The insurances it covers.
    pub insurances: Vec<Insurance>,
    /// Its bases, by `from`; the first from the spell's first month.
    pub bases: Vec<Base>,
}

/// Unemployment benefit paid (失业保险金).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benefit {
    /// First month paid.
    pub from: Month,
    /// Last month paid.
    pub to: Month,
    /// Paid a month, fen.
    pub monthly_fen: u64,
}

/// An insured person's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// The name registered with the identity number.
    pub name: String,
    /// Spells, oldest first, not overlapping.
    pub spells: Vec<Spell>,
    /// Unemployment benefit paid, oldest first.
    #[serde(default)]
    pub benefits: Vec<Benefit>,
    /// Interest credited to the personal pension account so far (记账利息), fen.
    #[serde(default)]
    pub pension_interest_fen: u64,
    /// The medical account's balance (医保个人账户, after what was spent
    /// from it), fen.
    #[serde(default)]
    pub medical_account_fen: u64,
}

/// Everything the data file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Rates per insurance, by `from`.
    pub rates: BTreeMap<Insurance, Vec<Rate>>,
    /// Paying units by USCC.
    pub units: BTreeMap<String, Unit>,
    /// Insured persons by identity number (upper-case `X`).
    pub persons: BTreeMap<String, Person>,
}

/// One insurance's part of a month's contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// Which insurance.
    pub insurance: Insurance,
    /// The unit's part, fen.
    pub employer_fen: u64,
    /// The person's part, fen.
    pub personal_fen: u64,
}

/// One month's contribution (a row of 缴费明细).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthRecord {
    /// The month.
    pub month: Month,
    /// The paying unit.
    pub unit: Unit,
    /// The base, fen.
    pub base_fen: u64,
    /// Each insurance's part.
    pub parts: Vec<Part>,
    /// The unit's parts together, fen.
    pub employer_fen: u64,
    /// The person's parts together, fen.
    pub personal_fen: u64,
}

/// Where one insurance stands for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// Which insurance.
    pub insurance: Insurance,
    /// Its name.
    pub name: &'static str,
    /// `paying` (paid for the last month levied), `suspended` (paid
    /// before, not now: 暂停缴费) or `never`.
    pub status: &'static str,
    /// First month paid.
    pub first_month: Option<Month>,
    /// Last month paid.
    pub last_month: Option<Month>,
    /// Months paid (累计缴费月数).
    pub months: u32,
}

/// A person's account balances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accounts {
    /// The personal pension account (养老保险个人账户): every personal
    /// pension part paid plus interest credited, fen.
    pub pension_personal_fen: u64,
    /// Of which interest, fen.
    pub pension_interest_fen: u64,
    /// The medical account (医保个人账户), fen.
    pub medical_fen: u64,
}

/// A person's summary (参保信息).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The registered name.
    pub name: String,
    /// `paying` if any insurance is, else `suspended`.
    pub status: &'static str,
    /// The last month levied: what the summary is as of.
    pub as_of: Month,
    /// First month ever paid.
    pub first_month: Option<Month>,
    /// Last month paid.
    pub last_month: Option<Month>,
    /// Months of pension paid (累计缴费月数, what pension years count).
    pub paid_months: u32,
    /// Gaps between the first and last month paid, with no spell
    /// (断缴), oldest first.
    pub gaps: Vec<Gap>,
    /// The unit paying now, if any.
    pub current_unit: Option<Unit>,
    /// Each insurance.
    pub insurances: Vec<Standing>,
    /// Account balances.
    pub accounts: Accounts,
    /// Unemployment benefit paid.
    pub benefits: Vec<Benefit>,
}

/// Months without contributions between two spells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// First month missing.
    pub from: Month,
    /// Last month missing.
    pub to: Month,
    /// How many.
    pub months: u32,
}

/// A page of a person's months.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contributions {
    /// First month of the range asked for.
    pub from: Month,
    /// Last month of the range.
    pub to: Month,
    /// This page, from 1.
    pub page: u32,
    /// Months a page.
    pub per_page: u32,
    /// Months with a contribution in the range.
    pub total: u32,
    /// Pages in the range.
    pub pages: u32,
    /// This page's months, newest first.
    pub months: Vec<MonthRecord>,
    /// The unit's parts over the whole range, fen.
    pub employer_fen: u64,
    /// The person's parts over the whole range, fen.
    pub personal_fen: u64,
}

/// Why the service refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// No person has this identity number (无参保记录).
    #[error("no social insurance record for this identity number")]
    NoRecord,
    /// `from` is after `to`.
    #[error("from {from} is after to {to}")]
    Backwards {
        /// The range's start.
        from: Month,
        /// The range's end.
        to: Month,
    },
}

/// The largest page.
pub const MAX_PER_PAGE: u32 = 60;

/// The records, read once from the data file.
pub struct Store {
    data: Data,
}

impl Store {
    /// Opens the data in `dir`, creating the directory and, on first start,
    /// the data file from the bundled seed, and checks it ([`check`]).
    /// Errors: the file cannot be made or read, is not the data, or breaks
    /// a rule of [`check`] (it is left as it is).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let file: DataFile<Data> = DataFile::open(dir.join(DATA_FILE), SEED)?;
        let data = file.lock().clone();
        check(&data).map_err(|e| anyhow::anyhow!("{}: {e}", dir.join(DATA_FILE).display()))?;
        Ok(Self { data })
    }

    /// The rates, per insurance.
    pub fn rates(&self) -> &BTreeMap<Insurance, Vec<Rate>> {
        &self.data.rates
    }

    fn person(&self, id_number: &str) -> Result<&Person, RecordError> {
        self.data
            .persons
            .get(id_number)
            .ok_or(RecordError::NoRecord)
    }

    /// Every month `id_number` paid through `last` (the last month
    /// levied), oldest first.
    fn months(&self, person: &Person, last: Month) -> Vec<MonthRecord> {
        let mut out = Vec::new();
        for spell in &person.spells {
            let end = spell.to.map_or(last, |to| to.min(last));
            let Some(unit) = self.data.units.get(&spell.unit) else {
                continue;
            };
            let mut month = spell.from;
            while month <= end {
                out.push(self.month_record(spell, unit, month));
                month = month.next();
            }
        }
        out
    }

    fn month_record(&self, spell: &Spell, unit: &Unit, month: Month) -> MonthRecord {
        let base_fen = spell
            .bases
            .iter()
            .rev()
            .find(|b| b.from <= month)
            .map_or(0, |b| b.base_fen);
        let parts: Vec<Part> = Insurance::ALL
            .into_iter()
            .filter(|i| spell.insurances.contains(i))
            .map(|insurance| {
                let rate = self
                    .data
                    .rates
                    .get(&insurance)
                    .and_then(|rates| rates.iter().rev().find(|r| r.from <= month));
                let (employer_bp, personal_bp) =
                    rate.map_or((0, 0), |r| (r.employer_bp, r.personal_bp));
                Part {
                    insurance,
                    employer_fen: share(base_fen, employer_bp),
                    personal_fen: share(base_fen, personal_bp),
                }
            })
            .collect();
        MonthRecord {
            month,
            unit: unit.clone(),
            base_fen,
            employer_fen: parts.iter().map(|p| p.employer_fen).sum(),
            personal_fen: parts.iter().map(|p| p.personal_fen).sum(),
            parts,
        }
    }

    /// The summary of `id_number` as of `now` (UTC ms).
    pub fn summary(&self, id_number: &str, now: u64) -> Result<Summary, RecordError> {
        let person = self.person(id_number)?;
        let as_of = Month::of_ms(now).previous();
        let months = self.months(person, as_of);
        let insurances: Vec<Standing> = Insurance::ALL
            .into_iter()
            .map(|insurance| {
                let paid: Vec<Month> = months
                    .iter()
                    .filter(|m| m.parts.iter().any(|p| p.insurance == insurance))
                    .map(|m| m.month)
                    .collect();
                let last_month = paid.last().copied();
                Standing {
                    insurance,
                    name: insurance.name(),
                    status: match last_month {
                        None => "never",
                        Some(last) if last == as_of => "paying",
                        Some(_) => "suspended",
                    },
                    first_month: paid.first().copied(),
                    last_month,
                    months: paid.len() as u32,
                }
            })
            .collect();
        let paid_months = insurances[0].months;
        let paid: BTreeSet<Month> = months.iter().map(|m| m.month).collect();
        let mut gaps = Vec::new();
        let mut previous: Option<Month> = None;
        for &month in &paid {
            if let Some(p) = previous
                && month > p.next()
            {
                let (from, to) = (p.next(), month.previous());
                gaps.push(Gap {
                    from,
                    to,
                    months: from.months_to(to),
                });
            }
            previous = Some(month);
        }
        let current_unit = months
            .last()
            .filter(|m| m.month == as_of)
            .map(|m| m.unit.clone());
        let pension_paid: u64 = months
            .iter()
            .flat_map(|m| &m.parts)
            .filter(|p| p.insurance == Insurance::Pension)
            .map(|p| p.personal_fen)
            .sum();
        Ok(Summary {
            name: person.name.clone(),
            status: if insurances.iter().any(|s| s.status == "paying") {
                "paying"
            } else {
                "suspended"
            },
            as_of,
            first_month: months.first().map(|m| m.month),
            last_month: months.last().map(|m| m.month),
            paid_months,
            gaps,
            current_unit,
            insurances,
            accounts: Accounts {
                pension_personal_fen: pension_paid + person.pension_interest_fen,
                pension_interest_fen: person.pension_interest_fen,
                medical_fen: person.medical_account_fen,
            },
            benefits: person.benefits.clone(),
        })
    }

    /// Page `page` (from 1) of `per_page` months of `id_number` within
    /// `from` and `to` (both counted; by default the first month paid and
    /// the last month levied), newest first, as of `now` (UTC ms).
    pub fn contributions(
        &self,
        id_number: &str,
        from: Option<Month>,
        to: Option<Month>,
        page: u32,
        per_page: u32,
        now: u64,
    ) -> Result<Contributions, RecordError> {
        let person = self.person(id_number)?;
        let as_of = Month::of_ms(now).previous();
        let months = self.months(person, as_of);
        let from = from.unwrap_or_else(|| months.first().map_or(as_of, |m| m.month));
        let to = to.unwrap_or(as_of);
        if from > to {
            return Err(RecordError::Backwards { from, to });
        }
        let mut within: Vec<MonthRecord> = months
            .into_iter()
            .filter(|m| (from..=to).contains(&m.month))
            .collect();
        within.reverse();
        let total = within.len() as u32;
        let per_page = per_page.clamp(1, MAX_PER_PAGE);
        let employer_fen = within.iter().map(|m| m.employer_fen).sum();
        let personal_fen = within.iter().map(|m| m.personal_fen).sum();
        let skip = (page.max(1) - 1) as usize * per_page as usize;
        Ok(Contributions {
            from,
            to,
            page: page.max(1),
            per_page,
            total,
            pages: total.div_ceil(per_page),
            months: within
                .into_iter()
                .skip(skip)
                .take(per_page as usize)
                .collect(),
            employer_fen,
            personal_fen,
        })
    }
}

/// `bp` basis points of `base_fen`, rounded half up.
pub fn share(base_fen: u64, bp: u32) -> u64 {
    (base_fen * u64::from(bp) + 5_000) / 10_000
}

/// The rules the data must keep: every insurance has rates, the first from
/// 1990-01 at the latest; every spell names a known unit, covers at least
/// one insurance, has bases by month with the first from its first month,
/// ends (if it does) no earlier than it starts, and starts after the
/// previous spell ends; benefits run forwards. Errors name the person (by
/// the masked number) and what is wrong.
pub fn check(data: &Data) -> Result<(), String> {
    for insurance in Insurance::ALL {
        let rates = data
            .rates
            .get(&insurance)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| format!("no rates for {insurance:?}"))?;
        if !rates.windows(2).all(|w| w[0].from < w[1].from) {
            return Err(format!("rates of {insurance:?} are not by month"));
        }
    }
    for (uscc, unit) in &data.units {
        if &unit.uscc != uscc {
            return Err(format!("unit {uscc} is keyed by another code"));
        }
    }
    for (number, person) in &data.persons {
        let who = crate::idcard::mask(number);
        let mut previous_end: Option<Month> = None;
        for (n, spell) in person.spells.iter().enumerate() {
            let fault = |what: &str| format!("{who} spell {n}: {what}");
            if !data.units.contains_key(&spell.unit) {
                return Err(fault("unknown unit"));
            }
            if spell.insurances.is_empty() {
                return Err(fault("covers no insurance"));
            }
            if spell.bases.first().map(|b| b.from) != Some(spell.from)
                || !spell.bases.windows(2).all(|w| w[0].from < w[1].from)
            {
                return Err(fault("bases must start with the spell and go by month"));
            }
            if spell.to.is_some_and(|to| to < spell.from) {
                return Err(fault("ends before it starts"));
            }
            match previous_end {
                Some(end) if spell.from <= end => return Err(fault("overlaps the one before")),
                _ => {}
            }
            if n + 1 < person.spells.len() && spell.to.is_none() {
                return Err(fault("only the last spell may be open"));
            }
            previous_end = spell.to;
        }
        if person.benefits.iter().any(|b| b.to < b.from) {
            return Err(format!("{who}: a benefit ends before it starts"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04 12:00 Shanghai: the last month levied is 2026-11.
    const NOW: u64 = 1_796_356_800_000;
    const ZHANG: &str = "33010619900101123X";
    const WANG: &str = "330106199203041023";

    fn store() -> Store {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path()).unwrap()
    }

    fn month(text: &str) -> Month {
        Month::parse(text).unwrap()
    }

    #[test]
    fn the_seed_keeps_the_rules() {
        let data: Data = serde_json::from_str(SEED).unwrap();
        check(&data).unwrap();
        for n in data.persons.keys() {
            crate::idcard::validate(n, "20261204").unwrap();
        }
        for uscc in data.units.keys() {
            assert_eq!(uscc.len(), 18, "{uscc}");
        }
    }

    #[test]
    fn a_month_is_the_base_times_each_rate() {
        let s = store();
        let page = s
            .contributions(ZHANG, Some(month("2026-11")), None, 1, 12, NOW)
            .unwrap();
        assert_eq!(page.total, 1);
        let m = &page.months[0];
        assert_eq!(m.month, month("2026-11"));
        let rates = s.rates();
        for part in &m.parts {
            let rate = rates[&part.insurance].last().unwrap();
            assert_eq!(part.employer_fen, share(m.base_fen, rate.employer_bp));
            assert_eq!(part.personal_fen, share(m.base_fen, rate.personal_bp));
        }
        assert_eq!(m.parts.len(), 5);
        assert_eq!(
            m.employer_fen,
            m.parts.iter().map(|p| p.employer_fen).sum::<u64>()
        );
        assert_eq!(share(1_234_567, 800), 98_765);
        assert_eq!(share(1, 5_000), 1, "half a fen rounds up");
    }

    #[test]
    fn a_gap_is_found_and_counted_out_of_the_years() {
        let s = store();
        let zhang = s.summary(ZHANG, NOW).unwrap();
        assert_eq!(zhang.as_of, month("2026-11"));
        assert_eq!(zhang.status, "paying");
        assert_eq!(zhang.gaps.len(), 1, "{:?}", zhang.gaps);
        let gap = &zhang.gaps[0];
        assert_eq!(
            (gap.from, gap.to, gap.months),
            (month("2018-03"), month("2018-05"), 3)
        );
        let span = zhang.first_month.unwrap().months_to(zhang.as_of);
        assert_eq!(zhang.paid_months, span - 3);
        assert_eq!(zhang.benefits.len(), 1);
        assert!(zhang.current_unit.is_some());
        // The pension account is what was paid into it plus interest.
        let all = s.contributions(ZHANG, None, None, 1, 60, NOW).unwrap();
        assert_eq!(all.total, zhang.paid_months);
        let pages = s
            .contributions(ZHANG, None, None, 1, MAX_PER_PAGE, NOW)
            .unwrap()
            .pages;
        let mut personal_pension = 0;
        for page in 1..=pages {
            let p = s
                .contributions(ZHANG, None, None, page, MAX_PER_PAGE, NOW)
                .unwrap();
            personal_pension += p
                .months
                .iter()
                .flat_map(|m| &m.parts)
                .filter(|p| p.insurance == Insurance::Pension)
                .map(|p| p.personal_fen)
                .sum::<u64>();
        }
        assert_eq!(
            zhang.accounts.pension_personal_fen,
            personal_pension + zhang.accounts.pension_interest_fen
        );
    }

    #[test]
    fn pages_run_newest_first_and_ranges_are_checked() {
        let s = store();
        let p1 = s
            .contributions(
                WANG,
                Some(month("2020-01")),
                Some(month("2021-12")),
                1,
                5,
                NOW,
            )
            .unwrap();
        // 王五 drew unemployment benefit 2020-07..2021-03: nine months missing.
        assert_eq!(p1.total, 24 - 9);
        assert_eq!(p1.pages, 3);
        assert_eq!(p1.months[0].month, month("2021-12"));
        assert!(p1.months.windows(2).all(|w| w[0].month > w[1].month));
        let p3 = s
            .contributions(
                WANG,
                Some(month("2020-01")),
                Some(month("2021-12")),
                3,
                5,
                NOW,
            )
            .unwrap();
        assert_eq!(p3.months.len(), 5);
        assert_eq!(p3.months.last().unwrap().month, month("2020-01"));
        let beyond = s
            .contributions(
                WANG,
                Some(month("2020-01")),
                Some(month("2021-12")),
                9,
                5,
                NOW,
            )
            .unwrap();
        assert!(beyond.months.is_empty());
        assert_eq!(
            s.contributions(
                WANG,
                Some(month("2021-01")),
                Some(month("2020-01")),
                1,
                5,
                NOW
            ),
            Err(RecordError::Backwards {
                from: month("2021-01"),
                to: month("2020-01")
            })
        );
        let wang = s.summary(WANG, NOW).unwrap();
        assert_eq!(
            wang.current_unit.as_ref().unwrap().uscc,
            "91330110MA2B0DE48Y"
        );
        assert_eq!(p3.months[0].unit.uscc, "91330105MA28X1LN2U");
    }

    #[test]
    fn unknown_people_have_no_record_and_months_stop_at_the_last_levied() {
        let s = store();
        assert_eq!(
            s.summary("440304199511200034", NOW).map(|_| ()),
            Err(RecordError::NoRecord)
        );
        let future = s
            .contributions(
                ZHANG,
                Some(month("2026-12")),
                Some(month("2027-06")),
                1,
                12,
                NOW,
            )
            .unwrap();
        assert_eq!(future.total, 0, "December is levied at its end");
    }

    #[test]
    fn a_broken_file_is_refused_by_name() {
        let mut data: Data = serde_json::from_str(SEED).unwrap();
        let zhang = data.persons.get_mut(ZHANG).unwrap();
        let end = zhang.spells[0].to.unwrap();
        zhang.spells[1].from = end;
        zhang.spells[1].bases[0].from = end;
        let e = check(&data).unwrap_err();
        assert!(
            e.contains("3301**********123X") && e.contains("overlaps"),
            "{e}"
        );
    }
}
