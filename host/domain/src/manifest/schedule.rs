//! `[schedule]` and `[events]`: the app events a manifest declares.
//!
//! ```toml
//! permissions = ["schedule", "notify"]
//!
//! [[schedule.cron]]
//! name = "day-before-reminder"
//! at = "0 9 * * *"        # 09:00 every day, China Standard Time
//!
//! [events]
//! from-department = ["bill-issued"]
//! ```
//!
//! A cron schedule is 5 fields (minute hour day-of-month month
//! day-of-week; `*`, lists, ranges, steps, `JAN`–`DEC`, `SUN`–`SAT`, as in
//! Vixie cron: a day matches if day-of-month *or* day-of-week does when
//! both are restricted), read in `Asia/Shanghai` time. China has kept no
//! daylight saving time since 1991, so that zone is UTC+8 for every time
//! the host schedules; fire times are stored in UTC. Parsing is
//! `croner`'s, with seconds and years refused.
//!
//! `[events] from-department` names the events the department's own
//! system may send to the app (`POST
//! /api/departments/{uscc}/apps/{app}/events`); any other name is refused
//! there. Names (of schedules, events and timers) are
//! [`is_event_name`].

use std::str::FromStr;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};

/// Cron schedules one app may declare.
pub const MAX_CRON_SCHEDULES: usize = 8;
/// Department events one app may declare.
pub const MAX_DEPARTMENT_EVENTS: usize = 32;
/// China Standard Time (`Asia/Shanghai`), seconds east of UTC.
pub const CHINA_OFFSET_SECS: i32 = 8 * 3600;

/// Whether `name` may name an event, a schedule or a timer: 1–64
/// characters of `a-z`, `0-9` and `-`, starting with a letter.
pub fn is_event_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `[schedule]`: the app's cron schedules (permission `schedule`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    /// `[[schedule.cron]]` entries (at most [`MAX_CRON_SCHEDULES`]).
    #[serde(default)]
    pub cron: Vec<CronEntry>,
}

/// One `[[schedule.cron]]` entry: event `cron.{name}` at the times `at`
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronEntry {
    /// The schedule's name ([`is_event_name`]), unique in the manifest.
    pub name: String,
    /// 5-field cron expression in `Asia/Shanghai` time.
    pub at: String,
}

/// `[events]`: what the department's own system may send the app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventsSection {
    /// Event names ([`is_event_name`], at most [`MAX_DEPARTMENT_EVENTS`]),
    /// delivered to the app as `department.{name}`.
    #[serde(default)]
    pub from_department: Vec<String>,
}

impl EventsSection {
    /// Checks the names. Errors: `(field, reason)`, e.g.
    /// `events.from-department[1]`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.from_department.len() > MAX_DEPARTMENT_EVENTS {
            return Err((
                "events.from-department".into(),
                format!("list at most {MAX_DEPARTMENT_EVENTS} events"),
            ));
        }
        for (i, name) in self.from_department.iter().enumerate() {
            if !is_event_name(name) {
                return Err((format!("events.from-department[{i}]"), NAME_RULE.into()));
            }
            if self.from_department[..i].contains(name) {
                return Err((
                    format!("events.from-department[{i}]"),
                    format!("`{name}` is listed twice"),
                ));
            }
        }
        Ok(())
    }

    /// Whether the department may send event `name`.
    pub fn accepts(&self, name: &str) -> bool {
        self.from_department.iter().any(|n| n == name)
    }
}

const NAME_RULE: &str = "use 1-64 characters of a-z, 0-9 and '-', starting with a letter";

/// A checked cron schedule.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    /// The schedule's name.
    pub name: String,
    cron: Cron,
}

