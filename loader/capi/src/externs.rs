//! Externals: functions, globals, memories and tables. Each is a handle of the library and the
//! store it belongs to; `wasm_func_t` and the others are the same object as `wasm_extern_t`,
//! so the casts return their argument.

use crate::interp::InterpExt;
use crate::runtime::wasm_store_t;
use crate::trap::wasm_trap_t;
use crate::types::{
    c_limits, wasm_functype_t, wasm_globaltype_t, wasm_memorytype_t, wasm_tabletype_t,
    LIMITS_MAX_DEFAULT,
};
use crate::values::{kind_of, store_kind, type_of, wasm_ref_t, wasm_val_t};
use crate::vec::wasm_val_vec_t;
use crate::vec::Element;
use crate::wasmi;
use std::ffi::c_void;
use waot::{Extern, Func, Global, Memory, StoreData, Table, Tag, Trap, Val, ValType};

#[derive(Clone)]
pub struct wasm_extern_t {
    pub(crate) store: *mut StoreData,
    pub(crate) ext: Ext,
    /// A compiled function's lookup, made at its first `wasm_func_call`.
    pub(crate) prepared: std::cell::OnceCell<Option<crate::call::Prepared>>,
    /// A function's `wasm_func_as_ref`, made when first asked for.
    pub(crate) as_ref: std::cell::OnceCell<Box<wasm_ref_t>>,
    /// What of a function's signature C cannot hand over, found at its first general call.
    pub(crate) crossing: std::cell::OnceCell<crate::values::Crossing>,
}

/// An external of native code (or made by the host), or of the interpreter.
#[derive(Clone)]
pub(crate) enum Ext {
    Native(Extern),
    Interp(InterpExt),
}

impl Ext {
    /// Its `wasm_externkind_t`.
    fn kind(&self) -> wasm_externkind_t {
        use wasmi::Extern as W;
        match self {
            Ext::Native(Extern::Func(_)) => WASM_EXTERN_FUNC,
            Ext::Native(Extern::Global(_)) => WASM_EXTERN_GLOBAL,
            Ext::Native(Extern::Table(_)) => WASM_EXTERN_TABLE,
            Ext::Native(Extern::Memory(_)) => WASM_EXTERN_MEMORY,
            Ext::Native(Extern::Tag(_)) => crate::types::WAOT_EXTERN_TAG,
            Ext::Interp(i) => match i.ext {
                W::Func(_) => WASM_EXTERN_FUNC,
                W::Global(_) => WASM_EXTERN_GLOBAL,
                W::Table(_) => WASM_EXTERN_TABLE,
                W::Memory(_) => WASM_EXTERN_MEMORY,
            },
        }
    }
}

const WASM_EXTERN_FUNC: wasm_externkind_t = 0;
const WASM_EXTERN_GLOBAL: wasm_externkind_t = 1;
const WASM_EXTERN_TABLE: wasm_externkind_t = 2;
const WASM_EXTERN_MEMORY: wasm_externkind_t = 3;

