//! What a scan reads: typed [`Scan`]s and the byte-level [`RawScan`] a
//! backend executes.

use std::marker::PhantomData;
use std::ops::Bound;

use crate::key::{Key, KeyPrefix, KeyRef};

/// A range of a table to read, in key order (or reverse), at most `limit`
/// records. Built for a table keyed by `K`:
///
/// ```
/// # use cityhost_store::Scan;
/// // The newest 20 of one citizen's orders (key: citizen, created_at ms, order id).
/// let scan: Scan<(String, u64, String)> = Scan::prefix(("c-1",)).rev().limit(20);
/// ```
pub struct Scan<K> {
    raw: RawScan,
    key: PhantomData<fn() -> K>,
}

impl<K> Clone for Scan<K> {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            key: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Scan<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.raw.fmt(f)
    }
}

impl<K: Key> Scan<K> {
    fn new(start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Self {
        Self {
            raw: RawScan {
                start,
                end,
                reverse: false,
                limit: None,
            },
            key: PhantomData,
        }
    }

    /// Every record of the table.
    pub fn all() -> Self {
        Self::new(Bound::Unbounded, Bound::Unbounded)
    }

    /// Every record whose key starts with the components `p` (a leading part
    /// of a tuple key, e.g. `(citizen_id,)`).
    pub fn prefix(p: impl KeyPrefix<K>) -> Self {
        let p = prefix_bytes(&p);
        let end = successor(&p);
        Self::new(Bound::Included(p), end)
    }

    /// Keys from `from` (inclusive) to `to` (exclusive).
    pub fn range(from: impl KeyRef<K>, to: impl KeyRef<K>) -> Self {
        Self::new(
            Bound::Included(key_bytes(&from)),
            Bound::Excluded(key_bytes(&to)),
        )
    }

    /// Keys from `from` (inclusive) to the end.
    pub fn from(from: impl KeyRef<K>) -> Self {
        Self::new(Bound::Included(key_bytes(&from)), Bound::Unbounded)
    }

    /// Keys strictly after `after` (pagination: pass the last key seen).
    pub fn after(after: impl KeyRef<K>) -> Self {
        Self::new(Bound::Excluded(key_bytes(&after)), Bound::Unbounded)
    }

    /// Keys within prefix `p` and strictly after `after` (pagination within
    /// a prefix, oldest first).
    pub fn prefix_after(p: impl KeyPrefix<K>, after: impl KeyRef<K>) -> Self {
        let p = prefix_bytes(&p);
        let after = key_bytes(&after);
        let end = successor(&p);
        let start = if after >= p {
            Bound::Excluded(after)
        } else {
            Bound::Included(p)
        };
        Self::new(start, end)
    }

    /// Keys within prefix `p` and strictly before `before` (pagination
    /// within a prefix with [`rev`](Self::rev), newest first).
    pub fn prefix_before(p: impl KeyPrefix<K>, before: impl KeyRef<K>) -> Self {
        let p = prefix_bytes(&p);
        let before = key_bytes(&before);
        let end = match successor(&p) {
            Bound::Excluded(succ) if succ <= before => Bound::Excluded(succ),
            _ => Bound::Excluded(before),
        };
        Self::new(Bound::Included(p), end)
    }

    /// Reads from the end of the range backwards (newest first for keys that
    /// hold a time).
    pub fn rev(mut self) -> Self {
        self.raw.reverse = true;
        self
    }

    /// Returns at most `n` records (the first `n` in scan direction).
    pub fn limit(mut self, n: usize) -> Self {
        self.raw.limit = Some(n);
        self
    }

    /// The byte-level scan a backend executes.
    pub fn raw(&self) -> &RawScan {
        &self.raw
    }
}

fn key_bytes<K>(k: &impl KeyRef<K>) -> Vec<u8> {
    crate::key::encode(k)
}

fn prefix_bytes<K>(p: &impl KeyPrefix<K>) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode_prefix(&mut out);
    out
}

/// The smallest byte string greater than every string starting with `p`
/// (`Unbounded` if there is none: `p` is all `0xFF` or empty).
fn successor(p: &[u8]) -> Bound<Vec<u8>> {
    let mut end = p.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// A scan over encoded keys: what a [`Backend`](crate::Backend) executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawScan {
    /// Lower bound of the keys.
    pub start: Bound<Vec<u8>>,
    /// Upper bound of the keys.
    pub end: Bound<Vec<u8>>,
    /// From the upper bound downwards.
    pub reverse: bool,
    /// At most this many records.
    pub limit: Option<usize>,
}

impl RawScan {
    /// Whether `key` lies within the bounds.
    pub fn contains(&self, key: &[u8]) -> bool {
        let above = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let below = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        above && below
    }

    /// Whether the bounds admit no key at all (start above end, or equal
    /// with one side excluded), or the limit is 0. Backends check this
    /// first: some engines' range functions panic on inverted bounds.
    pub fn is_empty(&self) -> bool {
        if self.limit == Some(0) {
            return true;
        }
        match (&self.start, &self.end) {
            (Bound::Included(s), Bound::Included(e)) => s > e,
            (Bound::Included(s), Bound::Excluded(e))
            | (Bound::Excluded(s), Bound::Included(e))
            | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
            _ => false,
        }
    }

    /// The bounds as a pair usable with `BTreeMap::range` and the like
    /// (check [`is_empty`](Self::is_empty) first).
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (as_slice(&self.start), as_slice(&self.end))
    }
}

fn as_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}
