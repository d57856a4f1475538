//! Layout of the per-instance context (`vmctx`) that every compiled function receives as its
//! first argument, and of the runtime structures it points to.
//!
//! Compiled code reads these offsets as constants; the loader fills the structures. Both take
//! the numbers from here, so this file is the single definition of the layout.
//!
//! ```text
//! vmctx:
//!   0   *mut VmMemory            memory 0 (null when the module has none)
//!   8   *const VmRuntimeLimits   stack limit, shared by all instances of a store
//!   16  *const *const u8         builtin function table (see `Builtin`)
//!   24  *const u64               canonical signature id of each type index
//!   32  *mut ()                  the loader's instance (opaque to compiled code)
//!   40  *const *const VmTypeInfo  run-time type information of each type index (GC casts)
//!   48  [*mut VmMemory; memories - 1]  memories 1.. (multi-memory), imported or defined
//!   ..  [*mut VmTable; tables]   every table, imported or defined
//!   ..  [*const VmTag; tags]     every tag, imported or defined: its identity
//!   ..  [VmFuncRef; funcs]       every function, imported or defined
//!   ..  [*mut GlobalCell; imported globals]
//!   ..  [GlobalCell; defined globals]   16-byte aligned, 16 bytes each
//! ```

/// A function reference: what `funcref` values, table elements and imports point to.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VmFuncRef {
    /// Native code with the wasm-call ABI: `fn(vmctx, params...) -> results`.
    pub code: *const u8,
    /// First argument for `code`: the callee instance's vmctx, or a host-function context.
    pub vmctx: *mut u8,
    /// Canonical signature id, compared by `call_indirect`.
    pub type_id: u64,
}

impl VmFuncRef {
    pub const OFFSET_CODE: u32 = 0;
    pub const OFFSET_VMCTX: u32 = 8;
    pub const OFFSET_TYPE_ID: u32 = 16;
    pub const SIZE: u32 = 24;
}

/// A tag's identity. Compiled code compares only the addresses; the loader keeps the type.
#[repr(C)]
#[derive(Debug)]
pub struct VmTag {
    /// Canonical signature id of the tag's type.
    pub type_id: u64,
}

/// A linear memory. With the guard-page strategy `base` never moves.
#[repr(C)]
#[derive(Debug)]
pub struct VmMemory {
    pub base: *mut u8,
    /// Current size in bytes.
    pub length: u64,
}

impl VmMemory {
    pub const OFFSET_BASE: u32 = 0;
    pub const OFFSET_LENGTH: u32 = 8;
}

/// Address space reserved for a 32-bit memory: every `u32 address + u32 offset + 16` lands
/// inside, and everything past the memory's length is inaccessible.
pub const MEMORY32_RESERVATION: u64 = (8 << 30) + (64 << 10);

/// The most a 64-bit memory may grow to, in bytes (compiled code compares every 64-bit access
/// with the length, so its reservation needs no guard for addresses).
pub const MEMORY64_MAX_BYTES: u64 = 8 << 30;

/// Address space reserved for a 64-bit memory: room to grow without moving, and a guard page.
pub const MEMORY64_RESERVATION: u64 = MEMORY64_MAX_BYTES + (64 << 10);

/// A table: `length` pointer-sized elements (a `*const VmFuncRef` or an externref; 0 is null).
#[repr(C)]
#[derive(Debug)]
pub struct VmTable {
    pub elements: *mut usize,
    pub length: u64,
}

impl VmTable {
    pub const OFFSET_ELEMENTS: u32 = 0;
    pub const OFFSET_LENGTH: u32 = 8;
}

