//! Instantiation: check imports, build the vmctx, initialize globals, tables and memory from
//! the module's segments, and run the start function.

use crate::api::handles::FuncKind;
use crate::api::module::Module;
use crate::api::store::{
    Extern, Func, Global, HostFuncContext, Instance, Memory, StoreData, Table, Tag,
};
use crate::api::values::Val;
use crate::error::{Error, Result};
use crate::vm::instance::VmInstance;
use crate::vm::memory::{MemoryData, MemorySlot, SharedMemory, DEFAULT_PAGE_LOG2};
use crate::vm::table::TableData;
use crate::{vm::builtins, vm::signatures, Trap};
use runtime_support::module_info::{ConstOp, ImportKind, SegmentMode};
use runtime_support::types::is_subtype;
use runtime_support::vmctx::{self, GlobalLocation, VmFuncRef, GLOBAL_CELL_SIZE};

use wasmparser::{ExternalKind, GlobalType, ValType};

/// An instance's state. Boxed in the store: compiled code holds its address. The runtime's
/// part comes first (`vm::instance`), so the vmctx's instance word points at both.
#[repr(C)]
pub(crate) struct InstanceData {
    pub vm: VmInstance,
    pub module: Module,
    pub memory_handles: Vec<Memory>,
    pub table_handles: Vec<Table>,
    pub global_handles: Vec<Global>,
    pub tag_handles: Vec<Tag>,
    /// The store that owns this instance (boxed: its address is stable).
    pub store: *mut StoreData,
}

impl InstanceData {
    pub fn vmctx(&self) -> *mut u8 {
        self.vm.vmctx()
    }

    fn write<T>(&mut self, offset: u32, value: T) {
        // SAFETY: offsets come from the module's layout, inside the allocation.
        unsafe { std::ptr::write_unaligned(self.vmctx().add(offset as usize) as *mut T, value) }
    }

    pub fn funcref(&self, index: u32) -> *const VmFuncRef {
        let layout = self.module.inner.info.vmctx_layout();
        // SAFETY: as above.
        unsafe { self.vmctx().add(layout.funcref(index) as usize) as *const VmFuncRef }
    }
}

/// The instance whose vmctx is `vmctx`, as the store's builtins see it.
///
/// # Safety
/// As `vm::instance::of_vmctx`.
pub(crate) unsafe fn of_vmctx<'a>(vmctx: *mut u8) -> &'a mut InstanceData {
    // The word holds an `InstanceData`'s address, which is its `VmInstance`'s (`repr(C)`,
    // first field: checked below).
    &mut *(crate::vm::instance::instance_word(vmctx) as *mut InstanceData)
}

const _: () = assert!(std::mem::offset_of!(InstanceData, vm) == 0);

fn link_err(module: &Module, i: usize, what: String) -> Error {
    let import = &module.inner.info.imports[i];
    Error::Link(format!(
        "{}: import `{}`.`{}`: {what}",
        module.name(),
        import.module,
        import.name
    ))
}

fn limits_match(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min && max.is_none_or(|m| actual_max.is_some_and(|am| am <= m))
}

impl StoreData {
    /// Instantiates `module` with `imports`, given in the order of the module's imports.
    pub fn instantiate(&mut self, module: &Module, imports: &[Extern]) -> Result<Instance> {
        let (globals, memories, tables) =
            (self.globals.len(), self.memories.len(), self.tables.len());
        let handle = match self.build_instance(module, imports) {
            Ok(handle) => handle,
            Err(e) => {
                // The instance's defined globals live in its vmctx, which is gone: the store
                // must not keep their cells (the exception collector reads exnref cells).
                self.globals.truncate(globals);
                // Nothing can name the memories and tables it defined: without this, each
                // failed attempt at a module of many memories would keep their reservations
                // (8 GiB of address space each) until the store is dropped.
                self.memories.truncate(memories);
                self.tables.truncate(tables);
                return Err(e);
            }
        };
        self.initialize(handle)?;
        Ok(handle)
    }

