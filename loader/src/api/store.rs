//! The store owns everything instances create or share — memories, tables, globals, host
//! functions, exception objects — and keeps it alive as long as any instance might reach it.
//! Handles (`handles.rs`) carry the store's identity, checked by every method.
//!
//! `StoreData` is unsized (its last field is a slice), so safe code can never move one out
//! of its box or swap two: compiled code and host contexts keep its address while guest code
//! runs, and a host function that holds `&mut StoreData` cannot exchange it for another.

use crate::api::handles::FuncKind;
pub use crate::api::handles::{
    Extern, Func, Global, Instance, InterpretedFunc, Memory, StoreId, Table, Tag,
};
use crate::api::instance::InstanceData;
use crate::api::values::ref_kind;
use crate::api::values::{Slot, Val};
use crate::error::{Error, Result};
use crate::vm::memory::{MemoryData, MemorySlot, SharedMemory};
use crate::vm::table::TableData;
use crate::{vm::signatures, vm::traps, Trap};
use runtime_support::types::{
    concrete_index, is_extern, val_type_name, RefKind, Signature, VALUE_SLOT_SIZE,
};
use runtime_support::vmctx::{VmFuncRef, GLOBAL_CELL_SIZE};
use std::collections::HashMap;
use std::sync::Arc;
use wasmparser::{GlobalType, ValType};

/// What a host function sees of its caller.
pub struct Caller<'a> {
    pub store: &'a mut StoreData,
    /// The instance whose import this function is.
    pub instance: Option<Instance>,
}

impl Caller<'_> {
    /// The calling instance's export `name`, typically its memory.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.instance.and_then(|i| self.store.get_export(i, name))
    }
}

pub type HostFn = dyn Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync;

pub(crate) struct HostFunc {
    pub sig: Signature,
    pub func: Box<HostFn>,
}

impl HostFunc {
    /// Runs the closure with `args`; its results start as the zero values of their types.
    fn run(&self, caller: &mut Caller<'_>, args: &[Val]) -> Result<Vec<Val>, Trap> {
        let mut results: Vec<Val> = self
            .sig
            .results
            .iter()
            .map(|t| Val::default_for(*t))
            .collect();
        (self.func)(caller, args, &mut results)?;
        Ok(results)
    }
}

/// The context a host adapter passes to `host_callback`; its first field is the callback, as
/// `runtime_support::artifact::HOST_CONTEXT_OFFSET_CALLBACK` says.
#[repr(C)]
pub(crate) struct HostFuncContext {
    pub callback: unsafe extern "C" fn(*mut HostFuncContext, *mut Slot) -> *mut u8,
    pub throw: unsafe extern "C" fn(*mut u8, *mut u8),
    pub store: *mut StoreData,
    pub func: usize,
    pub instance: Option<Instance>,
}

/// Storage of a global created by the host.
#[repr(C, align(16))]
pub(crate) struct GlobalCell(pub [u8; GLOBAL_CELL_SIZE as usize]);

pub(crate) struct GlobalData {
    pub ty: GlobalType,
    pub cell: *mut u8,
}

/// Owner of all runtime objects. Movable: the data lives behind a box whose address compiled
/// code and host contexts keep.
pub struct Store(Box<StoreData>);