/// Limits shared by every instance of a store. The stack limit is set on each entry from the
/// host; `interrupt` may be written by any thread at any time (atomically); `fuel` is read and
/// written by metered code (`waotc --fuel`) at function entries, calls and returns.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VmRuntimeLimits {
    /// Lowest stack address compiled code may use; a function whose stack pointer is below it
    /// traps with `call stack exhausted`. An interrupt sets it to `usize::MAX`, so that every
    /// function entry, which compares with it anyway, stops at no extra cost.
    pub stack_limit: usize,
    /// Non-zero when the host asked the store's guest code to stop; polled at loop headers by
    /// code compiled with `--interruptible`.
    pub interrupt: u64,
    /// Fuel left, for code compiled with `--fuel`: each basic block subtracts what it costs,
    /// and function entries and loop headers call `Builtin::OutOfFuel` when it is negative.
    pub fuel: i64,
    /// The store's GC bump range: compiled code allocates an object of `n` bytes at
    /// `gc_cursor` when `gc_cursor + n <= gc_limit` and moves the cursor; else it calls
    /// `Builtin::GcAlloc`. Both 0 when there is no range.
    pub gc_cursor: usize,
    pub gc_limit: usize,
    /// Non-zero while the collector is marking incrementally: a store that overwrites a GC
    /// reference in an object then calls `Builtin::GcBarrier` with the old reference first.
    pub gc_marking: usize,
}

impl VmRuntimeLimits {
    pub const OFFSET_STACK_LIMIT: u32 = 0;
    pub const OFFSET_INTERRUPT: u32 = 8;
    pub const OFFSET_FUEL: u32 = 16;
    pub const OFFSET_GC_CURSOR: u32 = 24;
    pub const OFFSET_GC_LIMIT: u32 = 32;
    pub const OFFSET_GC_MARKING: u32 = 40;
}

// Compiled code uses the offsets above; the layout must agree with them.
const _: () = {
    use std::mem::offset_of;
    type L = VmRuntimeLimits;
    assert!(offset_of!(L, stack_limit) == L::OFFSET_STACK_LIMIT as usize);
    assert!(offset_of!(L, interrupt) == L::OFFSET_INTERRUPT as usize);
    assert!(offset_of!(L, fuel) == L::OFFSET_FUEL as usize);
    assert!(offset_of!(L, gc_cursor) == L::OFFSET_GC_CURSOR as usize);
    assert!(offset_of!(L, gc_limit) == L::OFFSET_GC_LIMIT as usize);
    assert!(offset_of!(L, gc_marking) == L::OFFSET_GC_MARKING as usize);
};

/// Storage of one global: 16 bytes, so that a `v128` fits.
pub const GLOBAL_CELL_SIZE: u32 = 16;

pub const OFFSET_MEMORY: u32 = 0;
pub const OFFSET_LIMITS: u32 = 8;
pub const OFFSET_BUILTINS: u32 = 16;
pub const OFFSET_TYPE_IDS: u32 = 24;
pub const OFFSET_INSTANCE: u32 = 32;
pub const OFFSET_TYPE_INFOS: u32 = 40;
const HEADER_SIZE: u32 = 48;

/// Where a global lives, as seen from compiled code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalLocation {
    /// The vmctx holds a pointer to the cell at this offset (imported globals).
    Indirect(u32),
    /// The cell is inside the vmctx at this offset (defined globals).
    Inline(u32),
}

/// The vmctx layout of one module, computed from its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmctxLayout {
    pub num_memories: u32,
    pub num_tables: u32,
    pub num_tags: u32,
    pub num_funcs: u32,
    pub num_imported_globals: u32,
    pub num_defined_globals: u32,
}

impl VmctxLayout {
    pub fn new(
        num_memories: u32,
        num_tables: u32,
        num_tags: u32,
        num_funcs: u32,
        num_imported_globals: u32,
        num_defined_globals: u32,
    ) -> Self {
        VmctxLayout {
            num_memories,
            num_tables,
            num_tags,
            num_funcs,
            num_imported_globals,
            num_defined_globals,
        }
    }