    /// Builds and adds the instance, without running its segments and start function.
    fn build_instance(&mut self, module: &Module, imports: &[Extern]) -> Result<Instance> {
        let info = &module.inner.info;
        self.check_metering(module)?;
        self.check_instantiation_limits(module)?;
        if imports.len() != info.imports.len() {
            return Err(Error::Link(format!(
                "{}: {} imports given, the module has {}",
                module.name(),
                imports.len(),
                info.imports.len()
            )));
        }
        imports.iter().try_for_each(|e| self.owns_extern(e))?;
        self.check_imports(module, imports)?;
        for (i, id) in module.inner.type_ids.iter().enumerate() {
            let sig = std::sync::Arc::new(module.inner.signatures[i].clone());
            self.trampolines
                .entry(*id)
                .or_insert((module.inner.trampolines[i], sig));
        }
        let layout = info.vmctx_layout();
        let store: *mut StoreData = self;
        let mut inst = Box::new(InstanceData {
            // SAFETY: the instance holds its module.
            vm: unsafe { VmInstance::new(layout.size(), info, &module.inner.skeleton) },
            module: module.clone(),
            memory_handles: Vec::new(),
            table_handles: Vec::new(),
            global_handles: Vec::new(),
            tag_handles: Vec::new(),
            store,
        });
        let handle = Instance::new(self.id, self.instances.len());
        let vmctx = inst.vmctx();
        let inst_ptr: *mut InstanceData = &mut *inst;
        inst.write(vmctx::OFFSET_LIMITS, self.limits.as_ptr());
        inst.write(vmctx::OFFSET_BUILTINS, crate::api::builtins::table());
        inst.write(vmctx::OFFSET_TYPE_IDS, module.inner.type_ids.as_ptr());
        inst.write(vmctx::OFFSET_TYPE_INFOS, module.inner.type_infos.as_ptr());
        inst.write(vmctx::OFFSET_INSTANCE, inst_ptr);

        // Imports, in order; each kind's imports come first in its index space.
        let (mut funcs, mut globals) = (0u32, 0u32);
        for (i, ext) in imports.iter().enumerate() {
            match *ext {
                Extern::Func(f) => {
                    let ImportKind::Func(t) = info.imports[i].kind else {
                        unreachable!()
                    };
                    let funcref = self.import_funcref(module, f, t, handle);
                    inst.write(layout.funcref(funcs), funcref);
                    funcs += 1;
                }
                Extern::Memory(m) => {
                    inst.vm.memories.push(self.memories[m.index].ptr());
                    inst.memory_handles.push(m);
                }
                Extern::Table(t) => {
                    inst.vm.tables.push(&mut *self.tables[t.index]);
                    inst.table_handles.push(t);
                }
                Extern::Global(g) => {
                    let GlobalLocation::Indirect(off) = layout.global(globals) else {
                        unreachable!()
                    };
                    inst.write(off, self.globals[g.index].cell);
                    inst.global_handles.push(g);
                    globals += 1;
                }
                Extern::Tag(t) => inst.tag_handles.push(t),
            }
        }
        for &ty in &info.tags[info.num_imported_tags as usize..] {
            let params = module.inner.signatures[ty as usize].params.clone();
            let tag = self.tag_of_type(&params, module.inner.type_ids[ty as usize]);
            inst.tag_handles.push(tag);
        }
        for (i, t) in inst.tag_handles.clone().iter().enumerate() {
            inst.write(layout.tag(i as u32), self.tag_identity(*t));
        }
        for index in info.num_imported_funcs..info.funcs.len() as u32 {
            let type_index = info.funcs[index as usize];
            let funcref = VmFuncRef {
                code: module.inner.functions[(index - info.num_imported_funcs) as usize],
                vmctx,
                type_id: module.inner.type_ids[type_index as usize],
            };
            inst.write(layout.funcref(index), funcref);
        }
        module.inner.note_instantiation();
        for (defined, mem) in info.memories[info.num_imported_memories as usize..]
            .iter()
            .enumerate()
        {
            let data = MemoryData::of_type(mem).map_err(Error::Link)?;
            // The active segments in place, copy-on-write (`memory_image`): initialize skips
            // them.
            let index = info.num_imported_memories + defined as u32;
            if let Some(image) = module.inner.memory_image(defined) {
                // SAFETY: the memory's own reservation, its initial size accessible.
                if unsafe { image.install(data.vm.base, data.length()) }.map_err(Error::Link)? {
                    for (i, seg) in info.datas.iter().enumerate() {
                        if matches!(seg.mode, SegmentMode::Active { index: m, .. } if m == index) {
                            inst.vm.data_dropped[i] = true;
                        }
                    }
                }
            }
            let slot = if mem.shared {
                MemorySlot::Shared(SharedMemory::new(data))
            } else {
                MemorySlot::Owned(Box::new(data))
            };
            self.memories.push(slot);
            inst.vm
                .memories
                .push(self.memories.last_mut().unwrap().ptr());
            inst.memory_handles
                .push(Memory::new(self.id, self.memories.len() - 1));
        }
        // Memory 0's slot stays null in a module without memory.
        for (i, m) in inst.vm.memories.clone().iter().enumerate() {
            // SAFETY: memories are boxed in the store.
            inst.write(layout.memory(i as u32), unsafe { &raw mut (**m).vm });
        }

        // Defined globals, in order: an initializer may read imported globals and earlier
        // defined ones (extended-const), and name functions.
        for (i, ty) in info
            .globals
            .iter()
            .enumerate()
            .skip(info.num_imported_globals as usize)
        {
            let GlobalLocation::Inline(off) = layout.global(i as u32) else {
                unreachable!()
            };
            let ty = GlobalType {
                content_type: module.inner.canonical(ty.content_type),
                ..*ty
            };
            let value = self.eval_const(
                &inst,
                &info.global_inits[i - info.num_imported_globals as usize],
                ty.content_type,
            )?;
            // SAFETY: the cell lies inside the vmctx.
            let cell =
                unsafe { &mut *(vmctx.add(off as usize) as *mut [u8; GLOBAL_CELL_SIZE as usize]) };
            value.write_slot(cell).map_err(Error::Link)?;
            let g = self.add_global(ty, cell.as_mut_ptr());
            inst.global_handles.push(g);
        }
        for def in &info.table_defs {
            let init = match &def.init {
                Some(e) => self
                    .eval_const(&inst, e, ValType::Ref(def.ty.element_type))?
                    .to_raw_ref()
                    .map_err(Error::Link)?,
                None => 0,
            };
            let t = TableData::new(
                module.inner.canonical_ref(def.ty.element_type),
                def.ty.initial,
                def.ty.maximum,
                init,
                def.ty.table64,
            )
            .map_err(Error::Link)?;
            self.tables.push(Box::new(t));
            inst.vm.tables.push(&mut **self.tables.last_mut().unwrap());
            inst.table_handles
                .push(Table::new(self.id, self.tables.len() - 1));
        }
        for (i, t) in inst.vm.tables.clone().iter().enumerate() {
            // SAFETY: tables are boxed in the store.
            inst.write(layout.table(i as u32), unsafe { &raw mut (**t).vm });
        }
        for seg in &info.elems {
            let items = seg
                .items
                .iter()
                .map(|e| match e[..] {
                    // Most elements of most tables: the function's cell in this vmctx, without
                    // evaluating an expression (for a table of 20,000 functions, 0.4 ms of the start).
                    [ConstOp::RefFunc(f)] if f < info.funcs.len() as u32 => {
                        Ok(vmctx as usize + layout.funcref(f) as usize)
                    }
                    _ => self
                        .eval_const(&inst, e, ValType::Ref(seg.ty))?
                        .to_raw_ref()
                        .map_err(Error::Link),
                })
                .collect::<Result<Vec<_>>>()?;
            inst.vm.elem_segments.push(items);
        }
        self.instances.push(inst);
        Ok(handle)
    }