/// A store's contents, always behind `Store`'s box (`Tail` is `[()]`: see the module's
/// documentation).
// The boxes are the point: compiled code and host contexts hold these addresses, which must not
// move when the vectors grow.
#[allow(clippy::vec_box)]
pub struct StoreData<Tail: ?Sized = [()]> {
    pub(crate) id: StoreId,
    /// Shared with interrupt handles, which may outlive the store.
    pub(crate) limits: Arc<crate::vm::limits::StoreLimits>,
    pub(crate) metering: crate::api::limits::MeteringState,
    pub(crate) resource_limits: crate::api::limits::ResourceLimits,
    /// Most stack guest code may use below the host's call (`set_max_wasm_stack`).
    pub(crate) max_wasm_stack: usize,
    /// Calls into this store's guest code in progress (nested through host functions).
    pub(crate) active_calls: usize,
    pub(crate) instances: Vec<Box<InstanceData>>,
    pub(crate) memories: Vec<MemorySlot>,
    pub(crate) tables: Vec<Box<TableData>>,
    pub(crate) globals: Vec<GlobalData>,
    pub(crate) host_globals: Vec<Box<GlobalCell>>,
    pub(crate) host_funcs: Vec<Arc<HostFunc>>,
    pub(crate) host_contexts: Vec<Box<HostFuncContext>>,
    pub(crate) tags: Vec<Box<crate::api::exceptions::TagData>>,
    /// Exception objects, collected when unreachable.
    pub(crate) exn_heap: std::cell::RefCell<crate::vm::exn_heap::ExnHeap>,
    /// Structs and arrays (GC), collected when unreachable.
    pub(crate) gc_heap: std::cell::RefCell<crate::vm::gc_heap::GcHeap>,
    /// Trampoline for each canonical signature id seen in this store.
    pub(crate) trampolines: HashMap<u64, (*const u8, Arc<Signature>), TypeIdHash>,
    _unsized: Tail,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Store {
        let limits = crate::vm::limits::StoreLimits::new();
        let gc_heap = crate::vm::gc_heap::GcHeap::new(limits.as_ptr());
        let data: Box<StoreData<[(); 0]>> = Box::new(StoreData {
            id: StoreId::fresh(),
            limits,
            metering: crate::api::limits::MeteringState::new(),
            resource_limits: Default::default(),
            max_wasm_stack: traps::DEFAULT_MAX_WASM_STACK,
            active_calls: 0,
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            host_globals: Vec::new(),
            host_funcs: Vec::new(),
            host_contexts: Vec::new(),
            tags: Vec::new(),
            exn_heap: Default::default(),
            gc_heap: std::cell::RefCell::new(gc_heap),
            trampolines: HashMap::default(),
            _unsized: [],
        });
        Store(data)
    }
}

impl std::ops::Deref for Store {
    type Target = StoreData;
    fn deref(&self) -> &StoreData {
        &self.0
    }
}

impl std::ops::DerefMut for Store {
    fn deref_mut(&mut self) -> &mut StoreData {
        &mut self.0
    }
}

impl StoreData {
    /// Limits the stack guest code may use, below the host's call into it, to `bytes`
    /// (default 8 MiB); beyond it a call traps with `call stack exhausted`. The thread's own
    /// stack bounds it too: guest code never uses the last 256 KiB of a thread's stack.
    pub fn set_max_wasm_stack(&mut self, bytes: usize) {
        self.max_wasm_stack = bytes;
    }