impl CronSchedule {
    /// Parses a 5-field expression. Errors: what is wrong with it.
    pub fn parse(name: &str, at: &str) -> Result<CronSchedule, String> {
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        if at.split_whitespace().count() != 5 {
            return Err(
                "use 5 fields: minute hour day-of-month month day-of-week (Asia/Shanghai)".into(),
            );
        }
        for (text, field) in at.split_whitespace().zip(FIELDS) {
            field.check(text)?;
        }
        let cron = parser
            .parse(at)
            .map_err(|e| format!("not a cron expression: {e}"))?;
        Ok(CronSchedule {
            name: name.to_string(),
            cron,
        })
    }

    /// The first fire time strictly after `after_ms` (UTC ms), in UTC ms;
    /// `None` if there is none (a date that never comes, such as 31 Feb).
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        let offset = chrono::FixedOffset::east_opt(CHINA_OFFSET_SECS)?;
        let after = chrono::DateTime::from_timestamp_millis(i64::try_from(after_ms).ok()?)?
            .with_timezone(&offset);
        let next = self.cron.find_next_occurrence(&after, false).ok()?;
        u64::try_from(next.timestamp_millis()).ok()
    }
}

/// One of the five fields of a cron expression, with its numeric range.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
}

/// The fields in order (day-of-week 0 and 7 are both Sunday).
const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
    },
    Field {
        name: "day-of-week",
        min: 0,
        max: 7,
    },
];

impl Field {
    /// Checks what a parser would report only vaguely, naming this field:
    /// empty list entries, a step below 1, numbers out of range. Names
    /// (`JAN`, `MON`) and the day-field extensions (`L`, `W`, `#`) are left
    /// to the parser.
    fn check(&self, text: &str) -> Result<(), String> {
        let Field { name, min, max } = *self;
        for part in text.split(',') {
            if part.is_empty() {
                return Err(format!("{name}: `{text}` has an empty list entry"));
            }
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (part, None),
            };
            if let Some(step) = step {
                match step.parse::<u32>() {
                    Ok(1..) => {}
                    _ => {
                        return Err(format!(
                            "{name}: the step in `{part}` must be a whole number of at least 1"
                        ));
                    }
                }
            }
            for number in range.split('-') {
                if let Ok(n) = number.parse::<u32>()
                    && !(min..=max).contains(&n)
                {
                    return Err(format!("{name}: {n} is out of range; use {min}-{max}"));
                }
            }
        }
        Ok(())
    }
}

impl ScheduleSection {
    /// Checks the entries and parses their expressions. Errors: `(field,
    /// reason)`, e.g. `schedule.cron[0].at`.
    pub fn schedules(&self) -> Result<Vec<CronSchedule>, (String, String)> {
        if self.cron.len() > MAX_CRON_SCHEDULES {
            return Err((
                "schedule.cron".into(),
                format!("declare at most {MAX_CRON_SCHEDULES} schedules"),
            ));
        }
        let mut schedules: Vec<CronSchedule> = Vec::with_capacity(self.cron.len());
        for (i, entry) in self.cron.iter().enumerate() {
            if !is_event_name(&entry.name) {
                return Err((format!("schedule.cron[{i}].name"), NAME_RULE.into()));
            }
            if schedules.iter().any(|s| s.name == entry.name) {
                return Err((
                    format!("schedule.cron[{i}].name"),
                    format!("`{}` is declared twice", entry.name),
                ));
            }
            let schedule = CronSchedule::parse(&entry.name, &entry.at)
                .map_err(|e| (format!("schedule.cron[{i}].at"), e))?;
            // An expression that matches no date (`0 0 30 2 *`) would never
            // fire: a mistake to report, not a schedule.
            if schedule.next_after(0).is_none() {
                return Err((format!("schedule.cron[{i}].at"), "matches no date".into()));
            }
            schedules.push(schedule);
        }
        Ok(schedules)
    }
}

impl FromStr for CronSchedule {
    type Err = String;

