//! GC objects (structs and arrays), host side: allocation for compiled code and constant
//! expressions, the collector's roots, and the builtins behind the array instructions that
//! move many elements. Layouts are `runtime_support::gc`'s; the heap is `vm::gc_heap`.

use crate::api::instance::of_vmctx;
use crate::api::instance::InstanceData;
use crate::api::store::StoreData;
use crate::api::values::{ref_kind, Val};
use crate::vm::builtins::finish_interruptible;
use crate::vm::traps;
use runtime_support::gc::{
    VmTypeInfo, HEADER_SIZE, KIND_ARRAY, MAX_ARRAY_BYTES, OFFSET_ARRAY_LENGTH, OFFSET_TYPE_INFO,
};
use runtime_support::types::RefKind;
use runtime_support::TrapCode;
use wasmparser::{FieldType, ValType};

type R<T> = Result<T, TrapCode>;

impl StoreData {
    /// Frees every struct and array nothing can reach any more (a cycle of incremental
    /// marking in progress is finished first, then a whole one runs). The store collects by
    /// itself as objects accumulate; this is for hosts (and tests) that want it now.
    pub fn collect_garbage(&mut self) {
        let roots = self.gc_roots();
        // Outside guest code no frame can hold an object the host has not seen (and pinned).
        let stack = traps::in_guest().then(traps::stack_bounds);
        self.gc_heap.get_mut().collect(&roots, stack);
    }

    /// How many collections of GC objects the store has run.
    pub fn gc_collections(&self) -> u64 {
        self.gc_heap.borrow().stats().collections
    }

    /// Collections, pause times and heap size so far.
    pub fn gc_stats(&self) -> crate::GcStats {
        self.gc_heap.borrow().stats()
    }

    /// Makes every later collection check the heap's graph afterwards (slow; on by default
    /// in debug builds), checks now that the allocation range is free, and returns what the
    /// checks found wrong so far.
    #[doc(hidden)]
    pub fn gc_verify(&mut self, on: bool) -> Vec<String> {
        let heap = self.gc_heap.get_mut();
        heap.verify = on;
        heap.check_bump();
        heap.violations.clone()
    }

    /// Makes each step of incremental marking do at most `units` of work (bytes of objects
    /// traced; about 1 ns each), so that marking spans more, shorter steps: a testing aid.
    #[doc(hidden)]
    pub fn gc_max_step(&mut self, units: usize) {
        self.gc_heap.get_mut().max_step = units.max(64);
    }

    /// The pause of each collection so far (the last 4,096), oldest first.
    pub fn gc_pauses(&self) -> Vec<std::time::Duration> {
        self.gc_heap.borrow().pauses().to_vec()
    }

    /// Bytes in GC objects not yet freed.
    pub fn gc_heap_bytes(&self) -> usize {
        self.gc_heap.borrow().bytes()
    }

    /// Words that may hold GC references outside the heap and the stack: globals and tables
    /// of the any and extern hierarchies, element segments, exception payloads.
    fn gc_roots(&self) -> Vec<usize> {
        let mut roots = Vec::new();
        for g in &self.globals {
            if let ValType::Ref(r) = g.ty.content_type {
                if ref_kind(r) == RefKind::Any {
                    // SAFETY: a live 16-byte global cell of this store.
                    roots.push(unsafe { *(g.cell as *const usize) });
                }
            }
        }
        for t in &self.tables {
            if ref_kind(t.element_type) == RefKind::Any {
                roots.extend_from_slice(&t.elements);
            }
        }
        for inst in &self.instances {
            for seg in &inst.vm.elem_segments {
                roots.extend_from_slice(seg);
            }
        }
        self.exn_heap
            .borrow()
            .for_each_payload_word(|w| roots.push(w));
        roots
    }

    /// A new zeroed object of type `info` (`length` elements for an array) with its header
    /// written. It never collects: the caller decides when that is safe (`gc_alloc`).
    pub(crate) fn gc_new(&self, info: *const VmTypeInfo, length: u32) -> R<*mut u8> {
        let size = object_size(info, length)?;
        let p = self
            .gc_heap
            .borrow_mut()
            .alloc(size)
            .ok_or(TrapCode::GcAllocationFailed)?;
        // SAFETY: a fresh object of at least `HEADER_SIZE` bytes.
        unsafe {
            *(p.add(OFFSET_TYPE_INFO as usize) as *mut *const VmTypeInfo) = info;
            *(p.add(OFFSET_ARRAY_LENGTH as usize) as *mut u32) = length;
        }
        Ok(p)
    }