    /// Defines a host function with signature `params -> results`.
    pub fn func_new(
        &mut self,
        params: &[ValType],
        results: &[ValType],
        f: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Func {
        self.host_funcs.push(Arc::new(HostFunc {
            sig: Signature::new(params, results),
            func: Box::new(f),
        }));
        Func {
            store: self.id,
            kind: FuncKind::Host(self.host_funcs.len() - 1),
        }
    }

    /// Creates a memory of `minimum` pages, growable to `maximum`.
    pub fn memory_new(&mut self, minimum: u64, maximum: Option<u64>) -> Result<Memory> {
        self.memory_new_indexed(minimum, maximum, false)
    }

    /// Creates a 64-bit memory (memory64) of `minimum` pages, growable to `maximum`.
    pub fn memory64_new(&mut self, minimum: u64, maximum: Option<u64>) -> Result<Memory> {
        self.memory_new_indexed(minimum, maximum, true)
    }

    /// Creates a shared memory (threads proposal) of `minimum` pages, growable to `maximum`,
    /// which a shared memory must declare. Instances of this store that import it see each
    /// other's accesses; `memory.atomic.wait` parks on it.
    pub fn shared_memory_new(&mut self, minimum: u64, maximum: u64) -> Result<Memory> {
        self.shared_memory_of_type(&wasmparser::MemoryType {
            memory64: false,
            shared: true,
            initial: minimum,
            maximum: Some(maximum),
            page_size_log2: None,
        })
    }

    /// Creates a shared memory of type `ty` (which must be shared, with a maximum), 64-bit or
    /// of one-byte pages as it says.
    pub fn shared_memory_of_type(&mut self, ty: &wasmparser::MemoryType) -> Result<Memory> {
        if !ty.shared || ty.maximum.is_none() {
            return Err(Error::Usage(
                "a shared memory is declared shared and has a maximum".into(),
            ));
        }
        let log2 = ty
            .page_size_log2
            .unwrap_or(crate::vm::memory::DEFAULT_PAGE_LOG2);
        self.memory_may_grow(0, ty.initial.checked_mul(1 << log2))?;
        let m = MemoryData::of_type(ty).map_err(Error::Usage)?;
        Ok(self.import_shared_memory(&SharedMemory::new(m)))
    }

    /// A shared memory of another store (on another thread), as a memory of this one.
    pub fn import_shared_memory(&mut self, memory: &SharedMemory) -> Memory {
        self.memories.push(MemorySlot::Shared(memory.clone()));
        Memory::new(self.id, self.memories.len() - 1)
    }

    /// The shareable handle of a shared memory, to import into other stores; `None` if `m`
    /// is not shared.
    pub fn shared_memory(&self, m: Memory) -> Result<Option<SharedMemory>> {
        self.owns(m.store, "memory")?;
        Ok(match &self.memories[m.index] {
            MemorySlot::Shared(s) => Some(s.clone()),
            MemorySlot::Owned(_) => None,
        })
    }

    fn memory_new_indexed(
        &mut self,
        minimum: u64,
        maximum: Option<u64>,
        memory64: bool,
    ) -> Result<Memory> {
        let bytes = minimum.checked_mul(1 << crate::vm::memory::DEFAULT_PAGE_LOG2);
        self.memory_may_grow(0, bytes)?;
        let m = MemoryData::new(
            minimum,
            maximum,
            memory64,
            crate::vm::memory::DEFAULT_PAGE_LOG2,
        )
        .map_err(Error::Usage)?;
        self.memories.push(MemorySlot::Owned(Box::new(m)));
        Ok(Memory::new(self.id, self.memories.len() - 1))
    }

    pub fn table_new(
        &mut self,
        ty: wasmparser::RefType,
        minimum: u64,
        maximum: Option<u64>,
    ) -> Result<Table> {
        self.table_new_indexed(ty, minimum, maximum, false)
    }

    /// Creates a 64-bit table (memory64's table64).
    pub fn table64_new(
        &mut self,
        ty: wasmparser::RefType,
        minimum: u64,
        maximum: Option<u64>,
    ) -> Result<Table> {
        self.table_new_indexed(ty, minimum, maximum, true)
    }

    fn table_new_indexed(
        &mut self,
        ty: wasmparser::RefType,
        minimum: u64,
        maximum: Option<u64>,
        table64: bool,
    ) -> Result<Table> {
        known_types(&[ValType::Ref(ty)])?;
        if !ty.is_nullable() {
            return Err(Error::Usage(
                "a table of non-nullable references needs an initial value: define it in a \
                 module"
                    .into(),
            ));
        }
        self.table_may_grow(0, minimum)?;
        let t = TableData::new(ty, minimum, maximum, 0, table64).map_err(Error::Usage)?;
        self.tables.push(Box::new(t));
        Ok(Table::new(self.id, self.tables.len() - 1))
    }

    pub fn global_new(&mut self, ty: GlobalType, value: Val) -> Result<Global> {
        self.owns_val(&value)?;
        known_types(&[ty.content_type])?;
        if !self.val_matches(&value, ty.content_type) {
            return Err(Error::Usage(format!(
                "global of type {:?} given {value:?}",
                ty.content_type
            )));
        }
        let mut cell = Box::new(GlobalCell([0; GLOBAL_CELL_SIZE as usize]));
        value.write_slot(&mut cell.0).map_err(Error::Usage)?;
        let ptr = cell.0.as_mut_ptr();
        self.host_globals.push(cell);
        Ok(self.add_global(ty, ptr))
    }

    pub(crate) fn add_global(&mut self, ty: GlobalType, cell: *mut u8) -> Global {
        self.globals.push(GlobalData { ty, cell });
        Global::new(self.id, self.globals.len() - 1)
    }

    /// The bytes of a memory; an error for a shared memory, whose bytes other threads change
    /// under any slice.
    pub fn memory_data(&self, m: Memory) -> Result<&[u8]> {
        self.owns(m.store, "memory")?;
        match &self.memories[m.index] {
            MemorySlot::Owned(data) => Ok(data.data()),
            MemorySlot::Shared(_) => Err(not_a_slice()),
        }
    }

    pub fn memory_data_mut(&mut self, m: Memory) -> Result<&mut [u8]> {
        self.owns(m.store, "memory")?;
        match &mut self.memories[m.index] {
            MemorySlot::Owned(data) => Ok(data.data_mut()),
            MemorySlot::Shared(_) => Err(not_a_slice()),
        }
    }

    /// The bytes of any memory, shared ones included, for WASI: what a guest passes to a
    /// system call is its to keep still while the call runs, as with any racing write.
    pub(crate) fn guest_bytes_mut(&mut self, m: Memory) -> Result<&mut [u8]> {
        self.owns(m.store, "memory")?;
        // SAFETY: the first `length` bytes are accessible; see above for other threads.
        Ok(unsafe { (*self.memories[m.index].ptr()).data_mut() })
    }

    pub fn memory_pages(&self, m: Memory) -> Result<u64> {
        self.owns(m.store, "memory")?;
        Ok(self.memories[m.index].get().pages())
    }

    /// A memory's type as it is now: its current size as the minimum, its maximum, index
    /// type (memory64), sharing and page size.
    pub fn memory_type(&self, m: Memory) -> Result<wasmparser::MemoryType> {
        self.owns(m.store, "memory")?;
        let data = self.memories[m.index].get();
        Ok(wasmparser::MemoryType {
            memory64: data.memory64,
            shared: data.shared,
            initial: data.pages(),
            maximum: data.maximum,
            page_size_log2: (data.page_log2 != crate::vm::memory::DEFAULT_PAGE_LOG2)
                .then_some(data.page_log2),
        })
    }

    /// Grows a memory; the old size in pages.
    pub fn memory_grow(&mut self, m: Memory, delta: u64) -> Result<u64> {
        self.owns(m.store, "memory")?;
        let data = self.memories[m.index].get();
        let bytes = delta.checked_mul(1 << data.page_log2);
        // A shared one grows under its lock, which the limit is checked under too.
        let mut refusal = None;
        let grown = data.grow_if(delta, |length| match self.memory_may_grow(length, bytes) {
            Ok(()) => true,
            Err(e) => {
                refusal = Some(e);
                false
            }
        });
        match grown {
            Ok(old) => Ok(old),
            Err(true) => Err(refusal.expect("a refusal")),
            Err(false) => Err(Error::Usage("memory cannot grow that much".into())),
        }
    }

    pub fn table_size(&self, t: Table) -> Result<u64> {
        self.owns(t.store, "table")?;
        Ok(self.tables[t.index].size())
    }

    /// A table's type as it is now: element type (concrete types by canonical id), current
    /// size as the minimum, maximum and index type (table64).
    pub fn table_type(&self, t: Table) -> Result<wasmparser::TableType> {
        self.owns(t.store, "table")?;
        let data = &self.tables[t.index];
        Ok(wasmparser::TableType {
            element_type: data.element_type,
            table64: data.table64,
            initial: data.size(),
            maximum: data.maximum,
            shared: false,
        })
    }

    /// Element `index` of a table; `None` past its end.
    pub fn table_get(&self, t: Table, index: u64) -> Result<Option<Val>> {
        self.owns(t.store, "table")?;
        let table = &self.tables[t.index];
        Ok(table
            .elements
            .get(index as usize)
            .map(|raw| self.adopt(Val::from_raw_ref(*raw, table.element_type, self.id))))
    }

    /// Sets element `index` of a table. The value must be a reference of the table's element
    /// type, of this store, and (for a function) one compiled code can call: a host function
    /// becomes one once an instance imports it.
    pub fn table_set(&mut self, t: Table, index: u64, value: Val) -> Result<()> {
        self.owns(t.store, "table")?;
        let raw = self.table_raw(t, &value)?;
        let table = &mut self.tables[t.index];
        let size = table.size();
        if index >= size {
            return Err(Error::Usage(format!(
                "table index {index} is out of bounds (size {size})"
            )));
        }
        table.elements[index as usize] = raw;
        Ok(())
    }

    /// Grows a table by `delta` elements set to `init`, within its maximum and the store's
    /// limits; the old size.
    pub fn table_grow(&mut self, t: Table, delta: u64, init: Val) -> Result<u64> {
        self.owns(t.store, "table")?;
        let raw = self.table_raw(t, &init)?;
        self.table_may_grow(self.tables[t.index].size(), delta)?;
        self.tables[t.index]
            .grow(delta, raw)
            .ok_or_else(|| Error::Usage("table cannot grow that much".into()))
    }

    /// The raw element for `value` in table `t`, once it is known to fit there.
    fn table_raw(&self, t: Table, value: &Val) -> Result<usize> {
        self.owns_val(value)?;
        let ty = self.tables[t.index].element_type;
        if !self.val_matches(value, ValType::Ref(ty)) {
            return Err(Error::Usage(format!("table of {ty:?} given {value:?}")));
        }
        value.to_raw_ref().map_err(Error::Usage)
    }

    pub fn global_type(&self, g: Global) -> Result<GlobalType> {
        self.owns(g.store, "global")?;
        Ok(self.globals[g.index].ty)
    }

    pub fn global_get(&self, g: Global) -> Result<Val> {
        Ok(self.adopt(self.global_value(g)?))
    }

    /// A global's value without handing it to the host (nothing is pinned): for the store's
    /// own use, as constant expressions.
    pub(crate) fn global_value(&self, g: Global) -> Result<Val> {
        self.owns(g.store, "global")?;
        let data = &self.globals[g.index];
        // SAFETY: cells are 16 bytes, owned by the store or by an instance's vmctx.
        let cell = unsafe { &*(data.cell as *const [u8; GLOBAL_CELL_SIZE as usize]) };
        Ok(Val::read_slot(cell, data.ty.content_type, self.id))
    }

    pub fn global_set(&mut self, g: Global, value: Val) -> Result<()> {
        self.owns(g.store, "global")?;
        self.owns_val(&value)?;
        let data = &self.globals[g.index];
        if !data.ty.mutable {
            return Err(Error::Usage("global is immutable".into()));
        }
        if !self.val_matches(&value, data.ty.content_type) {
            return Err(Error::Usage(format!(
                "global of type {:?} given {value:?}",
                data.ty.content_type
            )));
        }
        // SAFETY: as in global_get; no guest code runs while the host holds &mut StoreData.
        let cell = unsafe { &mut *(data.cell as *mut [u8; GLOBAL_CELL_SIZE as usize]) };
        value.write_slot(cell).map_err(Error::Usage)
    }

    /// The signature of a function.
    pub fn func_signature(&self, f: Func) -> Result<Signature> {
        self.owns(f.store, "function")?;
        Ok(match f.kind {
            FuncKind::Host(i) => self.host_funcs[i].sig.clone(),
            FuncKind::Interpreted(_) => unreachable!("interpreter functions belong to no store"),
            FuncKind::Wasm(p) => (*self.wasm_signature(p)).clone(),
        })
    }

    /// How many parameters and results a function has, without copying its signature.
    pub fn func_arity(&self, f: Func) -> Result<(usize, usize)> {
        self.owns(f.store, "function")?;
        Ok(match f.kind {
            FuncKind::Host(i) => {
                let sig = &self.host_funcs[i].sig;
                (sig.params.len(), sig.results.len())
            }
            FuncKind::Interpreted(_) => unreachable!("interpreter functions belong to no store"),
            FuncKind::Wasm(p) => {
                let sig = self.wasm_signature(p);
                (sig.params.len(), sig.results.len())
            }
        })
    }

    /// The signature of a compiled function, from this store's table (no global lock).
    fn wasm_signature(&self, p: *const VmFuncRef) -> Arc<Signature> {
        // SAFETY: a Wasm funcref points into a live vmctx of this store.
        let id = unsafe { (*p).type_id };
        match self.trampolines.get(&id) {
            Some((_, sig)) => sig.clone(),
            None => Arc::new(signatures::lookup(id).expect("registered signature")),
        }
    }

    /// Calls `f` with `args`; the results, or the trap.
    pub fn call(&mut self, f: Func, args: &[Val]) -> Result<Vec<Val>> {
        self.owns(f.store, "function")?;
        let FuncKind::Wasm(p) = f.kind else {
            let mut results = vec![Val::I32(0); self.func_arity(f)?.1];
            self.call_into(f, args, &mut results)?;
            return Ok(results);
        };
        // One lookup of a compiled function serves the result count and the call, and its
        // signature is borrowed, not shared (an `Arc`'s count is two atomic operations).
        // SAFETY: a Wasm funcref points into a live vmctx of this store.
        let funcref = unsafe { *p };
        let (trampoline, sig) = self
            .trampolines
            .get(&funcref.type_id)
            .expect("trampoline for every signature");
        // SAFETY: the table never drops an entry while the store lives, and a signature stays
        // where its `Arc` put it when the table grows, during the call too (a host function
        // may instantiate): this reference outlives the borrow of the table.
        let sig: &Signature = unsafe { &*Arc::as_ptr(sig) };
        let callee = crate::api::typed::Callee {
            code: funcref.code,
            vmctx: funcref.vmctx,
            trampoline: *trampoline,
            sig,
            numeric_params: sig.params.iter().all(|t| !matches!(t, ValType::Ref(_))),
        };
        let mut results = vec![Val::I32(0); sig.results.len()];
        // SAFETY: the funcref's code and vmctx are this store's, the trampoline and signature
        // its type's.
        unsafe { self.call_compiled(&callee, args, &mut results) }?;
        Ok(results)
    }

    /// Calls `f` with `args`, writing its results to `results`, which must have exactly one
    /// slot per result. Calling compiled code with up to 8 parameters and results allocates
    /// nothing (the C API's `wasm_func_call` uses it).
    pub fn call_into(&mut self, f: Func, args: &[Val], results: &mut [Val]) -> Result<()> {
        self.owns(f.store, "function")?;
        match f.kind {
            FuncKind::Host(i) => {
                let host = self.host_funcs[i].clone();
                self.check_args(&host.sig, args)?;
                check_result_slots(host.sig.results.len(), results)?;
                let values = host.run(
                    &mut Caller {
                        store: self,
                        instance: None,
                    },
                    args,
                )?;
                results.copy_from_slice(&values);
                Ok(())
            }
            FuncKind::Interpreted(_) => unreachable!("interpreter functions belong to no store"),
            FuncKind::Wasm(_) => {
                let prepared = self.prepare(f)?.expect("a compiled function");
                prepared.call(self, args, results)
            }
        }
    }
}

impl StoreData {
    /// A value leaving for the host, read from a slot.
    pub(crate) fn host_val(&self, slot: &[u8; VALUE_SLOT_SIZE], ty: ValType) -> Val {
        self.adopt(Val::read_slot(slot, ty, self.id))
    }