    /// The slot holding a pointer to memory `index`'s `VmMemory`. Memory 0 keeps its fixed
    /// slot in the header, so single-memory code is laid out as before multi-memory.
    pub fn memory(&self, index: u32) -> u32 {
        debug_assert!(index < self.num_memories.max(1));
        if index == 0 {
            OFFSET_MEMORY
        } else {
            HEADER_SIZE + 8 * (index - 1)
        }
    }

    fn tables_start(&self) -> u32 {
        HEADER_SIZE + 8 * self.num_memories.saturating_sub(1)
    }

    pub fn table(&self, index: u32) -> u32 {
        debug_assert!(index < self.num_tables);
        self.tables_start() + 8 * index
    }

    /// The slot holding tag `index`'s identity: two tags are the same tag exactly when these
    /// pointers are equal, across instances.
    pub fn tag(&self, index: u32) -> u32 {
        debug_assert!(index < self.num_tags);
        self.tables_start() + 8 * self.num_tables + 8 * index
    }

    pub fn funcref(&self, index: u32) -> u32 {
        debug_assert!(index < self.num_funcs);
        self.funcrefs_start() + VmFuncRef::SIZE * index
    }

    fn funcrefs_start(&self) -> u32 {
        self.tables_start() + 8 * self.num_tables + 8 * self.num_tags
    }

    fn imported_globals_start(&self) -> u32 {
        self.funcrefs_start() + VmFuncRef::SIZE * self.num_funcs
    }

    fn defined_globals_start(&self) -> u32 {
        let end = self.imported_globals_start() + 8 * self.num_imported_globals;
        end.next_multiple_of(GLOBAL_CELL_SIZE)
    }

    pub fn global(&self, index: u32) -> GlobalLocation {
        if index < self.num_imported_globals {
            GlobalLocation::Indirect(self.imported_globals_start() + 8 * index)
        } else {
            let defined = index - self.num_imported_globals;
            debug_assert!(defined < self.num_defined_globals);
            GlobalLocation::Inline(self.defined_globals_start() + GLOBAL_CELL_SIZE * defined)
        }
    }

    /// Total size in bytes; the loader allocates the vmctx 16-byte aligned.
    pub fn size(&self) -> u32 {
        self.defined_globals_start() + GLOBAL_CELL_SIZE * self.num_defined_globals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_do_not_overlap_and_cells_are_aligned() {
        let l = VmctxLayout::new(1, 2, 1, 3, 1, 2);
        assert_eq!(l.table(0), 48);
        assert_eq!(l.table(1) + 8, l.tag(0));
        assert_eq!(l.tag(0) + 8, l.funcref(0));
        assert_eq!(l.funcref(2) + VmFuncRef::SIZE, 48 + 16 + 8 + 72);
        let GlobalLocation::Indirect(imp) = l.global(0) else {
            panic!()
        };
        assert_eq!(imp, l.funcref(2) + VmFuncRef::SIZE);
        let GlobalLocation::Inline(g1) = l.global(1) else {
            panic!()
        };
        assert!(g1 > imp && g1 % 16 == 0);
        assert_eq!(l.global(2), GlobalLocation::Inline(g1 + 16));
        assert_eq!(l.size(), g1 + 32);
    }

    #[test]
    fn memories_after_the_first_come_before_the_tables() {
        let l = VmctxLayout::new(3, 1, 0, 0, 0, 0);
        assert_eq!(l.memory(0), OFFSET_MEMORY);
        assert_eq!(l.memory(1), 48);
        assert_eq!(l.memory(2), 56);
        assert_eq!(l.table(0), 64);
        assert_eq!(VmctxLayout::new(0, 1, 0, 0, 0, 0).table(0), 48);
    }

    #[test]
    fn struct_sizes_match_constants() {
        assert_eq!(std::mem::size_of::<VmFuncRef>() as u32, VmFuncRef::SIZE);
        assert_eq!(std::mem::size_of::<VmMemory>(), 16);
        assert_eq!(std::mem::size_of::<VmTable>(), 16);
    }
}