    /// `gc_new` from guest code, which may collect first: every reference it holds is then
    /// on its stack or in a root.
    fn gc_new_collecting(&mut self, info: *const VmTypeInfo, length: u32) -> R<*mut u8> {
        let size = object_size(info, length)?;
        self.gc_poll(size);
        match self.gc_new(info, length) {
            // Past the limit: what a whole collection frees may make room.
            Err(_) => {
                self.collect_garbage();
                self.gc_new(info, length)
            }
            r => r,
        }
    }

    /// Before an allocation of `size` bytes: a step of the marking in progress when one is
    /// due, or a new cycle when the heap has grown enough (every reference the caller holds
    /// is on its stack or in a root).
    fn gc_poll(&mut self, size: usize) {
        let heap = self.gc_heap.get_mut();
        if heap.marking() {
            if heap.step_due() {
                heap.step();
            }
        } else if heap.wants_collection(size) {
            let roots = self.gc_roots();
            let stack = traps::in_guest().then(traps::stack_bounds);
            self.gc_heap.get_mut().begin(&roots, stack);
        }
    }

    /// A constant expression's allocation (`struct.new` and the like in a global's or
    /// element's initializer): `fields` are the values in order (the elements of an array).
    pub(crate) fn gc_new_const(
        &self,
        info: *const VmTypeInfo,
        fields: &[Val],
        element: Option<wasmparser::StorageType>,
        field_types: &[wasmparser::StorageType],
    ) -> crate::Result<Val> {
        let trap = |c| crate::Error::Trap(crate::Trap::new(c));
        let obj = self.gc_new(info, fields.len() as u32).map_err(trap)?;
        let offsets: Vec<u32> = match element {
            Some(t) => {
                let size = runtime_support::gc::storage_size(t);
                (0..fields.len() as u32)
                    .map(|i| HEADER_SIZE + i * size)
                    .collect()
            }
            None => {
                let st = wasmparser::StructType {
                    fields: field_types
                        .iter()
                        .map(|t| wasmparser::FieldType {
                            element_type: *t,
                            mutable: false,
                        })
                        .collect(),
                };
                runtime_support::gc::struct_layout(&st).offsets
            }
        };
        for (i, (v, off)) in fields.iter().zip(offsets).enumerate() {
            let t = element.unwrap_or_else(|| field_types[i]);
            let mut slot = [0u8; runtime_support::types::VALUE_SLOT_SIZE];
            v.write_slot(&mut slot).map_err(crate::Error::Link)?;
            let n = runtime_support::gc::storage_size(t) as usize;
            // SAFETY: the field lies inside the fresh object (its layout).
            unsafe { std::ptr::copy_nonoverlapping(slot.as_ptr(), obj.add(off as usize), n) };
        }
        Ok(Val::AnyRef(Some(crate::api::values::AnyRef::from_raw(
            self.id,
            obj as usize,
        ))))
    }

    /// An array of `length` elements of type `info`, each `value` (of storage type `t`):
    /// `array.new` and `array.new_default` in a constant expression.
    pub(crate) fn gc_fill_const(
        &self,
        info: *const VmTypeInfo,
        length: u32,
        value: Val,
        t: wasmparser::StorageType,
    ) -> crate::Result<Val> {
        let trap = |c| crate::Error::Trap(crate::Trap::new(c));
        let obj = self.gc_new(info, length).map_err(trap)?;
        let mut slot = [0u8; runtime_support::types::VALUE_SLOT_SIZE];
        value.write_slot(&mut slot).map_err(crate::Error::Link)?;
        if slot.iter().any(|b| *b != 0) {
            let n = runtime_support::gc::storage_size(t) as usize;
            let elems = obj.wrapping_add(HEADER_SIZE as usize);
            for i in 0..length as usize {
                // SAFETY: element `i` lies inside the fresh array (`gc_new` sized it).
                unsafe { std::ptr::copy_nonoverlapping(slot.as_ptr(), elems.add(i * n), n) };
            }
        }
        Ok(Val::AnyRef(Some(crate::api::values::AnyRef::from_raw(
            self.id,
            obj as usize,
        ))))
    }

