//! Percentiles of a set of measured durations.

use std::time::Duration;

use serde::Serialize;

/// Percentiles of one measurement, in microseconds, with the number of
/// samples behind them.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Samples measured.
    pub n: usize,
    /// Median, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// 99.9th percentile, µs.
    pub p999_us: f64,
    /// CPU time of the whole process per sample, µs, where measured
    /// ([`process_cpu`]): unlike the percentiles it hardly moves when
    /// other processes compete for the cores.
    pub cpu_us: Option<f64>,
}

impl Summary {
    /// Summarises `samples` (nearest-rank percentiles). Panics on an empty set.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1].as_nanos() as f64 / 1_000.0
        };
        Self {
            n: samples.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            p999_us: at(0.999),
            cpu_us: None,
        }
    }

    /// The same with the process CPU time spent over all samples.
    pub fn with_cpu(mut self, cpu: Duration) -> Self {
        self.cpu_us = Some(cpu.as_nanos() as f64 / 1_000.0 / self.n as f64);
        self
    }
}

/// CPU time this process has run so far, all threads (the sum of
/// `/proc/self/task/*/schedstat`, Linux; ns resolution). Zero elsewhere.
pub fn process_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

/// CPU time process `pid` has used so far, user and system, all threads,
/// including those that have ended (`utime + stime` of `/proc/{pid}/stat`,
/// Linux, in clock ticks of 10 ms, `USER_HZ` = 100). `None` elsewhere or
/// once the process is gone.
pub fn child_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces;
    // utime and stime are fields 14 and 15, the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// The median of `values` (the lower one of an even count); `None` when
/// empty.
pub fn median_index(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(values.len().saturating_sub(1) / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples = (1..=1000).map(Duration::from_micros).collect();
        let s = Summary::of(samples);
        assert_eq!(s.n, 1000);
        assert_eq!(s.p50_us, 500.0);
        assert_eq!(s.p99_us, 990.0);
        assert_eq!(s.p999_us, 999.0);
    }

    #[test]
    fn median_round_and_own_cpu() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), Some(2));
        assert_eq!(median_index(&[4.0, 1.0, 3.0, 2.0]), Some(3));
        assert_eq!(median_index(&[]), None);
        let own = child_cpu(std::process::id()).expect("/proc/self/stat");
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {}
        assert!(child_cpu(std::process::id()).unwrap() > own);
    }
}