    fn check_imports(&self, module: &Module, imports: &[Extern]) -> Result<()> {
        let info = &module.inner.info;
        for (i, (import, ext)) in info.imports.iter().zip(imports).enumerate() {
            match (&import.kind, ext) {
                (ImportKind::Func(t), Extern::Func(f)) => {
                    let want = &module.inner.signatures[*t as usize];
                    let have = self.func_signature(*f)?;
                    let want_id = module.inner.type_ids[*t as usize];
                    if !signatures::is_sub_id(self.func_type_id(*f), want_id) {
                        return Err(link_err(
                            module,
                            i,
                            format!("incompatible import type: expected {want}, got {have}"),
                        ));
                    }
                }
                (ImportKind::Memory(ty), Extern::Memory(m)) => {
                    let mem = self.memories[m.index].get();
                    if mem.memory64 != ty.memory64
                        || mem.shared != ty.shared
                        || mem.page_log2 != ty.page_size_log2.unwrap_or(DEFAULT_PAGE_LOG2)
                        || !limits_match(mem.pages(), mem.maximum, ty.initial, ty.maximum)
                    {
                        return Err(link_err(
                            module,
                            i,
                            "incompatible import type: memory limits".into(),
                        ));
                    }
                }
                (ImportKind::Table(ty), Extern::Table(t)) => {
                    let table = &self.tables[t.index];
                    if table.element_type != module.inner.canonical_ref(ty.element_type)
                        || table.table64 != ty.table64
                        || !limits_match(table.size(), table.maximum, ty.initial, ty.maximum)
                    {
                        return Err(link_err(
                            module,
                            i,
                            "incompatible import type: table".into(),
                        ));
                    }
                }
                (ImportKind::Global(ty), Extern::Global(g)) => {
                    // An immutable global may be of a subtype; a mutable one is read and
                    // written, so its type is exactly the import's.
                    let have = self.globals[g.index].ty;
                    let want = module.inner.canonical(ty.content_type);
                    let fits = if ty.mutable {
                        have.content_type == want
                    } else {
                        is_subtype(have.content_type, want, &signatures::Hierarchy)
                    };
                    if !fits || have.mutable != ty.mutable {
                        return Err(link_err(
                            module,
                            i,
                            "incompatible import type: global".into(),
                        ));
                    }
                }
                (ImportKind::Tag(ty), Extern::Tag(t)) => {
                    // Tags match by type identity: equal canonical ids (a type in a recursion
                    // group differs from the same signature outside one).
                    self.owns(t.store, "tag")?;
                    let have = self.tag_identity(*t);
                    // SAFETY: a tag of this store, boxed for its lifetime.
                    if unsafe { (*have).type_id } != module.inner.type_ids[*ty as usize] {
                        return Err(link_err(module, i, "incompatible import type: tag".into()));
                    }
                }
                _ => {
                    return Err(link_err(
                        module,
                        i,
                        "incompatible import type: wrong kind".into(),
                    ))
                }
            }
        }
        Ok(())
    }