    /// Whether `raw`, a non-null reference of the any hierarchy held by the host, is of
    /// (canonical) heap type `r`.
    pub(crate) fn any_matches(&self, raw: usize, r: wasmparser::RefType) -> bool {
        use runtime_support::gc::{I31_TAG, KIND_STRUCT};
        use wasmparser::{AbstractHeapType as A, HeapType as H};
        let object = (raw as u64 & 3 == 0).then(|| {
            // SAFETY: the caller checked that the heap holds `raw` (`owns_val`).
            unsafe { &**(raw as *const *const VmTypeInfo) }
        });
        match r.heap_type() {
            H::Abstract { ty, .. } => match ty {
                A::Any | A::Eq => raw as u64 & 3 != runtime_support::gc::HOST_TAG,
                A::I31 => raw as u64 & I31_TAG != 0,
                A::Struct => object.is_some_and(|o| o.kind == KIND_STRUCT),
                A::Array => object.is_some_and(|o| o.kind == KIND_ARRAY),
                _ => false,
            },
            H::Concrete(i) => object.is_some_and(|o| {
                i.as_module_index()
                    .is_some_and(|id| crate::vm::signatures::is_sub_id(o.id, id.into()))
            }),
            _ => false,
        }
    }

    /// Gives back a GC reference the host received (objects the host has seen are kept until
    /// released or until the store is dropped). The store may then free the object once guest
    /// code no longer reaches it. Passing `r`, or another copy of it, to the store afterwards
    /// is an error (the store no longer knows it), never a use of freed memory; receiving the
    /// object again makes it known again. (Should the memory meanwhile hold another object the
    /// host holds, a stale copy names that one: still safe, since types are read from the
    /// object itself, but a program error, as with any dangling handle.)
    pub fn gc_release(&mut self, r: crate::AnyRef) {
        // Another store's reference (or an i31) names nothing here.
        if r.store == self.id && r.as_i31().is_none() {
            self.gc_heap.get_mut().unpin(r.raw);
        }
    }

    /// Keeps a GC reference a host function received as an argument beyond the call (until
    /// `gc_release` or the store is dropped). References the host receives any other way
    /// (results of calls, globals, tables) are kept already.
    pub fn gc_keep(&mut self, r: crate::AnyRef) -> crate::Result<()> {
        self.owns_val(&Val::AnyRef(Some(r)))?;
        if r.as_i31().is_none() {
            self.gc_heap.get_mut().pin(r.raw);
        }
        Ok(())
    }

    /// Keeps a GC object the host is about to see: for the host function running, if one is
    /// (until `gc_keep`), else for the store's lifetime (until `gc_release`).
    pub(crate) fn pin_any(&self, v: &Val) {
        if let Val::AnyRef(Some(a)) = v {
            if a.as_i31().is_none() {
                self.gc_heap.borrow_mut().pin_for_host(a.raw);
            }
        }
    }
}

/// The host's view of GC objects: reading fields and elements, making structs and arrays.
impl StoreData {
    /// The object `r` names, its registered type, after checking that `r` is this store's.
    fn object_of(
        &self,
        r: crate::AnyRef,
    ) -> crate::Result<(usize, std::sync::Arc<crate::vm::signatures::TypeRecord>)> {
        if r.as_i31().is_some() {
            return Err(crate::Error::Usage("an i31 has no fields".into()));
        }
        self.owns_val(&Val::AnyRef(Some(r)))?;
        // SAFETY: a live object of this store (checked above); its header names its type.
        let id = unsafe { (**(r.raw as *const *const VmTypeInfo)).id };
        let record = crate::vm::signatures::record(id).expect("a registered type");
        Ok((r.raw, record))
    }

    /// Where field `field` of struct `r` lives, and its type.
    fn field_at(&self, r: crate::AnyRef, field: u32) -> crate::Result<(usize, FieldType)> {
        let (obj, record) = self.object_of(r)?;
        let wasmparser::CompositeInnerType::Struct(s) = &record.sub.composite_type.inner else {
            return Err(crate::Error::Usage("not a struct".into()));
        };
        let f = s
            .fields
            .get(field as usize)
            .ok_or_else(|| crate::Error::Usage(format!("the struct has no field {field}")))?;
        let offset = runtime_support::gc::struct_layout(s).offsets[field as usize];
        Ok((obj + offset as usize, *f))
    }

