//! The interpreter's memory limit, as native code's (`ResourceLimits::total_memory_bytes`): the
//! bytes of a store's memories together, those the instrumentation adds left out.

use super::Module;

/// A wasmi resource limiter that counts the bytes of a store's memories against one limit.
/// Memories the instrumentation adds (`Module::hidden_memory_sizes`) do not count: before an
/// instantiation, `expect_instance_of` lists their sizes, and the first memories of those
/// sizes the instantiation makes go uncounted (whichever they are, the count that remains is
/// the guest's own, since every memory is made before any guest code runs).
#[derive(Default)]
pub struct MemoryLimiter {
    limit: Option<u64>,
    /// Bytes of the counted memories.
    bytes: u64,
    /// The growth `memory_growing` allowed last, given back if it fails.
    pending: u64,
    uncounted: Vec<u64>,
    shared: Option<Box<dyn SharedMemoryLimit>>,
}

/// Memories counted against the same limit elsewhere (the C API's native store).
pub trait SharedMemoryLimit {
    /// Their bytes.
    fn bytes(&self) -> u64;
    /// Gives them what the interpreter's memories leave of the limit (`None`: no limit).
    fn leave(&self, bytes: Option<u64>);
}

impl MemoryLimiter {
    pub fn new(limit: Option<u64>) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            ..MemoryLimiter::default()
        }
    }

    /// This limiter, sharing its limit with `other`'s memories.
    pub fn sharing(mut self, other: Box<dyn SharedMemoryLimit>) -> MemoryLimiter {
        self.shared = Some(other);
        self.share();
        self
    }

    pub fn set_limit(&mut self, limit: Option<u64>) {
        self.limit = limit;
        self.share();
    }

    /// Bytes of the guest's memories.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Leaves the memories the instrumentation adds to `module`'s next instance uncounted.
    pub fn expect_instance_of(&mut self, module: &Module) {
        self.uncounted = module.hidden_memory_sizes().to_vec();
    }

    /// After that instantiation, however it ended.
    pub fn instantiated(&mut self) {
        self.uncounted.clear();
    }

    fn share(&self) {
        if let Some(other) = &self.shared {
            other.leave(self.limit.map(|l| l.saturating_sub(self.bytes)));
        }
    }
}

impl wasmi::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        let delta = desired.saturating_sub(current) as u64;
        if current == 0 {
            if let Some(i) = self.uncounted.iter().position(|&size| size == delta) {
                self.uncounted.swap_remove(i);
                self.pending = 0;
                return Ok(true);
            }
        }
        if let Some(limit) = self.limit {
            let others = self.shared.as_ref().map_or(0, |s| s.bytes());
            if others.saturating_add(self.bytes).saturating_add(delta) > limit {
                return Ok(false);
            }
        }
        self.bytes += delta;
        self.pending = delta;
        self.share();
        Ok(true)
    }

    fn memory_grow_failed(
        &mut self,
        _: &wasmi::errors::MemoryError,
    ) -> Result<(), wasmi_core::LimiterError> {
        self.bytes -= std::mem::take(&mut self.pending);
        self.share();
        Ok(())
    }

    fn table_growing(
        &mut self,
        _: usize,
        _: usize,
        _: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        Ok(true)
    }

    fn instances(&self) -> usize {
        usize::MAX
    }

    fn tables(&self) -> usize {
        usize::MAX
    }

    fn memories(&self) -> usize {
        usize::MAX
    }
}
