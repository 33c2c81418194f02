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
}