    /// Where element `index` of array `r` lives, checked against its length, and its type.
    fn element_at(&self, r: crate::AnyRef, index: u32) -> crate::Result<(usize, FieldType)> {
        let len = self.array_len(r)?;
        let (obj, record) = self.object_of(r)?;
        let wasmparser::CompositeInnerType::Array(a) = &record.sub.composite_type.inner else {
            unreachable!("checked by array_len")
        };
        if index >= len {
            return Err(crate::Error::Usage(format!(
                "index {index} past the array's {len} elements"
            )));
        }
        let size = runtime_support::gc::storage_size(a.0.element_type) as usize;
        Ok((obj + HEADER_SIZE as usize + index as usize * size, a.0))
    }

    /// Field `field` of struct `r` (a packed field zero-extended to an `i32`).
    pub fn struct_field(&self, r: crate::AnyRef, field: u32) -> crate::Result<Val> {
        let (at, f) = self.field_at(r, field)?;
        Ok(self.adopt(read_storage(at, f.element_type, self.id)))
    }

    /// The length of array `r`.
    pub fn array_len(&self, r: crate::AnyRef) -> crate::Result<u32> {
        let (obj, record) = self.object_of(r)?;
        if record.kind() != KIND_ARRAY {
            return Err(crate::Error::Usage("not an array".into()));
        }
        // SAFETY: a live array's header.
        Ok(unsafe { *((obj + OFFSET_ARRAY_LENGTH as usize) as *const u32) })
    }

    /// Element `index` of array `r` (a packed element zero-extended to an `i32`).
    pub fn array_get(&self, r: crate::AnyRef, index: u32) -> crate::Result<Val> {
        let (at, e) = self.element_at(r, index)?;
        Ok(self.adopt(read_storage(at, e.element_type, self.id)))
    }

    /// Sets mutable field `field` of struct `r` to `value` (an `i32` for a packed field,
    /// truncated), checked against the field's type as an argument is.
    pub fn struct_set(&mut self, r: crate::AnyRef, field: u32, value: Val) -> crate::Result<()> {
        let (at, f) = self.field_at(r, field)?;
        if !f.mutable {
            return Err(crate::Error::Usage(format!("field {field} is immutable")));
        }
        self.check_storage(&[f.element_type], &[value])?;
        self.write_field(at, f.element_type, value)
    }

    /// Sets element `index` of mutable array `r` to `value`.
    pub fn array_set(&mut self, r: crate::AnyRef, index: u32, value: Val) -> crate::Result<()> {
        let (at, e) = self.element_at(r, index)?;
        if !e.mutable {
            return Err(crate::Error::Usage("the array is immutable".into()));
        }
        self.check_storage(&[e.element_type], &[value])?;
        self.write_field(at, e.element_type, value)
    }

    /// A new struct of canonical type `type_id` (`Module::type_id`) with `fields`, each of its
    /// field's type (an `i32` for a packed field, truncated).
    pub fn struct_new(&mut self, type_id: u64, fields: &[Val]) -> crate::Result<Val> {
        let record = crate::vm::signatures::record(type_id)
            .ok_or_else(|| crate::Error::Usage(format!("no type has id {type_id}")))?;
        let wasmparser::CompositeInnerType::Struct(s) = &record.sub.composite_type.inner else {
            return Err(crate::Error::Usage(format!(
                "type {type_id} is not a struct"
            )));
        };
        let types: Vec<_> = s.fields.iter().map(|f| f.element_type).collect();
        self.check_new(&record, &types, fields)?;
        let v = self.gc_new_const(record.info, fields, None, &types)?;
        Ok(self.adopt(v))
    }

    /// A new array of canonical type `type_id` with `elements`.
    pub fn array_new(&mut self, type_id: u64, elements: &[Val]) -> crate::Result<Val> {
        let record = crate::vm::signatures::record(type_id)
            .ok_or_else(|| crate::Error::Usage(format!("no type has id {type_id}")))?;
        let wasmparser::CompositeInnerType::Array(a) = &record.sub.composite_type.inner else {
            return Err(crate::Error::Usage(format!(
                "type {type_id} is not an array"
            )));
        };
        let t = a.0.element_type;
        self.check_new(&record, &vec![t; elements.len()], elements)?;
        let v = self.gc_new_const(record.info, elements, Some(t), &[])?;
        Ok(self.adopt(v))
    }

