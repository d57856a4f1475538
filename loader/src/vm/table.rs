//! Tables: vectors of raw references (a `*const VmFuncRef` or an encoded externref; 0 is null).

use runtime_support::vmctx::VmTable;
use wasmparser::RefType;

/// Tables larger than this are refused rather than risking the host's memory.
const MAX_ELEMENTS: u64 = 10_000_000;

pub struct TableData {
    pub(crate) vm: VmTable,
    pub(crate) elements: Vec<usize>,
    pub(crate) element_type: RefType,
    pub(crate) maximum: Option<u64>,
    /// Indexed with `i64` (memory64's table64).
    pub(crate) table64: bool,
}

// SAFETY: raw references are plain addresses kept alive by the store.
unsafe impl Send for TableData {}

impl TableData {
    pub fn new(
        element_type: RefType,
        minimum: u64,
        maximum: Option<u64>,
        init: usize,
        table64: bool,
    ) -> Result<Self, String> {
        if minimum > MAX_ELEMENTS {
            return Err(format!(
                "table of {minimum} elements is larger than this runtime allows"
            ));
        }
        let mut t = TableData {
            vm: VmTable {
                elements: std::ptr::null_mut(),
                length: 0,
            },
            elements: vec![init; minimum as usize],
            element_type,
            maximum,
            table64,
        };
        t.sync();
        Ok(t)
    }

    /// Publishes the vector's current address and length to compiled code.
    fn sync(&mut self) {
        self.vm.elements = self.elements.as_mut_ptr();
        self.vm.length = self.elements.len() as u64;
    }

    pub fn size(&self) -> u64 {
        self.elements.len() as u64
    }

    /// Grows by `delta` elements set to `init`; the old size, or `None`.
    pub fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.size();
        let new = old.checked_add(delta)?;
        let index_limit = if self.table64 {
            u64::MAX
        } else {
            u32::MAX as u64
        };
        if new > self.maximum.unwrap_or(index_limit).min(MAX_ELEMENTS) {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.sync();
        Some(old)
    }
}
