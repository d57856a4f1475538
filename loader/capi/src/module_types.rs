//! A module's imports and exports with their types (`wasm_module_imports`,
//! `wasm_module_exports`). Every import and export is listed, in the module's order, so the
//! lists' indices agree with `wasm_instance_new`'s imports and `wasm_instance_exports`: tags
//! have waot.h's kind, and a value type C has no kind for reports the kind its values cross
//! as (`reported_kind`).

use crate::runtime::wasm_module_t;
use crate::types::{
    c_limits, waot_tagtype_t, wasm_externtype_t, wasm_functype_t, wasm_globaltype_t,
    wasm_memorytype_t, wasm_tabletype_t,
};
use crate::values::reported_kind;
use crate::vec::{wasm_byte_vec_t, wasm_exporttype_vec_t, wasm_importtype_vec_t};
use runtime_support::module_info::{ImportKind, ModuleInfo};
use waot::ValType;
use wasmparser::{ExternalKind, GlobalType, MemoryType, TableType};

pub struct wasm_importtype_t {
    module: wasm_byte_vec_t,
    name: wasm_byte_vec_t,
    ty: Box<wasm_externtype_t>,
}

pub struct wasm_exporttype_t {
    name: wasm_byte_vec_t,
    ty: Box<wasm_externtype_t>,
}

fn name(s: &str) -> wasm_byte_vec_t {
    wasm_byte_vec_t::from_vec(s.as_bytes().to_vec())
}

fn copy_name(v: &wasm_byte_vec_t) -> wasm_byte_vec_t {
    wasm_byte_vec_t::from_vec(v.as_slice().to_vec())
}

impl Clone for wasm_importtype_t {
    fn clone(&self) -> Self {
        wasm_importtype_t {
            module: copy_name(&self.module),
            name: copy_name(&self.name),
            ty: self.ty.clone(),
        }
    }
}

impl Clone for wasm_exporttype_t {
    fn clone(&self) -> Self {
        wasm_exporttype_t {
            name: copy_name(&self.name),
            ty: self.ty.clone(),
        }
    }
}

impl Drop for wasm_importtype_t {
    fn drop(&mut self) {
        // SAFETY: the names are owned.
        unsafe {
            crate::vec::wasm_byte_vec_delete(&mut self.module);
            crate::vec::wasm_byte_vec_delete(&mut self.name);
        }
    }
}

impl Drop for wasm_exporttype_t {
    fn drop(&mut self) {
        // SAFETY: the name is owned.
        unsafe { crate::vec::wasm_byte_vec_delete(&mut self.name) }
    }
}

/// Takes a boxed type made by one of the `new_boxed` constructors.
///
/// # Safety
/// `p` must come from `Box::into_raw` of a `wasm_externtype_t` (or a transparent wrapper).
unsafe fn take<T>(p: *mut T) -> Box<wasm_externtype_t> {
    Box::from_raw(p as *mut wasm_externtype_t)
}

fn kinds(types: &[ValType], info: &ModuleInfo) -> Vec<u8> {
    types.iter().map(|t| reported_kind(*t, info)).collect()
}

/// Function type `type_index`, in the module's own type indices (`Module::signature` has
/// canonical ids instead); validation makes it a function type.
fn func_type(info: &ModuleInfo, type_index: u32) -> Box<wasm_externtype_t> {
    let (params, results) = info
        .types
        .get(type_index as usize)
        .map_or((vec![], vec![]), |f| {
            (kinds(f.params(), info), kinds(f.results(), info))
        });
    let t = wasm_functype_t::from_kinds(&params, &results);
    // SAFETY: just made by `from_kinds`.
    unsafe { take(t) }
}

fn tag_type(info: &ModuleInfo, type_index: u32) -> Box<wasm_externtype_t> {
    let params = info
        .types
        .get(type_index as usize)
        .map_or(&[][..], |f| f.params());
    // SAFETY: just made by `from_kinds`.
    unsafe { take(waot_tagtype_t::from_kinds(&kinds(params, info))) }
}

