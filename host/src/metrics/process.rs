//! The process's own figures under the names Prometheus' client libraries
//! give them (`process_*`), read from Linux's `/proc/self` at each scrape;
//! absent where `/proc` is not there.

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The kernel's page size on x86-64 (and aarch64's default), bytes.
const PAGE_BYTES: u64 = 4096;

/// Clock ticks per second of `/proc/self/stat`'s CPU times (`USER_HZ`,
/// 100 on Linux whatever the kernel's own tick).
const USER_HZ: f64 = 100.0;

/// This process's resident set, bytes (`/proc/self/statm`'s second field
/// times the page size); `None` where `/proc` is not there.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_BYTES)
}

/// User plus system CPU time of every thread, s (`/proc/self/stat` fields
/// 14 and 15, counted after the command name, which may hold spaces).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    // Fields from the third (state) on: utime is the 14th field overall.
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / USER_HZ)
}

/// Open file descriptors (entries of `/proc/self/fd`).
fn open_fds() -> Option<i64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(entries.count() as i64)
}

/// Threads of the process (`/proc/self/task`).
fn threads() -> Option<i64> {
    let entries = std::fs::read_dir("/proc/self/task").ok()?;
    Some(entries.count() as i64)
}

/// The collector of the `process_*` series.
#[derive(Debug)]
pub(super) struct Process {
    /// When the metrics were made, UTC s since the epoch: the host's start.
    started: f64,
}

impl Process {
    pub(super) fn new() -> Self {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Self { started }
    }
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(cpu) = cpu_seconds() {
            let counter = ConstCounter::new(cpu);
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time spent by the host",
                None,
                counter.metric_type(),
            )?;
            counter.encode(metric)?;
        }
        let resident = resident_bytes().map(|b| i64::try_from(b).unwrap_or(i64::MAX));
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                resident,
            ),
            ("process_open_fds", "Open file descriptors", open_fds()),
            ("process_threads", "Threads of the host process", threads()),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(value);
                let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
                gauge.encode(metric)?;
            }
        }
        let start = ConstGauge::new(self.started);
        let metric = encoder.encode_descriptor(
            "process_start_time_seconds",
            "When the host started, seconds since the Unix epoch (UTC)",
            None,
            start.metric_type(),
        )?;
        start.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_figures_are_read_from_proc() {
        assert!(resident_bytes().unwrap() > 1 << 20);
        assert!(open_fds().unwrap() >= 3);
        assert!(threads().unwrap() >= 1);
        // Spin a little so the process has CPU time to show.
        let started = std::time::Instant::now();
        let mut n = 0u64;
        while started.elapsed().as_millis() < 50 {
            n = n.wrapping_add(1);
        }
        assert!(n > 0);
        assert!(cpu_seconds().unwrap() > 0.0);
    }
}