    /// A host function's argument: an exception reference is pinned as by `adopt`, a GC
    /// reference is known to the store until the host function returns.
    pub(crate) fn scoped_val(&mut self, slot: &[u8; VALUE_SLOT_SIZE], ty: ValType) -> Val {
        let v = Val::read_slot(slot, ty, self.id);
        match v {
            Val::AnyRef(Some(a)) => self.gc_heap.get_mut().pin_scoped(a.raw),
            Val::ExnRef(Some(e)) => {
                self.pin_exception(e.ptr);
            }
            _ => {}
        }
        v
    }

    /// A value leaving for the host: an exception reference is pinned, since the host may
    /// keep it anywhere the collector does not look.
    pub(crate) fn adopt(&self, v: Val) -> Val {
        if let Val::ExnRef(Some(e)) = v {
            self.pin_exception(e.ptr);
        }
        self.pin_any(&v);
        v
    }

    /// An error unless `values` have the types `types` and are this store's.
    pub(crate) fn check_vals(&self, types: &[ValType], values: &[Val], what: &str) -> Result<()> {
        // Ownership first: `val_matches` reads a function's type through its pointer.
        values.iter().try_for_each(|v| self.owns_val(v))?;
        if types.len() != values.len()
            || types
                .iter()
                .zip(values)
                .any(|(t, v)| !self.val_matches(v, *t))
        {
            let have: Vec<ValType> = values.iter().map(Val::ty).collect();
            return Err(Error::Usage(format!(
                "{what} {have:?} do not match the types {types:?}"
            )));
        }
        Ok(())
    }

