//! What a store's guests have used so far: the embedder's view of `wrun --stats`. Reading it
//! costs a few loads; nothing is counted on the call path (time is the embedder's to measure
//! around its calls, which keeps calls free of clock reads).

use crate::api::store::StoreData;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Fuel the store's metered code (`waotc --fuel`) consumed: instructions executed, at the
    /// default costs. 0 when no code counts.
    pub fuel_consumed: u64,
    /// Bytes of linear memory the store holds, shared memories it imports included. Memories
    /// never shrink while the store lives, so this is also the peak.
    pub memory_bytes: u64,
    /// Elements of all the store's tables.
    pub table_elements: u64,
    pub instances: usize,
    /// Exception objects the store's heap holds now.
    pub live_exceptions: usize,
}

impl StoreData {
    /// Bytes of the store's memories together (`stats().memory_bytes`, alone).
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes_total()
    }

    pub fn stats(&self) -> StoreStats {
        StoreStats {
            fuel_consumed: self.fuel_consumed(),
            memory_bytes: self.memory_bytes_total(),
            table_elements: self.tables.iter().map(|t| t.size()).sum(),
            instances: self.instances.len(),
            live_exceptions: self.live_exceptions(),
        }
    }
}
