//! Typed tables and value codecs.

use std::marker::PhantomData;

use serde::{Serialize, de::DeserializeOwned};

use crate::error::StoreError;

/// A typed table: a name, a key type `K` ([`Key`](crate::Key)) and a value
/// type `V` stored with codec `C` ([`Json`] by default). Declared as
/// constants in each domain area's `tables.rs`:
///
/// ```
/// # use cityhost_store::{Raw, Table};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Order;
/// /// `order_id` → order.
/// pub const ORDERS: Table<String, Order> = Table::new("orders");
/// /// `(app_id, out_trade_no)` → `order_id`.
/// pub const ORDER_KEYS: Table<(String, String), String> = Table::new("order_keys");
/// /// hex SHA-256 → component bytes.
/// pub const PACKAGES: Table<String, Vec<u8>, Raw> = Table::new("packages");
/// ```
///
/// Two tables with the same name are the same records: names are unique
/// across the host.
pub struct Table<K, V, C = Json> {
    name: &'static str,
    types: Types<K, V, C>,
}

impl<K, V, C> Table<K, V, C> {
    /// The table called `name`.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            types: PhantomData,
        }
    }

    /// The table's name (the backend's tree or table).
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<K, V, C> Clone for Table<K, V, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V, C> Copy for Table<K, V, C> {}

impl<K, V, C> std::fmt::Debug for Table<K, V, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Table").field(&self.name).finish()
    }
}

/// The table's types, held without owning any value (always `Send + Sync`).
type Types<K, V, C> = PhantomData<fn() -> (K, V, C)>;

/// How values of type `V` become bytes and back.
pub trait Codec<V> {
    /// Encodes a value. Errors: [`StoreError::Encode`].
    fn encode(v: &V) -> Result<Vec<u8>, StoreError>;
    /// Decodes a value read from `table`. Errors:
    /// [`StoreError::Undecodable`].
    fn decode(table: &'static str, b: &[u8]) -> Result<V, StoreError>;
}

/// Values as JSON (serde_json): any `Serialize + DeserializeOwned` type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl<V: Serialize + DeserializeOwned> Codec<V> for Json {
    fn encode(v: &V) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(v).map_err(|e| StoreError::Encode(e.to_string()))
    }

    fn decode(table: &'static str, b: &[u8]) -> Result<V, StoreError> {
        serde_json::from_slice(b).map_err(|e| StoreError::Undecodable {
            table,
            reason: e.to_string(),
        })
    }
}

/// Values as the bytes themselves (`Vec<u8>`), e.g. component packages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Raw;

impl Codec<Vec<u8>> for Raw {
    fn encode(v: &Vec<u8>) -> Result<Vec<u8>, StoreError> {
        Ok(v.clone())
    }

    fn decode(_table: &'static str, b: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(b.to_vec())
    }
}
