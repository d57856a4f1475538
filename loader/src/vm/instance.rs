//! An instance as compiled code and the runtime's builtins reach it: the vmctx's instance word
//! (`vmctx::OFFSET_INSTANCE`) points at a `VmInstance`. The embedding API's instance state
//! (`api::instance::InstanceData`) begins with one, so the word points at both: the builtins
//! that need the store (its limits, its exception and GC heaps) are the API's.

use crate::vm::memory::MemoryData;
use crate::vm::table::TableData;
use runtime_support::{vmctx, ModuleInfo};

pub(crate) struct VmInstance {
    vmctx: Vec<u128>,
    /// Every memory, imported or defined, in index order (boxed in the store).
    pub memories: Vec<*mut MemoryData>,
    pub tables: Vec<*mut TableData>,
    /// Raw references of each element segment; emptied when dropped.
    pub elem_segments: Vec<Vec<usize>>,
    pub data_dropped: Vec<bool>,
    /// The module's structure and the bytes its data segments index; the instance's module,
    /// which the embedding API's instance holds, keeps both alive.
    info: *const ModuleInfo,
    skeleton: *const [u8],
}

impl VmInstance {
    /// An instance of a module whose vmctx is `vmctx_size` bytes.
    ///
    /// # Safety
    /// `info` and `skeleton` stay valid as long as the instance, and `skeleton` holds the
    /// module's data segments (a skeleton is never read lazily, unlike a universal file's
    /// module).
    pub unsafe fn new(vmctx_size: u32, info: &ModuleInfo, skeleton: &[u8]) -> VmInstance {
        VmInstance {
            vmctx: vec![0u128; (vmctx_size as usize).div_ceil(16)],
            memories: Vec::new(),
            tables: Vec::new(),
            elem_segments: Vec::new(),
            data_dropped: vec![false; info.datas.len()],
            info,
            skeleton,
        }
    }

    pub fn vmctx(&self) -> *mut u8 {
        self.vmctx.as_ptr() as *mut u8
    }

    /// Data segment `index`, empty once dropped.
    pub fn data_segment(&self, index: u32) -> &[u8] {
        if self.data_dropped[index as usize] {
            return &[];
        }
        // SAFETY: the module outlives its instances (`new`); validation checked the index.
        let (skeleton, info) = unsafe { (&*self.skeleton, &*self.info) };
        &skeleton[info.datas[index as usize].bytes.clone()]
    }
}

/// The vmctx's instance word: the address of the instance, which begins with its
/// `VmInstance` (whatever the embedding API's state around it).
///
/// # Safety
/// `vmctx` is a live instance's.
pub(crate) unsafe fn instance_word(vmctx: *mut u8) -> *mut VmInstance {
    *(vmctx.add(vmctx::OFFSET_INSTANCE as usize) as *mut *mut VmInstance)
}

/// The instance whose vmctx is `vmctx`.
///
/// # Safety
/// `vmctx` is a live instance's, and nothing else borrows that instance.
pub(crate) unsafe fn of_vmctx<'a>(vmctx: *mut u8) -> &'a mut VmInstance {
    &mut *instance_word(vmctx)
}
