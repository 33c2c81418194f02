//! How often scores may be looked up: at most [`PER_CITIZEN`] lookups by
//! one citizen (identity number) and [`PER_EXAM_NUMBER`] of one exam
//! number in any hour ([`WINDOW_MS`], sliding). Every lookup answered
//! counts — released or not, found or not — so that no one tries exam
//! numbers in bulk; a refused one does not. The counts are kept in memory:
//! a restart of the service starts them afresh.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Lookups one citizen may make in [`WINDOW_MS`].
pub const PER_CITIZEN: usize = 10;
/// Lookups of one exam number in [`WINDOW_MS`], by anyone.
pub const PER_EXAM_NUMBER: usize = 20;
/// The window the lookups are counted in: one hour.
pub const WINDOW_MS: u64 = 3_600_000;

/// Which limit refused a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// [`PER_CITIZEN`].
    Citizen,
    /// [`PER_EXAM_NUMBER`].
    ExamNumber,
}

/// A refused lookup: the limit reached and when the next is allowed (UTC
/// ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The limit reached.
    pub scope: Scope,
    /// Lookups allowed per window under it.
    pub limit: usize,
    /// When the oldest counted lookup leaves the window, UTC ms.
    pub retry_at: u64,
}

#[derive(Default)]
struct Counts {
    citizens: HashMap<String, VecDeque<u64>>,
    exam_numbers: HashMap<String, VecDeque<u64>>,
}

/// The lookup counts.
#[derive(Default)]
pub struct Limits {
    counts: Mutex<Counts>,
}

/// Drops the times of `times` that left the window; whether `limit` more
/// would be too many, and if so when the next is allowed.
fn full(times: &mut VecDeque<u64>, limit: usize, now: u64) -> Option<u64> {
    while times.front().is_some_and(|t| t + WINDOW_MS <= now) {
        times.pop_front();
    }
    (times.len() >= limit).then(|| times[times.len() - limit] + WINDOW_MS)
}

impl Limits {
    /// Counts a lookup by `citizen` of `exam_number` at `now`, or refuses
    /// it (uncounted) if either limit is reached — the citizen's first.
    pub fn count(&self, citizen: &str, exam_number: &str, now: u64) -> Result<(), Refused> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let counts = &mut *counts;
        // Forget whoever has nothing left in the window, now and then.
        if counts.citizens.len() + counts.exam_numbers.len() > 100_000 {
            for map in [&mut counts.citizens, &mut counts.exam_numbers] {
                map.retain(|_, t| t.back().is_some_and(|t| t + WINDOW_MS > now));
            }
        }
        let mine = counts.citizens.entry(citizen.to_string()).or_default();
        if let Some(retry_at) = full(mine, PER_CITIZEN, now) {
            return Err(Refused {
                scope: Scope::Citizen,
                limit: PER_CITIZEN,
                retry_at,
            });
        }
        let its = counts
            .exam_numbers
            .entry(exam_number.to_string())
            .or_default();
        if let Some(retry_at) = full(its, PER_EXAM_NUMBER, now) {
            return Err(Refused {
                scope: Scope::ExamNumber,
                limit: PER_EXAM_NUMBER,
                retry_at,
            });
        }
        its.push_back(now);
        mine.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_citizen_gets_ten_lookups_an_hour() {
        let limits = Limits::default();
        for i in 0..PER_CITIZEN as u64 {
            let number = format!("2633010600{i:04}");
            limits.count("a", &number, 1_000 + i).unwrap();
        }
        let refused = limits.count("a", "26330106009999", 5_000).unwrap_err();
        assert_eq!(
            refused,
            Refused {
                scope: Scope::Citizen,
                limit: PER_CITIZEN,
                retry_at: 1_000 + WINDOW_MS
            }
        );
        // Another citizen is not held up; the first is, until the first
        // lookup leaves the window.
        limits.count("b", "26330106009999", 5_000).unwrap();
        assert!(limits.count("a", "x", 1_000 + WINDOW_MS - 1).is_err());
        limits.count("a", "x", 1_000 + WINDOW_MS).unwrap();
        assert!(limits.count("a", "x", 1_000 + WINDOW_MS).is_err());
    }

    #[test]
    fn an_exam_number_gets_twenty_lookups_an_hour_from_everyone() {
        let limits = Limits::default();
        for i in 0..PER_EXAM_NUMBER {
            limits
                .count(&format!("c{i}"), "26330106000118", 10)
                .unwrap();
        }
        let refused = limits.count("d", "26330106000118", 20).unwrap_err();
        assert_eq!(refused.scope, Scope::ExamNumber);
        assert_eq!(refused.retry_at, 10 + WINDOW_MS);
        // The refusal was not counted against d.
        for _ in 0..PER_CITIZEN {
            limits.count("d", "26330106000031", 30).unwrap();
        }
    }
}