/// What an external's handle names: an object of the native store, or of the interpreter.
pub(crate) enum Target<'a, H, W> {
    Native(&'a mut StoreData, H),
    Interp(&'a InterpExt, W),
}

#[repr(transparent)]
pub struct wasm_func_t(pub(crate) wasm_extern_t);
#[repr(transparent)]
pub struct wasm_global_t(pub(crate) wasm_extern_t);
#[repr(transparent)]
pub struct wasm_memory_t(wasm_extern_t);
#[repr(transparent)]
pub struct wasm_table_t(wasm_extern_t);
/// waot.h: an exception tag.
#[repr(transparent)]
pub struct waot_tag_t(pub(crate) wasm_extern_t);

pub type wasm_externkind_t = u8;

pub(crate) fn new_extern(store: *mut StoreData, ext: Ext) -> wasm_extern_t {
    wasm_extern_t {
        store,
        ext,
        prepared: Default::default(),
        as_ref: Default::default(),
        crossing: Default::default(),
    }
}

pub(crate) fn boxed(store: *mut StoreData, ext: Extern) -> *mut wasm_extern_t {
    Box::into_raw(Box::new(new_extern(store, Ext::Native(ext))))
}

macro_rules! delete_and_cast {
    ($t:ident, $kind:expr, $delete:ident, $as_extern:ident, $from_extern:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $delete(p: *mut $t) {
            if !p.is_null() {
                drop(Box::from_raw(p as *mut wasm_extern_t));
            }
        }

        #[no_mangle]
        pub extern "C" fn $as_extern(p: *mut $t) -> *mut wasm_extern_t {
            p as *mut wasm_extern_t
        }

        /// Null when the external is of another kind.
        #[no_mangle]
        pub unsafe extern "C" fn $from_extern(e: *mut wasm_extern_t) -> *mut $t {
            match (*e).ext.kind() == $kind {
                true => e as *mut $t,
                false => std::ptr::null_mut(),
            }
        }
    };
}

/// `handle` for an external kind that both sides have.
macro_rules! target {
    ($t:ident, $variant:ident) => {
        impl $t {
            /// The object's store and handle.
            ///
            /// # Safety
            /// `p` must point to a live object, whose store is alive (the C API's rule).
            pub(crate) unsafe fn handle<'a>(p: *const $t) -> Target<'a, $variant, wasmi::$variant> {
                match &(*p).0.ext {
                    Ext::Native(Extern::$variant(h)) => Target::Native(&mut *(*p).0.store, *h),
                    Ext::Interp(i) => match i.ext {
                        wasmi::Extern::$variant(h) => Target::Interp(i, h),
                        _ => unreachable!("made by a checked cast"),
                    },
                    _ => unreachable!("made by a checked cast"),
                }
            }
        }
    };
}

delete_and_cast!(
    wasm_func_t,
    WASM_EXTERN_FUNC,
    wasm_func_delete,
    wasm_func_as_extern,
    wasm_extern_as_func
);
delete_and_cast!(
    wasm_global_t,
    WASM_EXTERN_GLOBAL,
    wasm_global_delete,
    wasm_global_as_extern,
    wasm_extern_as_global
);
delete_and_cast!(
    wasm_memory_t,
    WASM_EXTERN_MEMORY,
    wasm_memory_delete,
    wasm_memory_as_extern,
    wasm_extern_as_memory
);
delete_and_cast!(
    waot_tag_t,
    crate::types::WAOT_EXTERN_TAG,
    waot_tag_delete,
    waot_tag_as_extern,
    waot_extern_as_tag
);
delete_and_cast!(
    wasm_table_t,
    WASM_EXTERN_TABLE,
    wasm_table_delete,
    wasm_table_as_extern,
    wasm_extern_as_table
);
target!(wasm_func_t, Func);
target!(wasm_global_t, Global);
target!(wasm_memory_t, Memory);
target!(wasm_table_t, Table);

impl waot_tag_t {
    /// The tag's store and handle (only native code has tags).
    ///
    /// # Safety
    /// As the others' `handle`.
    pub(crate) unsafe fn handle<'a>(p: *const waot_tag_t) -> (&'a mut StoreData, Tag) {
        let Ext::Native(Extern::Tag(h)) = (*p).0.ext else {
            unreachable!("made by a checked cast")
        };
        (&mut *(*p).0.store, h)
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_extern_kind(e: *const wasm_extern_t) -> wasm_externkind_t {
    (*e).ext.kind()
}

#[no_mangle]
pub unsafe extern "C" fn wasm_extern_copy(e: *const wasm_extern_t) -> *mut wasm_extern_t {
    Box::into_raw(Box::new((*e).clone()))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_extern_delete(e: *mut wasm_extern_t) {
    if !e.is_null() {
        drop(Box::from_raw(e));
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_func_copy(f: *const wasm_func_t) -> *mut wasm_func_t {
    wasm_extern_copy(f as *const wasm_extern_t) as *mut wasm_func_t
}

/// A host function's environment: the finalizer runs exactly once, when the store drops the
/// function.
pub(crate) struct Env {
    pub(crate) env: *mut c_void,
    pub(crate) finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
}

// SAFETY: the environment is the embedder's; the C API makes it responsible for using it from
// the threads it calls the store from.
unsafe impl Send for Env {}
unsafe impl Sync for Env {}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer {
            // SAFETY: the embedder's finalizer for its own environment.
            unsafe { f(self.env) }
        }
    }
}

type Callback =
    unsafe extern "C" fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> *mut wasm_trap_t;
type CallbackWithEnv = unsafe extern "C" fn(
    *mut c_void,
    *const wasm_val_vec_t,
    *mut wasm_val_vec_t,
) -> *mut wasm_trap_t;

enum HostCallback {
    Plain(Callback),
    WithEnv(CallbackWithEnv, Env),
}

unsafe fn new_host_func(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: HostCallback,
) -> *mut wasm_func_t {
    let types = (*ty).types();
    // A v128 cannot cross as a `wasm_val_t` (`waot_func_new` takes it).
    let v128 =
        |(p, r): &(Vec<ValType>, Vec<ValType>)| p.iter().chain(r).any(|t| *t == ValType::V128);
    let Some((params, results)) = types.ok().filter(|t| !v128(t)) else {
        // The embedder keeps its environment when no function was made: no finalizer.
        std::mem::forget(callback);
        return std::ptr::null_mut();
    };
    let kinds: Vec<u8> = results.iter().filter_map(|t| kind_of(*t)).collect();
    let data = (*store).data();
    let f = (*data).func_new(&params, &results, move |caller, args, out| {
        let store: *mut StoreData = &mut *caller.store;
        let mut c_args = args
            .iter()
            .map(|v| wasm_val_t::from_val(store, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Trap::host)?;
        let mut c_results: Vec<wasm_val_t> = kinds
            .iter()
            .map(|&kind| wasm_val_t {
                kind,
                ..Default::default()
            })
            .collect();
        let args_vec = wasm_val_vec_t {
            size: c_args.len(),
            data: c_args.as_ptr() as *mut wasm_val_t,
        };
        let mut results_vec = wasm_val_vec_t {
            size: c_results.len(),
            data: c_results.as_mut_ptr(),
        };
        // SAFETY: the embedder's callback, with vectors that live across the call.
        let trap = unsafe {
            match &callback {
                HostCallback::Plain(cb) => cb(&args_vec, &mut results_vec),
                HostCallback::WithEnv(cb, env) => cb(env.env, &args_vec, &mut results_vec),
            }
        };
        // The arguments' references were lent to the callback; its results are ours.
        let converted = if trap.is_null() {
            out.iter_mut().zip(&c_results).try_for_each(|(slot, v)| {
                *slot = v.to_val().map_err(Trap::host)?;
                Ok(())
            })
        } else {
            // SAFETY: the callback hands over a trap it owns.
            Err(unsafe { Box::from_raw(trap) }.trap)
        };
        c_args.iter_mut().for_each(Element::release);
        c_results.iter_mut().for_each(Element::release);
        converted
    });
    boxed(data, Extern::Func(f)) as *mut wasm_func_t
}

#[no_mangle]
pub unsafe extern "C" fn wasm_func_new(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Callback,
) -> *mut wasm_func_t {
    new_host_func(store, ty, HostCallback::Plain(callback))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_func_new_with_env(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: CallbackWithEnv,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut wasm_func_t {
    new_host_func(
        store,
        ty,
        HostCallback::WithEnv(callback, Env { env, finalizer }),
    )
}

#[no_mangle]
pub unsafe extern "C" fn wasm_func_type(f: *const wasm_func_t) -> *mut wasm_functype_t {
    let kinds = |ts: &[ValType]| ts.iter().map(|t| store_kind(*t)).collect::<Vec<_>>();
    match wasm_func_t::handle(f) {
        Target::Native(store, h) => store.func_signature(h).map_or(std::ptr::null_mut(), |sig| {
            wasm_functype_t::from_kinds(&kinds(&sig.params), &kinds(&sig.results))
        }),
        Target::Interp(i, h) => {
            let (params, results) = i.func_types(h);
            wasm_functype_t::from_kinds(&kinds(&params), &kinds(&results))
        }
    }
}

/// The function's numbers of parameters and results (0 and 0 for one that is gone).
pub(crate) unsafe fn func_arity(f: *const wasm_func_t) -> (usize, usize) {
    match wasm_func_t::handle(f) {
        Target::Native(store, h) => store.func_arity(h).unwrap_or((0, 0)),
        Target::Interp(i, h) => {
            let (params, results) = i.func_types(h);
            (params.len(), results.len())
        }
    }
}

/// The function's parameter and result types, by either side (none for one that is gone).
pub(crate) unsafe fn func_types(f: *const wasm_func_t) -> Option<(Vec<ValType>, Vec<ValType>)> {
    match wasm_func_t::handle(f) {
        Target::Native(store, h) => store.func_signature(h).ok().map(|s| (s.params, s.results)),
        Target::Interp(i, h) => Some(i.func_types(h)),
    }
}

/// Calls the function with `args`, its results written to `outs` (one slot for each), by
/// either side.
pub(crate) unsafe fn func_call(
    f: *const wasm_func_t,
    args: &[Val],
    outs: &mut [Val],
) -> waot::Result<()> {
    match wasm_func_t::handle(f) {
        Target::Native(store, h) => store.call_into(h, args, outs),
        Target::Interp(i, h) => {
            // A copy: a host function the call reaches may delete the function object.
            let values = i.clone().call(h, args)?;
            outs.iter_mut().zip(values).for_each(|(o, v)| *o = v);
            Ok(())
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_func_param_arity(f: *const wasm_func_t) -> usize {
    func_arity(f).0
}

#[no_mangle]
pub unsafe extern "C" fn wasm_func_result_arity(f: *const wasm_func_t) -> usize {
    func_arity(f).1
}

#[no_mangle]
pub unsafe extern "C" fn wasm_global_new(
    store: *mut wasm_store_t,
    ty: *const wasm_globaltype_t,
    value: *const wasm_val_t,
) -> *mut wasm_global_t {
    new_global(store, ty, (*value).to_val())
}

/// A global of type `ty` holding `value` (a C value converted, its reference lent); null for
/// a type without a C kind or a value that is not of it. `waot_global_new` shares it.
pub(crate) unsafe fn new_global(
    store: *mut wasm_store_t,
    ty: *const wasm_globaltype_t,
    value: Result<Val, String>,
) -> *mut wasm_global_t {
    let data = (*store).data();
    let (kind, mutability) = (*ty).parts();
    let Some(content_type) = type_of(kind) else {
        return std::ptr::null_mut();
    };
    let ty = waot::GlobalType {
        content_type,
        mutable: mutability == 1,
        shared: false,
    };
    let made = value
        .map_err(waot::Error::Usage)
        .and_then(|v| (*data).global_new(ty, v));
    match made {
        Ok(g) => boxed(data, Extern::Global(g)) as *mut wasm_global_t,
        Err(_) => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_global_type(g: *const wasm_global_t) -> *mut wasm_globaltype_t {
    let ty = match wasm_global_t::handle(g) {
        Target::Native(store, h) => store.global_type(h).map(|t| (t.content_type, t.mutable)),
        Target::Interp(i, h) => Ok(i.global_type(h)),
    };
    match ty {
        Ok((t, mutable)) => wasm_globaltype_t::new_boxed(store_kind(t), mutable as u8),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The global's value, by either side.
pub(crate) unsafe fn global_get(g: *const wasm_global_t) -> waot::Result<Val> {
    match wasm_global_t::handle(g) {
        Target::Native(store, h) => store.global_get(h),
        Target::Interp(i, h) => i.global_get(h),
    }
}

/// Sets the global, by either side.
pub(crate) unsafe fn global_set(g: *const wasm_global_t, v: Val) -> waot::Result<()> {
    match wasm_global_t::handle(g) {
        Target::Native(store, h) => store.global_set(h, v),
        Target::Interp(i, h) => i.global_set(h, &v),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_global_get(g: *const wasm_global_t, out: *mut wasm_val_t) {
    let v = global_get(g)
        .ok()
        .and_then(|v| wasm_val_t::from_val((*g).0.store, &v).ok())
        .unwrap_or_default();
    out.write(v);
}

/// Sets a mutable global; a value of another type, or a constant global, is left unchanged.
#[no_mangle]
pub unsafe extern "C" fn wasm_global_set(g: *mut wasm_global_t, value: *const wasm_val_t) {
    if let Ok(v) = (*value).to_val() {
        let _ = global_set(g, v);
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memory_new(
    store: *mut wasm_store_t,
    ty: *const wasm_memorytype_t,
) -> *mut wasm_memory_t {
    let data = (*store).data();
    let limits = (*ty).limits();
    let max = (limits.max != LIMITS_MAX_DEFAULT).then_some(limits.max as u64);
    match (*data).memory_new(limits.min as u64, max) {
        Ok(m) => boxed(data, Extern::Memory(m)) as *mut wasm_memory_t,
        Err(_) => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memory_type(m: *const wasm_memory_t) -> *mut wasm_memorytype_t {
    let limits = match wasm_memory_t::handle(m) {
        Target::Native(store, h) => match store.memory_type(h) {
            Ok(t) => (t.initial, t.maximum),
            Err(_) => return std::ptr::null_mut(),
        },
        Target::Interp(i, h) => i.memory_type(h),
    };
    wasm_memorytype_t::new_boxed(c_limits(limits.0, limits.1))
}

/// The memory's bytes; null for a shared memory, whose bytes other threads change.
#[no_mangle]
pub unsafe extern "C" fn wasm_memory_data(m: *mut wasm_memory_t) -> *mut u8 {
    match wasm_memory_t::handle(m) {
        Target::Native(store, h) => store
            .memory_data_mut(h)
            .map_or(std::ptr::null_mut(), |d| d.as_mut_ptr()),
        Target::Interp(i, h) => i.memory_data(h).0,
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memory_data_size(m: *const wasm_memory_t) -> usize {
    match wasm_memory_t::handle(m) {
        Target::Native(store, h) => store.memory_data(h).map_or(0, |d| d.len()),
        Target::Interp(i, h) => i.memory_data(h).1,
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memory_size(m: *const wasm_memory_t) -> u32 {
    let pages = match wasm_memory_t::handle(m) {
        Target::Native(store, h) => store.memory_pages(h).unwrap_or(0),
        Target::Interp(i, h) => i.memory_pages(h),
    };
    pages.min(u32::MAX as u64) as u32
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memory_grow(m: *mut wasm_memory_t, delta: u32) -> bool {
    match wasm_memory_t::handle(m) {
        Target::Native(store, h) => store.memory_grow(h, delta as u64).is_ok(),
        Target::Interp(i, h) => i.memory_grow(h, delta as u64),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_table_size(t: *const wasm_table_t) -> u32 {
    let size = match wasm_table_t::handle(t) {
        Target::Native(store, h) => store.table_size(h).unwrap_or(0),
        Target::Interp(i, h) => i.table_size(h),
    };
    size.min(u32::MAX as u64) as u32
}

/// A reference argument as a value for table `h`: a null pointer is the table's null.
unsafe fn table_val(store: &StoreData, h: Table, r: *const wasm_ref_t) -> Option<Val> {
    match r.as_ref() {
        Some(r) => Some(r.val),
        None => {
            let ty = store.table_type(h).ok()?;
            let kind = kind_of(waot::ValType::Ref(ty.element_type))?;
            wasm_val_t {
                kind,
                ..Default::default()
            }
            .to_val()
            .ok()
        }
    }
}

/// A table of `ty` filled with `init` (borrowed; null for the null reference).
#[no_mangle]
pub unsafe extern "C" fn wasm_table_new(
    store: *mut wasm_store_t,
    ty: *const wasm_tabletype_t,
    init: *mut wasm_ref_t,
) -> *mut wasm_table_t {
    let data = (*store).data();
    let element = (*crate::types::wasm_tabletype_element(ty)).kind;
    let limits = *crate::types::wasm_tabletype_limits(ty);
    let Some(waot::ValType::Ref(element)) = type_of(element) else {
        return std::ptr::null_mut();
    };
    let max = (limits.max != LIMITS_MAX_DEFAULT).then_some(limits.max as u64);
    let Ok(t) = (*data).table_new(element, 0, max) else {
        return std::ptr::null_mut();
    };
    let filled = table_val(&*data, t, init)
        .ok_or(())
        .and_then(|v| (*data).table_grow(t, limits.min as u64, v).map_err(drop));
    match filled {
        Ok(_) => boxed(data, Extern::Table(t)) as *mut wasm_table_t,
        Err(()) => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_table_type(t: *const wasm_table_t) -> *mut wasm_tabletype_t {
    let (element, initial, maximum) = match wasm_table_t::handle(t) {
        Target::Native(store, h) => match store.table_type(h) {
            Ok(ty) => (waot::ValType::Ref(ty.element_type), ty.initial, ty.maximum),
            Err(_) => return std::ptr::null_mut(),
        },
        Target::Interp(i, h) => i.table_type(h),
    };
    wasm_tabletype_t::new_boxed(store_kind(element), c_limits(initial, maximum))
}

/// Element `index`: a reference the caller owns, or null for a null element or past the end.
#[no_mangle]
pub unsafe extern "C" fn wasm_table_get(t: *const wasm_table_t, index: u32) -> *mut wasm_ref_t {
    let got = match wasm_table_t::handle(t) {
        Target::Native(store, h) => store.table_get(h, index as u64).ok().flatten(),
        Target::Interp(i, h) => i.table_get(h, index as u64).ok(),
    };
    match got {
        Some(v) => wasm_ref_t::from_val((*t).0.store, v),
        None => std::ptr::null_mut(),
    }
}

/// Sets element `index` to `r` (borrowed; null for the null reference). False, with the table
/// unchanged, past the end or for a reference of another type or store.
#[no_mangle]
pub unsafe extern "C" fn wasm_table_set(
    t: *mut wasm_table_t,
    index: u32,
    r: *mut wasm_ref_t,
) -> bool {
    match wasm_table_t::handle(t) {
        Target::Native(store, h) => match table_val(store, h, r) {
            Some(v) => store.table_set(h, index as u64, v).is_ok(),
            None => false,
        },
        Target::Interp(i, h) => match interp_ref(t, r) {
            Ok(v) => i.table_set(h, index as u64, v).is_ok(),
            Err(()) => false,
        },
    }
}

/// A reference for an interpreted table: a null pointer is the null reference (`None`); a
/// function of another store is refused (an externref is the host's value, whatever store
/// made its object).
unsafe fn interp_ref<'a>(
    t: *const wasm_table_t,
    r: *const wasm_ref_t,
) -> Result<Option<&'a Val>, ()> {
    match r.as_ref() {
        None => Ok(None),
        Some(r) if std::ptr::eq(r.store, (*t).0.store) => Ok(Some(&r.val)),
        Some(r) if matches!(r.val, Val::ExternRef(_)) => Ok(Some(&r.val)),
        Some(_) => Err(()),
    }
}

/// Grows the table by `delta` elements set to `init`; false past its maximum or a limit.
#[no_mangle]
pub unsafe extern "C" fn wasm_table_grow(
    t: *mut wasm_table_t,
    delta: u32,
    init: *mut wasm_ref_t,
) -> bool {
    match wasm_table_t::handle(t) {
        Target::Native(store, h) => match table_val(store, h, init) {
            Some(v) => store.table_grow(h, delta as u64, v).is_ok(),
            None => false,
        },
        Target::Interp(i, h) => match interp_ref(t, init) {
            Ok(v) => i.table_grow(h, delta as u64, v).is_ok(),
            Err(()) => false,
        },
    }
}