    /// Everything `struct_new`/`array_new` check before allocating: a type the host may make
    /// (no `exnref` fields, which the exception heap would not see), values of the field
    /// types that can be stored (a host function is not yet a funcref), a length that fits;
    /// then a collection if one is due (every reference among `values` is known to the
    /// store, so none can be freed).
    fn check_new(
        &mut self,
        record: &crate::vm::signatures::TypeRecord,
        types: &[wasmparser::StorageType],
        values: &[Val],
    ) -> crate::Result<()> {
        if crate::vm::signatures::holds_exnref(&record.sub) {
            return Err(crate::Error::Usage(
                "a type with exnref fields cannot be allocated".into(),
            ));
        }
        let length = u32::try_from(values.len())
            .map_err(|_| crate::Error::Usage("too many elements".into()))?;
        self.check_storage(types, values)?;
        for v in values {
            let mut slot = [0u8; runtime_support::types::VALUE_SLOT_SIZE];
            v.write_slot(&mut slot).map_err(crate::Error::Usage)?;
        }
        let size = object_size(record.info, length)
            .map_err(|c| crate::Error::Trap(crate::Trap::new(c)))?;
        self.gc_poll(size);
        Ok(())
    }

    /// `write_storage` into a live object, greying the reference it overwrites while the
    /// collector marks (its deletion barrier; the heap checks that the word is one of its
    /// objects, so other reference kinds pass through).
    fn write_field(
        &mut self,
        at: usize,
        t: wasmparser::StorageType,
        value: Val,
    ) -> crate::Result<()> {
        if let wasmparser::StorageType::Val(ValType::Ref(_)) = t {
            // SAFETY: a reference field or element of a live object: 8 aligned bytes.
            let old = unsafe { *(at as *const usize) };
            self.gc_heap.get_mut().barrier(old);
        }
        write_storage(at, t, value)
    }

    /// An error unless each value fits its storage type (compiled code trusts field types
    /// as it trusts parameter types).
    fn check_storage(
        &self,
        types: &[wasmparser::StorageType],
        values: &[Val],
    ) -> crate::Result<()> {
        use wasmparser::StorageType as S;
        let as_val: Vec<ValType> = types
            .iter()
            .map(|t| match t {
                S::I8 | S::I16 => ValType::I32,
                S::Val(v) => *v,
            })
            .collect();
        self.check_vals(&as_val, values, "fields")
    }
}

/// Writes `value` (checked to fit) as storage type `t` at `at`.
fn write_storage(at: usize, t: wasmparser::StorageType, value: Val) -> crate::Result<()> {
    let mut slot = [0u8; runtime_support::types::VALUE_SLOT_SIZE];
    value.write_slot(&mut slot).map_err(crate::Error::Usage)?;
    let n = runtime_support::gc::storage_size(t) as usize;
    // SAFETY: the caller's field or element lies inside a live object.
    unsafe { std::ptr::copy_nonoverlapping(slot.as_ptr(), at as *mut u8, n) };
    Ok(())
}

/// A field or element of storage type `t` at `at`, as a value of `store`.
fn read_storage(at: usize, t: wasmparser::StorageType, store: crate::StoreId) -> Val {
    use wasmparser::StorageType as S;
    let mut slot = [0u8; runtime_support::types::VALUE_SLOT_SIZE];
    let n = runtime_support::gc::storage_size(t) as usize;
    // SAFETY: the caller's field or element lies inside a live object.
    unsafe { std::ptr::copy_nonoverlapping(at as *const u8, slot.as_mut_ptr(), n) };
    match t {
        S::I8 | S::I16 => Val::read_slot(&slot, ValType::I32, store),
        S::Val(v) => Val::read_slot(&slot, v, store),
    }
}

/// An object's size in bytes, or a trap for an array too large.
fn object_size(info: *const VmTypeInfo, length: u32) -> R<usize> {
    // SAFETY: registered type information is never freed.
    let ty = unsafe { &*info };
    if ty.kind != KIND_ARRAY {
        return Ok(ty.size as usize);
    }
    if u64::from(length) * u64::from(ty.size) > MAX_ARRAY_BYTES {
        return Err(TrapCode::GcAllocationFailed);
    }
    Ok(runtime_support::gc::array_size(length.into(), ty.size) as usize)
}