    fn import_funcref(
        &mut self,
        module: &Module,
        f: Func,
        type_index: u32,
        importer: Instance,
    ) -> VmFuncRef {
        match f.kind {
            // SAFETY: p points into a live vmctx of this store (checked: `f` is its own).
            FuncKind::Wasm(p) => unsafe { *p },
            FuncKind::Interpreted(_) => unreachable!("checked: not a function of this store"),
            FuncKind::Host(index) => {
                let store: *mut StoreData = self;
                let mut ctx = Box::new(HostFuncContext {
                    callback: crate::api::store::host_callback,
                    throw: crate::vm::exceptions::waot_throw,
                    store,
                    func: index,
                    instance: Some(importer),
                });
                let ctx_ptr = &mut *ctx as *mut HostFuncContext as *mut u8;
                self.host_contexts.push(ctx);
                VmFuncRef {
                    code: module.inner.host_adapters[type_index as usize],
                    vmctx: ctx_ptr,
                    type_id: module.inner.type_ids[type_index as usize],
                }
            }
        }
    }

    /// A segment's offset: an `i32` (zero-extended) or, into a 64-bit table or memory, an `i64`.
    fn eval_offset(&self, inst: &InstanceData, expr: &[ConstOp], wide: bool) -> Result<u64> {
        let ty = if wide { ValType::I64 } else { ValType::I32 };
        match self.eval_const(inst, expr, ty)? {
            Val::I32(v) => Ok(v as u32 as u64),
            Val::I64(v) => Ok(v as u64),
            _ => unreachable!("validated offsets are integers"),
        }
    }

