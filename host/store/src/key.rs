//! Keys: the one order-preserving binary encoding of typed keys.
//!
//! The byte order of encoded keys is the order of the typed keys, so a
//! backend that sorts bytes (sled, a PostgreSQL `bytea` primary key) scans in
//! typed order:
//!
//! * `u64`: 8 bytes big-endian.
//! * `i64`: 8 bytes big-endian with the sign bit flipped (negatives first).
//! * `String`, `Vec<u8>`: the bytes with `0x00` escaped as `0x00 0xFF`,
//!   terminated by `0x00 0x01`. The terminator sorts below every escaped or
//!   plain byte, so `"a" < "a\0" < "ab"`, and no encoding is a prefix of
//!   another: `("a", "b")` and `("a\0", "b")` never collide.
//! * Tuples (up to 4): the components' encodings one after the other, so
//!   tuples sort lexicographically and a leading part of a tuple
//!   ([`KeyPrefix`]) is a byte prefix of exactly the keys that start with it.
//!
//! Arguments naming a key ([`KeyRef`]) may be borrowed: `&str` for `String`,
//! `&[u8]` for `Vec<u8>`, `u64` by value, and tuples of those.

/// Escape byte: `0x00` inside a string is written `0x00 0xFF`.
const ESCAPE: u8 = 0xFF;
/// Terminator of a string or byte string: `0x00 0x01`.
const TERMINATOR: u8 = 0x01;

/// Why stored key bytes do not decode as the table's key type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes end before the key does.
    #[error("the key ends early")]
    Truncated,
    /// A `0x00` inside a string is followed by neither `0xFF` nor `0x01`.
    #[error("bad escape in a string key")]
    BadEscape,
    /// A `String` component is not UTF-8.
    #[error("a string key is not UTF-8")]
    NotUtf8,
    /// Bytes are left over after the key.
    #[error("{0} bytes left over after the key")]
    TrailingBytes(usize),
}

/// A key type of a [`Table`](crate::Table): `String`, `Vec<u8>`, `u64`,
/// `i64` and tuples of those up to 4 elements. A key is also a [`KeyRef`]
/// to itself, so `&K` names a key in generic code too.
pub trait Key: KeyRef<Self> + Sized + Send + Sync + 'static {
    /// Appends the order-preserving encoding of `self` to `out`.
    fn encode_key(&self, out: &mut Vec<u8>);
    /// Decodes one key from the front of `b`, advancing it past the key.
    /// Errors: the bytes are not an encoding of `Self`.
    fn decode_key(b: &mut &[u8]) -> Result<Self, KeyError>;
}

/// What a key argument may be for a table keyed by `K`: `&K` itself and
/// borrowed forms — `&str` for `String`, `&[u8]` (or `&[u8; N]`) for
/// `Vec<u8>`, `u64`/`i64` by value, owned keys, and tuples of those for tuple
/// keys, e.g. `(app_id, key)` with `app_id: &str, key: &str` for
/// `Table<(String, String), _>`.
pub trait KeyRef<K> {
    /// Appends the encoding of the key `K` this names to `out` (the same
    /// bytes `K::encode_key` writes).
    fn encode_key(&self, out: &mut Vec<u8>);
}

/// A leading part of a tuple key, for [`Scan::prefix`](crate::Scan::prefix):
/// for `K = (A, B)` the prefix is `(a,)`; for `K = (A, B, C)` it is `(a,)`
/// or `(a, b)`; for four components up to three. Components may be borrowed
/// like [`KeyRef`].
pub trait KeyPrefix<K> {
    /// Appends the encoding of the leading components to `out`.
    fn encode_prefix(&self, out: &mut Vec<u8>);
}

/// Encodes `key` for a table keyed by `K`.
pub(crate) fn encode<K>(key: &impl KeyRef<K>) -> Vec<u8> {
    let mut out = Vec::new();
    key.encode_key(&mut out);
    out
}