    /// Whether `v` is a value of the (canonical) type `t`: a reference of the right kind, null
    /// only where the type is nullable, and a function of exactly the type it names. Compiled
    /// code trusts static types (`call_ref` compares no signature), so a value that enters a
    /// typed place from the host passes here first.
    pub(crate) fn val_matches(&self, v: &Val, t: ValType) -> bool {
        use wasmparser::{AbstractHeapType as A, HeapType as H};
        let ValType::Ref(r) = t else {
            return v.ty() == t;
        };
        let kind = ref_kind(r);
        let bottom = matches!(
            r.heap_type(),
            H::Abstract {
                ty: A::NoFunc | A::NoExtern | A::NoExn | A::None,
                ..
            }
        );
        match v {
            Val::FuncRef(None) | Val::ExnRef(None) | Val::ExternRef(None) | Val::AnyRef(None) => {
                let value_kind = match v {
                    Val::FuncRef(_) => RefKind::Func,
                    Val::ExnRef(_) => RefKind::Exn,
                    _ => RefKind::Any,
                };
                value_kind == kind && r.is_nullable()
            }
            Val::FuncRef(Some(f)) => {
                kind == RefKind::Func
                    && !bottom
                    && match concrete_index(r) {
                        // Another store's function is not a value here (its pointer may
                        // dangle).
                        Some(id) => {
                            f.store == self.id
                                && signatures::is_sub_id(self.func_type_id(*f), id.into())
                        }
                        None => true,
                    }
            }
            Val::ExnRef(Some(_)) => kind == RefKind::Exn && !bottom,
            // A host value is an externref; guest code may make it an anyref
            // (`any.convert_extern`), which the host passes back as the same value.
            Val::ExternRef(Some(_)) => {
                kind == RefKind::Any
                    && matches!(
                        r.heap_type(),
                        H::Abstract {
                            ty: A::Extern | A::Any,
                            ..
                        }
                    )
            }
            Val::AnyRef(Some(a)) => {
                kind == RefKind::Any
                    && match is_extern(r) {
                        true => !bottom,
                        false => self.any_matches(a.raw, r),
                    }
            }
            _ => false,
        }
    }