    /// Parses an unnamed expression (for tools that check one).
    fn from_str(at: &str) -> Result<Self, String> {
        CronSchedule::parse("", at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04 00:00:00 UTC = 08:00 in Shanghai.
    const DEC_4_UTC_MIDNIGHT: u64 = 1_796_342_400_000;
    const HOUR: u64 = 3_600_000;

    #[test]
    fn fire_times_are_read_in_china_standard_time_and_given_in_utc() {
        let nine = CronSchedule::parse("r", "0 9 * * *").unwrap();
        // 09:00 Shanghai is 01:00 UTC, the same day.
        assert_eq!(
            nine.next_after(DEC_4_UTC_MIDNIGHT),
            Some(DEC_4_UTC_MIDNIGHT + HOUR)
        );
        // Strictly after: from the fire time itself, the next day's.
        assert_eq!(
            nine.next_after(DEC_4_UTC_MIDNIGHT + HOUR),
            Some(DEC_4_UTC_MIDNIGHT + 25 * HOUR)
        );
        // Midnight Shanghai is 16:00 UTC the day before.
        let midnight = CronSchedule::parse("m", "0 0 * * *").unwrap();
        assert_eq!(
            midnight.next_after(DEC_4_UTC_MIDNIGHT),
            Some(DEC_4_UTC_MIDNIGHT + 16 * HOUR)
        );
        // Mondays at 08:30: 2026-12-07 is a Monday.
        let monday = CronSchedule::parse("w", "30 8 * * MON").unwrap();
        assert_eq!(
            monday.next_after(DEC_4_UTC_MIDNIGHT),
            Some(DEC_4_UTC_MIDNIGHT + 3 * 24 * HOUR + HOUR / 2)
        );
    }

    #[test]
    fn bad_schedules_name_their_entry() {
        let section = |name: &str, at: &str| ScheduleSection {
            cron: vec![
                CronEntry {
                    name: "ok".into(),
                    at: "*/5 * * * *".into(),
                },
                CronEntry {
                    name: name.into(),
                    at: at.into(),
                },
            ],
        };
        let field = |s: ScheduleSection| s.schedules().unwrap_err().0;
        assert_eq!(field(section("Bad", "0 9 * * *")), "schedule.cron[1].name");
        assert_eq!(field(section("ok", "0 9 * * *")), "schedule.cron[1].name");
        for at in [
            "0 9 * *",
            "0 0 9 * * *",
            "61 * * * *",
            "0 9 * * * 2027",
            "0 0 30 2 *",
            "",
            "1,,2 * * * *",
            "*/0 * * * *",
        ] {
            assert_eq!(field(section("two", at)), "schedule.cron[1].at", "{at}");
        }
        // Each refusal names the field and the rule.
        for (at, says) in [
            ("60 * * * *", "minute: 60 is out of range; use 0-59"),
            ("0 24 * * *", "hour: 24 is out of range; use 0-23"),
            ("0 0 0 * *", "day-of-month: 0 is out of range; use 1-31"),
            ("0 0 1 13 *", "month: 13 is out of range; use 1-12"),
            ("0 0 * * 8", "day-of-week: 8 is out of range; use 0-7"),
            ("1,,2 * * * *", "minute: `1,,2` has an empty list entry"),
            ("*/0 * * * *", "minute: the step in `*/0` must be"),
        ] {
            let reason = section("two", at).schedules().unwrap_err().1;
            assert!(reason.contains(says), "{at}: {reason}");
        }
        assert!(
            section("two", "0 9 1-5 JAN-MAR MON-FRI")
                .schedules()
                .is_ok()
        );
    }

    #[test]
    fn department_events_are_checked_names() {
        let events = |names: &[&str]| EventsSection {
            from_department: names.iter().map(|s| s.to_string()).collect(),
        };
        assert!(events(&["bill-issued", "slot-released"]).validate().is_ok());
        assert_eq!(
            events(&["bill-issued", "Bill"]).validate().unwrap_err().0,
            "events.from-department[1]"
        );
        assert_eq!(
            events(&["a", "a"]).validate().unwrap_err().0,
            "events.from-department[1]"
        );
        assert!(events(&["bill-issued"]).accepts("bill-issued"));
        assert!(!events(&["bill-issued"]).accepts("bill"));
    }
}