/// The `GcAlloc` builtin.
pub(crate) unsafe extern "C" fn gc_alloc(vmctx: *mut u8, ty: u32, length: u32) -> *mut u8 {
    let inst = of_vmctx(vmctx);
    let info = inst.module.inner.type_infos[ty as usize];
    finish_interruptible(vmctx, (*inst.store).gc_new_collecting(info, length))
}

/// The `GcBarrier` builtin: `old` is about to be overwritten in an object.
pub(crate) unsafe extern "C" fn gc_barrier(vmctx: *mut u8, old: u64) {
    let inst = of_vmctx(vmctx);
    (*inst.store).gc_heap.get_mut().barrier_traced(old as usize);
}

/// Greys the references in elements `r` of `arr` (elements at `elems`), about to be
/// overwritten, while the collector marks.
unsafe fn barrier_range(vmctx: *mut u8, arr: *mut u8, elems: *mut u8, r: &std::ops::Range<usize>) {
    let info = &**(arr.add(OFFSET_TYPE_INFO as usize) as *const *const VmTypeInfo);
    let heap = (*of_vmctx(vmctx).store).gc_heap.get_mut();
    if info.num_refs == 0 || !heap.marking() {
        return;
    }
    for k in r.clone() {
        heap.barrier_traced(*(elems as *const usize).add(k));
    }
}

/// The `IsSubtype` builtin.
pub(crate) unsafe extern "C" fn is_subtype(_vmctx: *mut u8, actual: u64, expected: u64) -> u32 {
    crate::vm::signatures::is_sub_id(actual, expected) as u32
}

/// An array's length, element size and elements; a trap for null.
unsafe fn array(arr: *mut u8) -> R<(u32, usize, *mut u8)> {
    if arr.is_null() {
        return Err(TrapCode::NullArrayReference);
    }
    let info = &**(arr.add(OFFSET_TYPE_INFO as usize) as *const *const VmTypeInfo);
    let len = *(arr.add(OFFSET_ARRAY_LENGTH as usize) as *const u32);
    Ok((len, info.size as usize, arr.add(HEADER_SIZE as usize)))
}

/// `[start, start + len)` inside `size` (32-bit operands), or `code`.
fn range(start: u32, len: u32, size: u64, code: TrapCode) -> R<std::ops::Range<usize>> {
    crate::vm::builtins::range(start.into(), len.into(), size, code)
}

pub(crate) unsafe extern "C" fn array_fill(
    vmctx: *mut u8,
    arr: *mut u8,
    index: u32,
    low: u64,
    high: u64,
    len: u32,
) {
    finish_interruptible(
        vmctx,
        (|| {
            let (n, esize, elems) = array(arr)?;
            let r = range(index, len, n.into(), TrapCode::ArrayOutOfBounds)?;
            barrier_range(vmctx, arr, elems, &r);
            // One typed store per element (element sizes are 1, 2, 4, 8 or 16; `elems` is
            // 16-aligned, each element naturally aligned).
            match esize {
                1 => std::slice::from_raw_parts_mut(elems, n as usize)[r].fill(low as u8),
                2 => std::slice::from_raw_parts_mut(elems as *mut u16, n as usize)[r]
                    .fill(low as u16),
                4 => std::slice::from_raw_parts_mut(elems as *mut u32, n as usize)[r]
                    .fill(low as u32),
                8 => std::slice::from_raw_parts_mut(elems as *mut u64, n as usize)[r].fill(low),
                _ => {
                    let v = u128::from(low) | u128::from(high) << 64;
                    std::slice::from_raw_parts_mut(elems as *mut u128, n as usize)[r].fill(v)
                }
            }
            Ok(())
        })(),
    )
}