fn table_type(t: &TableType, info: &ModuleInfo) -> Box<wasm_externtype_t> {
    let kind = reported_kind(ValType::Ref(t.element_type), info);
    // SAFETY: just made by `new_boxed`.
    unsafe {
        take(wasm_tabletype_t::new_boxed(
            kind,
            c_limits(t.initial, t.maximum),
        ))
    }
}

fn memory_type(m: &MemoryType) -> Box<wasm_externtype_t> {
    // SAFETY: just made by `new_boxed`.
    unsafe { take(wasm_memorytype_t::new_boxed(c_limits(m.initial, m.maximum))) }
}

fn global_type(g: &GlobalType, info: &ModuleInfo) -> Box<wasm_externtype_t> {
    let kind = reported_kind(g.content_type, info);
    // SAFETY: just made by `new_boxed`.
    unsafe { take(wasm_globaltype_t::new_boxed(kind, g.mutable as u8)) }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_module_imports(
    module: *const wasm_module_t,
    out: *mut wasm_importtype_vec_t,
) {
    let module = &*module;
    let imports = module
        .info()
        .imports
        .iter()
        .map(|i| {
            let info = module.info();
            let ty = match &i.kind {
                ImportKind::Func(t) => func_type(info, *t),
                ImportKind::Table(t) => table_type(t, info),
                ImportKind::Memory(m) => memory_type(m),
                ImportKind::Global(g) => global_type(g, info),
                ImportKind::Tag(t) => tag_type(info, *t),
            };
            Box::new(wasm_importtype_t {
                module: name(&i.module),
                name: name(&i.name),
                ty,
            })
        })
        .collect();
    out.write(wasm_importtype_vec_t::from_boxes(imports));
}

#[no_mangle]
pub unsafe extern "C" fn wasm_module_exports(
    module: *const wasm_module_t,
    out: *mut wasm_exporttype_vec_t,
) {
    let module = &*module;
    let info = module.info();
    let exports = info
        .exports
        .iter()
        .map(|e| {
            let i = e.index as usize;
            let ty = match e.kind {
                ExternalKind::Func => func_type(info, info.funcs[i]),
                ExternalKind::Table => table_type(&info.tables[i], info),
                ExternalKind::Memory => memory_type(&info.memories[i]),
                ExternalKind::Global => global_type(&info.globals[i], info),
                ExternalKind::Tag => tag_type(info, info.tags[i]),
                // The only kind left; a valid module exports no other.
                ExternalKind::FuncExact => func_type(info, info.funcs[i]),
            };
            Box::new(wasm_exporttype_t {
                name: name(&e.name),
                ty,
            })
        })
        .collect();
    out.write(wasm_exporttype_vec_t::from_boxes(exports));
}

#[no_mangle]
pub unsafe extern "C" fn wasm_importtype_module(
    t: *const wasm_importtype_t,
) -> *const wasm_byte_vec_t {
    &(*t).module
}

#[no_mangle]
pub unsafe extern "C" fn wasm_importtype_name(
    t: *const wasm_importtype_t,
) -> *const wasm_byte_vec_t {
    &(*t).name
}

#[no_mangle]
pub unsafe extern "C" fn wasm_importtype_type(
    t: *const wasm_importtype_t,
) -> *const wasm_externtype_t {
    &*(*t).ty
}

#[no_mangle]
pub unsafe extern "C" fn wasm_importtype_delete(t: *mut wasm_importtype_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_exporttype_name(
    t: *const wasm_exporttype_t,
) -> *const wasm_byte_vec_t {
    &(*t).name
}

#[no_mangle]
pub unsafe extern "C" fn wasm_exporttype_type(
    t: *const wasm_exporttype_t,
) -> *const wasm_externtype_t {
    &*(*t).ty
}

#[no_mangle]
pub unsafe extern "C" fn wasm_exporttype_delete(t: *mut wasm_exporttype_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}
