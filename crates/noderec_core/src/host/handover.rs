//! How long the JavaScript thread takes to hand a buffer to the writer: a
//! log2 histogram, read by the metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Log2 buckets of the time (µs) the JavaScript thread spends handing a
/// buffer to the writer (copy + send, waits on a full channel included).
static HANDOVER: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];

/// Counts one handover of `us` microseconds.
pub fn note_handover(us: u64) {
    let b = (64 - us.leading_zeros() as usize).min(31);
    HANDOVER[b].fetch_add(1, Ordering::Relaxed);
}

/// Clears the handover histogram (a new session).
pub fn reset_handover() {
    for b in &HANDOVER {
        b.store(0, Ordering::Relaxed);
    }
}

/// `(count, p50, p99)` of the handovers, in µs (upper bounds of log2 buckets).
pub fn handover_quantiles() -> (u64, u64, u64) {
    let counts: Vec<u64> = HANDOVER.iter().map(|b| b.load(Ordering::Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (0, 0, 0);
    }
    let q = |f: f64| -> u64 {
        let want = ((total as f64) * f).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return if i == 0 { 0 } else { 1u64 << i };
            }
        }
        1u64 << 31
    };
    (total, q(0.5), q(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_log_buckets() {
        reset_handover();
        for _ in 0..99 {
            note_handover(3);
        }
        note_handover(5000);
        let (n, p50, p99) = handover_quantiles();
        assert_eq!(n, 100);
        assert_eq!(p50, 4);
        assert_eq!(p99, 4);
        note_handover(5000);
        assert_eq!(handover_quantiles().2, 8192);
    }
}