pub(crate) unsafe extern "C" fn array_copy(
    vmctx: *mut u8,
    dst: *mut u8,
    dst_index: u32,
    src: *mut u8,
    src_index: u32,
    len: u32,
) {
    finish_interruptible(
        vmctx,
        (|| {
            let (dn, esize, d) = array(dst)?;
            let (sn, _, s) = array(src)?;
            let dr = range(dst_index, len, dn.into(), TrapCode::ArrayOutOfBounds)?;
            let sr = range(src_index, len, sn.into(), TrapCode::ArrayOutOfBounds)?;
            barrier_range(vmctx, dst, d, &dr);
            // The two may be one array: copy as memmove.
            std::ptr::copy(
                s.add(sr.start * esize),
                d.add(dr.start * esize),
                len as usize * esize,
            );
            Ok(())
        })(),
    )
}

/// The bytes of `len` elements of `esize` at `offset` of data segment `segment`.
fn data_bytes(inst: &InstanceData, segment: u32, offset: u32, len: u32, esize: usize) -> R<&[u8]> {
    let data = inst.vm.data_segment(segment);
    let bytes = u64::from(len) * esize as u64;
    let end = u64::from(offset) + bytes;
    match end <= data.len() as u64 {
        true => Ok(&data[offset as usize..end as usize]),
        false => Err(TrapCode::MemoryOutOfBounds),
    }
}

fn elem_items(inst: &InstanceData, segment: u32, offset: u32, len: u32) -> R<&[usize]> {
    let items = &inst.vm.elem_segments[segment as usize];
    let r = range(offset, len, items.len() as u64, TrapCode::TableOutOfBounds)?;
    Ok(&items[r])
}

pub(crate) unsafe extern "C" fn array_new_data(
    vmctx: *mut u8,
    ty: u32,
    segment: u32,
    offset: u32,
    len: u32,
) -> *mut u8 {
    let inst = of_vmctx(vmctx);
    let info = inst.module.inner.type_infos[ty as usize];
    let esize = (*info).size as usize;
    finish_interruptible(
        vmctx,
        (|| {
            // Bounds first: a failed `array.new_data` allocates nothing.
            data_bytes(inst, segment, offset, len, esize)?;
            let arr = (*inst.store).gc_new_collecting(info, len)?;
            let bytes = data_bytes(inst, segment, offset, len, esize)?;
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                arr.add(HEADER_SIZE as usize),
                bytes.len(),
            );
            Ok(arr)
        })(),
    )
}

pub(crate) unsafe extern "C" fn array_new_elem(
    vmctx: *mut u8,
    ty: u32,
    segment: u32,
    offset: u32,
    len: u32,
) -> *mut u8 {
    let inst = of_vmctx(vmctx);
    let info = inst.module.inner.type_infos[ty as usize];
    finish_interruptible(
        vmctx,
        (|| {
            elem_items(inst, segment, offset, len)?;
            let arr = (*inst.store).gc_new_collecting(info, len)?;
            let items = elem_items(inst, segment, offset, len)?;
            let elems = arr.add(HEADER_SIZE as usize) as *mut usize;
            std::ptr::copy_nonoverlapping(items.as_ptr(), elems, items.len());
            Ok(arr)
        })(),
    )
}

pub(crate) unsafe extern "C" fn array_init_data(
    vmctx: *mut u8,
    segment: u32,
    arr: *mut u8,
    index: u32,
    offset: u32,
    len: u32,
) {
    let inst = of_vmctx(vmctx);
    finish_interruptible(
        vmctx,
        (|| {
            let (n, esize, elems) = array(arr)?;
            let d = range(index, len, n.into(), TrapCode::ArrayOutOfBounds)?;
            let bytes = data_bytes(inst, segment, offset, len, esize)?;
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), elems.add(d.start * esize), bytes.len());
            Ok(())
        })(),
    )
}

pub(crate) unsafe extern "C" fn array_init_elem(
    vmctx: *mut u8,
    segment: u32,
    arr: *mut u8,
    index: u32,
    offset: u32,
    len: u32,
) {
    let inst = of_vmctx(vmctx);
    finish_interruptible(
        vmctx,
        (|| {
            let (n, _, elems) = array(arr)?;
            let d = range(index, len, n.into(), TrapCode::ArrayOutOfBounds)?;
            let items = elem_items(inst, segment, offset, len)?;
            barrier_range(vmctx, arr, elems, &d);
            let elems = elems as *mut usize;
            std::ptr::copy_nonoverlapping(items.as_ptr(), elems.add(d.start), items.len());
            Ok(())
        })(),
    )
}
