//! Tags and exception objects (the exception-handling proposal), host side.
//!
//! The store owns every tag and every exception object. A tag's identity is the address of
//! its `VmTag`, which compiled code compares; an exception object is laid out as
//! `runtime_support::exception` says. A handler that catches an object nothing else can
//! reference frees it; one that has been an `exnref` value (which may be kept anywhere, and
//! compiled code keeps no count of them) lives until the store is dropped.
//!
//! Throwing happens in `trap_catch.c` (a forced unwind); what reaches the catch point of a
//! call from the host comes back here through `waot_exception_escaped` and is decoded into an
//! `Exception` of the call's error.

use crate::store::{StoreData, Tag};
use crate::values::Val;
use crate::Trap;
use runtime_support::exception::{self as layout, object_size, payload_offset};
use runtime_support::types::VALUE_SLOT_SIZE;
use runtime_support::vmctx::VmTag;
use std::alloc::Layout;
use std::ffi::c_void;
use wasmparser::ValType;

/// An exception that no wasm handler caught: its tag and payload. A host function returns it
/// (inside a `Trap`, see `StoreData::exception_new`) to throw it into its wasm caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Exception {
    /// The tag, when it belongs to this store.
    pub tag: Option<Tag>,
    pub payload: Vec<Val>,
    pub(crate) object: *mut u8,
}

/// A tag: its identity (the `VmTag`'s address) and its parameter types.
pub(crate) struct TagData {
    pub vm: VmTag,
    pub params: Vec<ValType>,
}

/// One exception object, freed with the store.
pub(crate) struct ExnAllocation {
    ptr: *mut u8,
    layout: Layout,
}

impl Drop for ExnAllocation {
    fn drop(&mut self) {
        // SAFETY: allocated in `StoreData::alloc_exception` with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) }
    }
}

impl StoreData {
    /// Defines a tag with parameters `params` (a host-made tag, to import into instances).
    pub fn tag_new(&mut self, params: &[ValType]) -> Tag {
        let sig = runtime_support::types::Signature::new(params, &[]);
        let type_id = crate::signatures::intern(&sig);
        self.tags.push(Box::new(TagData {
            vm: VmTag { type_id },
            params: params.to_vec(),
        }));
        Tag(self.tags.len() - 1)
    }

    /// Exception objects the store holds: those exposed as `exnref` values or to the host,
    /// and any in flight.
    pub fn live_exceptions(&self) -> usize {
        self.exceptions.len()
    }

    pub fn tag_params(&self, tag: Tag) -> &[ValType] {
        &self.tags[tag.0].params
    }

    pub(crate) fn tag_identity(&self, tag: Tag) -> *const VmTag {
        &self.tags[tag.0].vm
    }

    /// A new exception object of `tag` with a zeroed payload.
    pub(crate) fn alloc_exception(&mut self, tag: Tag) -> *mut u8 {
        let n = self.tags[tag.0].params.len() as u32;
        let layout = Layout::from_size_align(object_size(n), 16).expect("small object");
        // SAFETY: non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the object is large enough for its header.
        unsafe {
            *(ptr.add(layout::OFFSET_TAG as usize) as *mut *const VmTag) = self.tag_identity(tag);
            *(ptr.add(layout::OFFSET_LEN as usize) as *mut u32) = n;
        }
        self.exceptions
            .insert(ptr as usize, ExnAllocation { ptr, layout });
        ptr
    }

    /// Frees a caught exception object unless it has been exposed as an `exnref`.
    pub(crate) fn release_exception(&mut self, exn: *mut u8) {
        // SAFETY: `exn` is a live object of this store (compiled code frees each at most once).
        let flags = unsafe { *(exn.add(layout::OFFSET_FLAGS as usize) as *const u32) };
        if flags & layout::FLAG_EXPOSED == 0 {
            self.exceptions.remove(&(exn as usize));
        }
    }

    /// An error that, returned by a host function, throws a new exception of `tag` with
    /// `payload` into the calling wasm code.
    pub fn exception_new(&mut self, tag: Tag, payload: &[Val]) -> crate::Result<Trap> {
        let params = self.tags[tag.0].params.clone();
        if params.len() != payload.len() || params.iter().zip(payload).any(|(t, v)| v.ty() != *t) {
            return Err(crate::Error::Usage(format!(
                "exception payload {payload:?} does not match the tag's {params:?}"
            )));
        }
        let object = self.alloc_exception(tag);
        for (i, v) in payload.iter().enumerate() {
            // SAFETY: one slot per parameter.
            let slot = unsafe { &mut *(object.add(payload_offset(i as u32) as usize) as *mut _) };
            v.write_slot(slot).map_err(crate::Error::Usage)?;
        }
        expose(object);
        let mut trap = Trap::uncaught(object);
        self.decode_exception(&mut trap);
        Ok(trap)
    }

    /// Fills in the tag and payload of an exception that escaped to the host.
    pub(crate) fn decode_exception(&self, trap: &mut Trap) {
        let Some(exn) = &mut trap.exception else {
            return;
        };
        // SAFETY: exception objects stay allocated as long as the store.
        let identity =
            unsafe { *(exn.object.add(layout::OFFSET_TAG as usize) as *const *const VmTag) };
        let Some(index) = self.tags.iter().position(|t| std::ptr::eq(&t.vm, identity)) else {
            return;
        };
        exn.tag = Some(Tag(index));
        exn.payload = self.tags[index]
            .params
            .iter()
            .enumerate()
            .map(|(i, t)| {
                // SAFETY: as above; one 16-byte slot per parameter.
                let slot = unsafe {
                    &*(exn.object.add(payload_offset(i as u32) as usize)
                        as *const [u8; VALUE_SLOT_SIZE])
                };
                Val::read_slot(slot, *t)
            })
            .collect();
        let values: Vec<String> = exn.payload.iter().map(Val::to_string).collect();
        trap.message = format!("uncaught wasm exception (payload: [{}])", values.join(", "));
    }
}

/// Marks an object as seen outside compiled code's handlers: the store keeps it.
fn expose(exn: *mut u8) {
    // SAFETY: a live exception object.
    unsafe { *(exn.add(layout::OFFSET_FLAGS as usize) as *mut u32) |= layout::FLAG_EXPOSED };
}

/// The `ExnFree` builtin.
pub(crate) unsafe extern "C" fn exn_free(vmctx: *mut u8, exn: *mut u8) {
    let inst = crate::builtins::instance(vmctx);
    (*inst.store).release_exception(exn)
}

/// The `ExnNew` builtin.
pub(crate) unsafe extern "C" fn exn_new(vmctx: *mut u8, tag: u32) -> *mut u8 {
    let inst = crate::builtins::instance(vmctx);
    let handle = inst.tag_handles[tag as usize];
    (*inst.store).alloc_exception(handle)
}

extern "C" {
    /// The `Throw` builtin (`trap_catch.c`).
    pub(crate) fn waot_throw(unused: *mut u8, exn: *mut u8);
    /// The system's C personality routine, for compiled code's personality stub.
    pub(crate) fn waot_personality_routine() -> *const c_void;
}

#[no_mangle]
extern "C" fn waot_catch_point() -> *mut c_void {
    crate::traps::catch_point()
}

#[no_mangle]
extern "C" fn waot_exception_escaped(exn: *mut u8) {
    expose(exn);
    crate::traps::set_pending(Trap::uncaught(exn));
}