    /// Evaluates a constant expression in the context of a (partly built) instance.
    fn eval_const(&self, inst: &InstanceData, expr: &[ConstOp], ty: ValType) -> Result<Val> {
        let mut stack: Vec<Val> = Vec::new();
        let bin = |stack: &mut Vec<Val>, f: &dyn Fn(i64, i64) -> i64| {
            let (b, a) = (stack.pop(), stack.pop());
            match (a, b) {
                (Some(Val::I32(a)), Some(Val::I32(b))) => {
                    stack.push(Val::I32(f(a as i64, b as i64) as i32))
                }
                (Some(Val::I64(a)), Some(Val::I64(b))) => stack.push(Val::I64(f(a, b))),
                _ => {}
            }
        };
        for op in expr {
            match op {
                ConstOp::I32(v) => stack.push(Val::I32(*v)),
                ConstOp::I64(v) => stack.push(Val::I64(*v)),
                ConstOp::F32(v) => stack.push(Val::F32(*v)),
                ConstOp::F64(v) => stack.push(Val::F64(*v)),
                ConstOp::V128(v) => stack.push(Val::V128(*v)),
                ConstOp::RefNull => stack.push(Val::default_for(ty)),
                ConstOp::RefFunc(f) => {
                    stack.push(Val::FuncRef(Some(Func::wasm(self.id, inst.funcref(*f)))))
                }
                ConstOp::GlobalGet(g) => {
                    stack.push(self.global_value(inst.global_handles[*g as usize])?)
                }
                ConstOp::I32Add | ConstOp::I64Add => bin(&mut stack, &|a, b| a.wrapping_add(b)),
                ConstOp::I32Sub | ConstOp::I64Sub => bin(&mut stack, &|a, b| a.wrapping_sub(b)),
                ConstOp::I32Mul | ConstOp::I64Mul => bin(&mut stack, &|a, b| a.wrapping_mul(b)),
                ConstOp::ConvertRef => {}
                ConstOp::RefI31 => {
                    let Some(Val::I32(v)) = stack.pop() else {
                        return Err(Error::Link("ref.i31 of a non-i32".into()));
                    };
                    stack.push(Val::AnyRef(Some(crate::api::values::AnyRef::i31(v as u32))));
                }
                ConstOp::StructNew(_)
                | ConstOp::StructNewDefault(_)
                | ConstOp::ArrayNew(_)
                | ConstOp::ArrayNewDefault(_)
                | ConstOp::ArrayNewFixed(..) => {
                    let v = self.eval_const_alloc(inst, op, &mut stack)?;
                    stack.push(v);
                }
            }
        }
        stack
            .pop()
            .ok_or_else(|| Error::Link("empty constant expression".into()))
    }