    /// The canonical signature id of a function of this store.
    pub(crate) fn func_type_id(&self, f: Func) -> u64 {
        match f.kind {
            // SAFETY: a Wasm funcref of this store points into one of its live vmctxs.
            FuncKind::Wasm(p) => unsafe { (*p).type_id },
            FuncKind::Host(i) => signatures::intern(&self.host_funcs[i].sig),
            FuncKind::Interpreted(_) => 0,
        }
    }

    fn check_args(&self, sig: &Signature, args: &[Val]) -> Result<()> {
        self.check_vals(&sig.params, args, "arguments")
    }
}

/// Hashes canonical type ids, the keys of the trampoline table (SipHash took a quarter of an
/// untyped call's time).
pub(crate) type TypeIdHash = crate::vm::address_hash::BuildAddressHasher<0>;

pub(crate) fn check_result_slots(n: usize, results: &[Val]) -> Result<()> {
    match results.len() == n {
        true => Ok(()),
        false => Err(Error::Usage(format!(
            "{} result slots given for a function of {n} results",
            results.len()
        ))),
    }
}

fn not_a_slice() -> Error {
    Error::Usage(
        "a shared memory's bytes are changed by other threads: not a slice (use \
         `SharedMemory::read`/`write`)"
            .into(),
    )
}

/// An error unless every concrete type among `types` names a signature of the registry: a
/// host cannot make up a type that no module has (its ids are the registry's).
fn known_types(types: &[ValType]) -> Result<()> {
    for t in types {
        if let ValType::Ref(r) = t {
            if let Some(id) = concrete_index(*r) {
                if !signatures::is_registered(id.into()) {
                    return Err(Error::Usage(format!(
                        "type {} names no function type of this process",
                        val_type_name(*t)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// What host adapters in compiled code call: reads the arguments, runs the closure, writes
/// the results, and turns an error (or a panic) into a trap of the guest.
pub(crate) unsafe extern "C" fn host_callback(
    ctx: *mut HostFuncContext,
    values: *mut Slot,
) -> *mut u8 {
    let outcome = {
        let ctx = &*ctx;
        let store = &mut *ctx.store;
        let host = store.host_funcs[ctx.func].clone();
        let n = host.sig.params.len().max(host.sig.results.len()).max(1);
        let slots = std::slice::from_raw_parts_mut(values, n);
        // GC references among the arguments are known to the store for this call only (the
        // host keeps one with `gc_keep`): a host function that passes references through
        // pins nothing.
        let scope = store.gc_heap.get_mut().scope_begin();
        let args: Vec<Val> = host
            .sig
            .params
            .iter()
            .zip(slots.iter())
            .map(|(t, s)| store.scoped_val(&s.0, *t))
            .collect();
        let mut caller = Caller {
            store,
            instance: ctx.instance,
        };
        let run = std::panic::AssertUnwindSafe(|| host.run(&mut caller, &args));
        let outcome = match std::panic::catch_unwind(run) {
            // Results go to compiled code, which trusts their types: a reference of the wrong
            // kind or of another store would be a forged pointer.
            Ok(Ok(results)) => caller
                .store
                .check_vals(&host.sig.results, &results, "host function results")
                .map_err(|e| Trap::host(e.to_string()))
                .and_then(|()| {
                    results
                        .iter()
                        .zip(slots.iter_mut())
                        .try_for_each(|(r, s)| r.write_slot(&mut s.0))
                        .map_err(Trap::host)
                }),
            Ok(Err(trap)) => Err(trap),
            Err(_) => Err(Trap::host("host function panicked")),
        };
        // The results are in the guest's slots, on its stack, which a collection scans.
        caller.store.gc_heap.get_mut().scope_end(scope);
        // An interrupt's signal that came while the host function ran found no guest code to
        // stop: the guest stops as it returns to it.
        let limits = &caller.store.limits;
        match outcome {
            Ok(()) if limits.take_pending_interrupt() => {
                Err(Trap::new(runtime_support::TrapCode::Interrupted))
            }
            other => other,
        }
    };
    match outcome {
        Ok(()) => std::ptr::null_mut(),
        // The adapter throws it, from guest code, if it is an object of this store (one from
        // another store is that store's to free).
        Err(trap) if trap.uncaught.is_some() => {
            let store = &*(*ctx).store;
            let ours = trap
                .exception()
                .filter(|e| e.store == store.id && store.exn_heap.borrow().contains(e.object))
                .map(|e| e.object);
            // A host-made exception is thrown once: its store kept it only until then. One
            // refused as another store's stays unthrown.
            let thrown_before = trap
                .uncaught
                .as_ref()
                .and_then(|u| u.thrown.as_ref())
                .map(|t| match ours {
                    Some(_) => t.swap(true, std::sync::atomic::Ordering::SeqCst),
                    None => t.load(std::sync::atomic::Ordering::SeqCst),
                });
            // `raise` leaves by a jump: nothing may be left to drop.
            drop(trap);
            match (thrown_before, ours) {
                (Some(true), _) => traps::raise(Trap::host(
                    "a host function threw an exception the host made that was thrown before: make another",
                )),
                (lent, Some(object)) => {
                    if lent.is_some() {
                        // The unwinding and the handler's frame keep it from here, as they
                        // keep what guest code throws.
                        store.exn_heap.borrow_mut().give_back(object);
                    }
                    object
                }
                (_, None) => traps::raise(Trap::host(
                    "a host function threw an exception that belongs to another store",
                )),
            }
        }
        Err(trap) => traps::raise(trap),
    }
}
