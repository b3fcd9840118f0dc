//! De-duplication of what the fd mirror reads against what the stream
//! proxies already captured.
//!
//! The JavaScript proxies announce every chunk a standard stream is about to
//! write (`expect`) before writing it. The mirror reads the same bytes back
//! from its pipe, interleaved with writes that bypassed the streams
//! (`fs.writeSync(1, ..)`, addons, children). `feed` consumes the announced
//! bytes and returns only the rest. Announced bytes that never arrive (a
//! write that failed) are skipped over when a later announcement is found,
//! and dropped after `STALE`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Announcements older than this that have not started to arrive are dropped.
pub const STALE: Duration = Duration::from_secs(30);
/// At most this many announced bytes are kept (oldest dropped first).
pub const MAX_BYTES: usize = 16 << 20;
/// How many announcements past the head are tried when the head does not match.
const LOOKAHEAD: usize = 4;
/// Bytes that must agree before an announcement is taken to start mid-read.
const MIN_MATCH: usize = 8;

struct Expect {
    bytes: Vec<u8>,
    off: usize,
    at: Instant,
}

/// Announced bytes of one mirrored channel, in write order.
#[derive(Default)]
pub struct Matcher {
    q: VecDeque<Expect>,
    bytes: usize,
    /// Bytes recognised as already captured by the proxies.
    pub matched: u64,
    /// Announced bytes dropped without being seen.
    pub lost: u64,
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Matcher {
    /// Announces bytes a stream is about to write.
    pub fn expect(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.bytes += bytes.len();
        self.q.push_back(Expect { bytes: bytes.to_vec(), off: 0, at: Instant::now() });
        while self.bytes > MAX_BYTES {
            self.drop_front();
        }
    }

    fn drop_front(&mut self) {
        if let Some(e) = self.q.pop_front() {
            self.bytes -= e.bytes.len();
            self.lost += (e.bytes.len() - e.off) as u64;
        }
    }

    /// Announced bytes not yet seen.
    pub fn outstanding(&self) -> usize {
        self.q.iter().map(|e| e.bytes.len() - e.off).sum()
    }

    /// Does announcement `k` start at `rest[j..]`?
    fn starts_at(&self, k: usize, rest: &[u8], j: usize) -> bool {
        let e = &self.q[k];
        let rem = &e.bytes[e.off..];
        let tail = &rest[j..];
        let need = rem.len().min(MIN_MATCH).min(tail.len());
        need > 0 && tail[..need] == rem[..need]
    }

    /// Consumes `data` as read from the mirror; appends the runs that no
    /// announcement accounts for to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Vec<u8>>) {
        let now = Instant::now();
        while self.q.front().is_some_and(|e| e.off == 0 && now.duration_since(e.at) > STALE) {
            self.drop_front();
        }
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            let Some(head) = self.q.front_mut() else {
                out.push(rest.to_vec());
                return;
            };
            let n = common_prefix(rest, &head.bytes[head.off..]);
            if n > 0 {
                head.off += n;
                i += n;
                self.matched += n as u64;
                if head.off == head.bytes.len() {
                    self.bytes -= head.bytes.len();
                    self.q.pop_front();
                }
                continue;
            }
            // Bytes nobody announced come first; find where announced bytes resume.
            let mut found = None;
            'scan: for j in 0..rest.len() {
                for k in 0..self.q.len().min(LOOKAHEAD) {
                    if (j > 0 || k > 0) && self.starts_at(k, rest, j) {
                        found = Some((j, k));
                        break 'scan;
                    }
                }
            }
            match found {
                Some((j, k)) => {
                    if j > 0 {
                        out.push(rest[..j].to_vec());
                    }
                    for _ in 0..k {
                        self.drop_front();
                    }
                    i += j;
                }
                None => {
                    out.push(rest.to_vec());
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(m: &mut Matcher, d: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        m.feed(d, &mut out);
        out
    }

    #[test]
    fn announced_bytes_are_removed_across_reads() {
        let mut m = Matcher::default();
        m.expect(b"hello world\n");
        assert!(feed(&mut m, b"hello ").is_empty());
        assert!(feed(&mut m, b"world\n").is_empty());
        assert_eq!(m.outstanding(), 0);
        assert_eq!(feed(&mut m, b"bypass\n"), vec![b"bypass\n".to_vec()]);
    }

    #[test]
    fn bypass_bytes_between_announced_ones_are_kept() {
        let mut m = Matcher::default();
        m.expect(b"first line\n");
        m.expect(b"second line\n");
        let out = feed(&mut m, b"first line\nSYNC WRITE\nsecond line\ntrailing");
        assert_eq!(out, vec![b"SYNC WRITE\n".to_vec(), b"trailing".to_vec()]);
        assert_eq!(m.outstanding(), 0);
    }

    #[test]
    fn a_lost_announcement_is_skipped() {
        let mut m = Matcher::default();
        m.expect(b"never written\n");
        m.expect(b"written later\n");
        let out = feed(&mut m, b"written later\n");
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(m.lost, 14);
    }

    #[test]
    fn binary_and_partial_matches() {
        let mut m = Matcher::default();
        m.expect(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let out = feed(&mut m, &[9, 9, 0, 1, 2]);
        assert_eq!(out, vec![vec![9, 9]]);
        assert!(feed(&mut m, &[3, 4, 5, 6, 7, 8, 9]).is_empty());
    }
}