    /// A GC allocation of a constant expression, taking its operands from `stack`.
    fn eval_const_alloc(
        &self,
        inst: &InstanceData,
        op: &ConstOp,
        stack: &mut Vec<Val>,
    ) -> Result<Val> {
        use wasmparser::{CompositeInnerType as C, StorageType};
        let (ConstOp::StructNew(t)
        | ConstOp::StructNewDefault(t)
        | ConstOp::ArrayNew(t)
        | ConstOp::ArrayNewDefault(t)
        | ConstOp::ArrayNewFixed(t, _)) = *op
        else {
            unreachable!("an allocation")
        };
        let module = &inst.module.inner;
        let info = module.type_infos[t as usize];
        let canonical = |s: StorageType| match s {
            StorageType::Val(v) => StorageType::Val(module.canonical(v)),
            s => s,
        };
        let bad = || Error::Link(format!("constant expression: type {t} does not fit"));
        let mut pop = |n: usize| -> Result<Vec<Val>> {
            let at = stack.len().checked_sub(n).ok_or_else(bad)?;
            Ok(stack.split_off(at))
        };
        let length = |pop: &mut dyn FnMut(usize) -> Result<Vec<Val>>| match pop(1)?[..] {
            [Val::I32(n)] => Ok(n as u32 as usize),
            _ => Err(bad()),
        };
        match (&module.info.sub_types[t as usize].composite_type.inner, op) {
            (C::Struct(s), _) => {
                let types: Vec<StorageType> =
                    s.fields.iter().map(|f| canonical(f.element_type)).collect();
                let fields = match op {
                    ConstOp::StructNew(_) => pop(types.len())?,
                    _ => types
                        .iter()
                        .map(|t| match t {
                            StorageType::Val(v) => Val::default_for(*v),
                            _ => Val::I32(0),
                        })
                        .collect(),
                };
                self.gc_new_const(info, &fields, None, &types)
            }
            (C::Array(a), _) => {
                let elem = canonical(a.0.element_type);
                match *op {
                    ConstOp::ArrayNewFixed(_, n) => {
                        let elements = pop(n as usize)?;
                        self.gc_new_const(info, &elements, Some(elem), &[])
                    }
                    // A length the module chose: the object is made (and its size checked)
                    // first, then filled in place, with no list of that many values.
                    ConstOp::ArrayNew(_) => {
                        let n = length(&mut pop)? as u32;
                        let v = pop(1)?[0];
                        self.gc_fill_const(info, n, v, elem)
                    }
                    ConstOp::ArrayNewDefault(_) => {
                        let n = length(&mut pop)? as u32;
                        self.gc_fill_const(info, n, Val::I32(0), StorageType::I8)
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// Active segments and the start function, as the specification orders them. A trap
    /// leaves earlier segments' effects in place.
    fn initialize(&mut self, handle: Instance) -> Result<()> {
        let inst: *mut InstanceData = &mut *self.instances[handle.index];
        // SAFETY: the instance is boxed in the store and outlives this call.
        let inst = unsafe { &mut *inst };
        let module = inst.module.clone();
        let info = &module.inner.info;
        for (i, seg) in info.elems.iter().enumerate() {
            match &seg.mode {
                SegmentMode::Active { index, offset } => {
                    let table64 = info.tables[*index as usize].table64;
                    let offset = self.eval_offset(inst, offset, table64)?;
                    let n = inst.vm.elem_segments[i].len() as u64;
                    builtins::table_init(&mut inst.vm, *index, i as u32, offset, 0, n)
                        .map_err(|c| Error::Trap(Trap::new(c)))?;
                    inst.vm.elem_segments[i].clear();
                }
                SegmentMode::Declared => inst.vm.elem_segments[i].clear(),
                SegmentMode::Passive => {}
            }
        }
        // The span each memory's active segments will fill (`MemoryData::expect_writes`).
        let mut spans = vec![None::<(u64, u64)>; inst.vm.memories.len()];
        for (i, seg) in info.datas.iter().enumerate() {
            let SegmentMode::Active { index, offset } = &seg.mode else {
                continue;
            };
            let memory64 = info.memories[*index as usize].memory64;
            if inst.vm.data_dropped[i] {
                continue;
            }
            if let Ok(start) = self.eval_offset(inst, offset, memory64) {
                let end = start.saturating_add(seg.bytes.len() as u64);
                let span = &mut spans[*index as usize];
                *span = Some(span.map_or((start, end), |(s, e)| (s.min(start), e.max(end))));
            }
        }
        for (index, span) in spans.into_iter().enumerate() {
            if let Some((start, end)) = span {
                builtins::memory(&inst.vm, index as u32).expect_writes(start, end);
            }
        }
        for (i, seg) in info.datas.iter().enumerate() {
            // Already in place from the memory's image.
            if inst.vm.data_dropped[i] {
                continue;
            }
            if let SegmentMode::Active { index, offset } = &seg.mode {
                let memory64 = info.memories[*index as usize].memory64;
                let start = self.eval_offset(inst, offset, memory64)?;
                let bytes = &module.inner.skeleton[seg.bytes.clone()];
                builtins::memory(&inst.vm, *index)
                    .write(start, bytes)
                    .map_err(|c| Error::Trap(Trap::new(c)))?;
                inst.vm.data_dropped[i] = true;
            }
        }
        if let Some(start) = info.start {
            let f = Func::wasm(self.id, inst.funcref(start));
            self.call(f, &[])?;
        }
        Ok(())
    }

    /// Export `name` of `instance`; `None` if it has none, or if the instance is not this
    /// store's.
    pub fn get_export(&self, instance: Instance, name: &str) -> Option<Extern> {
        self.owns(instance.store, "instance").ok()?;
        let inst = &self.instances[instance.index];
        let export = inst
            .module
            .inner
            .info
            .exports
            .iter()
            .find(|e| e.name == name)?;
        Some(match export.kind {
            ExternalKind::Func => Extern::Func(Func::wasm(self.id, inst.funcref(export.index))),
            ExternalKind::Memory => Extern::Memory(inst.memory_handles[export.index as usize]),
            ExternalKind::Table => Extern::Table(inst.table_handles[export.index as usize]),
            ExternalKind::Global => Extern::Global(inst.global_handles[export.index as usize]),
            ExternalKind::Tag => Extern::Tag(inst.tag_handles[export.index as usize]),
            _ => return None,
        })
    }

    /// Names of `instance`'s exports, in the module's order (none for another store's).
    pub fn export_names(&self, instance: Instance) -> Vec<String> {
        if self.owns(instance.store, "instance").is_err() {
            return Vec::new();
        }
        self.instances[instance.index]
            .module
            .inner
            .info
            .exports
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    pub fn get_func(&self, instance: Instance, name: &str) -> Option<Func> {
        match self.get_export(instance, name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    pub fn get_memory(&self, instance: Instance, name: &str) -> Option<Memory> {
        match self.get_export(instance, name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    pub fn get_global(&self, instance: Instance, name: &str) -> Option<Global> {
        match self.get_export(instance, name)? {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    pub fn instance_module(&self, instance: Instance) -> Result<&Module> {
        self.owns(instance.store, "instance")?;
        Ok(&self.instances[instance.index].module)
    }
}