/// Decodes a whole stored key; errors if bytes are left over.
pub(crate) fn decode<K: Key>(mut b: &[u8]) -> Result<K, KeyError> {
    let key = K::decode_key(&mut b)?;
    match b.len() {
        0 => Ok(key),
        n => Err(KeyError::TrailingBytes(n)),
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    for &byte in bytes {
        out.push(byte);
        if byte == 0 {
            out.push(ESCAPE);
        }
    }
    out.extend_from_slice(&[0, TERMINATOR]);
}

fn decode_bytes(b: &mut &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        match b.get(i) {
            None => return Err(KeyError::Truncated),
            Some(0) => match b.get(i + 1) {
                Some(&ESCAPE) => {
                    out.push(0);
                    i += 2;
                }
                Some(&TERMINATOR) => {
                    *b = &b[i + 2..];
                    return Ok(out);
                }
                Some(_) => return Err(KeyError::BadEscape),
                None => return Err(KeyError::Truncated),
            },
            Some(&byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
}

fn take_8(b: &mut &[u8]) -> Result<[u8; 8], KeyError> {
    let (head, rest) = b.split_first_chunk::<8>().ok_or(KeyError::Truncated)?;
    *b = rest;
    Ok(*head)
}

const SIGN: u64 = 1 << 63;

impl Key for String {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out);
    }
    fn decode_key(b: &mut &[u8]) -> Result<Self, KeyError> {
        String::from_utf8(decode_bytes(b)?).map_err(|_| KeyError::NotUtf8)
    }
}

impl Key for Vec<u8> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self, out);
    }
    fn decode_key(b: &mut &[u8]) -> Result<Self, KeyError> {
        decode_bytes(b)
    }
}

impl Key for u64 {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode_key(b: &mut &[u8]) -> Result<Self, KeyError> {
        Ok(u64::from_be_bytes(take_8(b)?))
    }
}

impl Key for i64 {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&((*self as u64) ^ SIGN).to_be_bytes());
    }
    fn decode_key(b: &mut &[u8]) -> Result<Self, KeyError> {
        Ok((u64::from_be_bytes(take_8(b)?) ^ SIGN) as i64)
    }
}

// Owned and borrowed forms of the scalar keys. `&R` for any `R: KeyRef<K>`
// comes from the blanket impl below, so `&String`, `&&str`, `&u64` work too.

impl KeyRef<String> for String {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl KeyRef<String> for str {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl KeyRef<Vec<u8>> for Vec<u8> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self, out);
    }
}

impl KeyRef<Vec<u8>> for [u8] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self, out);
    }
}

impl<const N: usize> KeyRef<Vec<u8>> for [u8; N] {
    fn encode_key(&self, out: &mut Vec<u8>) {
        encode_bytes(self, out);
    }
}

impl KeyRef<u64> for u64 {
    fn encode_key(&self, out: &mut Vec<u8>) {
        Key::encode_key(self, out);
    }
}

impl KeyRef<i64> for i64 {
    fn encode_key(&self, out: &mut Vec<u8>) {
        Key::encode_key(self, out);
    }
}

impl<K, R: KeyRef<K> + ?Sized> KeyRef<K> for &R {
    fn encode_key(&self, out: &mut Vec<u8>) {
        (**self).encode_key(out);
    }
}

macro_rules! tuple_key {
    ($(($K:ident, $R:ident, $i:tt)),+) => {
        impl<$($K: Key),+> Key for ($($K,)+) {
            fn encode_key(&self, out: &mut Vec<u8>) {
                $(Key::encode_key(&self.$i, out);)+
            }
            fn decode_key(b: &mut &[u8]) -> Result<Self, KeyError> {
                Ok(($($K::decode_key(b)?,)+))
            }
        }

        impl<$($K,)+ $($R: KeyRef<$K>),+> KeyRef<($($K,)+)> for ($($R,)+) {
            fn encode_key(&self, out: &mut Vec<u8>) {
                $(KeyRef::<$K>::encode_key(&self.$i, out);)+
            }
        }
    };
}

tuple_key!((A, RA, 0), (B, RB, 1));
tuple_key!((A, RA, 0), (B, RB, 1), (C, RC, 2));
tuple_key!((A, RA, 0), (B, RB, 1), (C, RC, 2), (D, RD, 3));

/// `KeyPrefix<full key>` for a tuple of the leading components' `KeyRef`s.
macro_rules! tuple_prefix {
    ([$($K:ident),+] for $(($P:ident, $R:ident, $i:tt)),+) => {
        impl<$($K,)+ $($R: KeyRef<$P>),+> KeyPrefix<($($K,)+)> for ($($R,)+) {
            fn encode_prefix(&self, out: &mut Vec<u8>) {
                $(KeyRef::<$P>::encode_key(&self.$i, out);)+
            }
        }
    };
}

tuple_prefix!([A, B] for (A, RA, 0));
tuple_prefix!([A, B, C] for (A, RA, 0));
tuple_prefix!([A, B, C] for (A, RA, 0), (B, RB, 1));
tuple_prefix!([A, B, C, D] for (A, RA, 0));
tuple_prefix!([A, B, C, D] for (A, RA, 0), (B, RB, 1));
tuple_prefix!([A, B, C, D] for (A, RA, 0), (B, RB, 1), (C, RC, 2));

impl<K, P: KeyPrefix<K> + ?Sized> KeyPrefix<K> for &P {
    fn encode_prefix(&self, out: &mut Vec<u8>) {
        (**self).encode_prefix(out);
    }
}
