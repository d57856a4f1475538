//! Tags and exception objects (the exception-handling proposal), host side.
//!
//! The store owns every tag and every exception object. A tag's identity is the address of
//! its `VmTag`, which compiled code compares; an exception object is laid out as
//! `runtime_support::exception` says and lives in the store's `ExnHeap`, which frees it once
//! nothing can reach it; objects the host has seen are pinned for the store's lifetime, and
//! those it made to throw are kept until they are thrown.
//!
//! Throwing happens in `trap_catch.c` (a forced unwind); what reaches the catch point of a
//! call from the host comes back here through `waot_exception_escaped` and is decoded into an
//! `Exception` of the call's error.

use crate::api::store::{StoreData, Tag};
use crate::api::values::Val;
use crate::Trap;
use runtime_support::exception::{self as layout, object_size, payload_offset};
use runtime_support::types::VALUE_SLOT_SIZE;
use runtime_support::vmctx::VmTag;
use wasmparser::ValType;

/// An exception that no wasm handler caught: its tag and payload. A host function returns it
/// (inside a `Trap`, see `StoreData::exception_new`) to throw it into its wasm caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Exception {
    /// The tag, when it belongs to this store.
    pub tag: Option<Tag>,
    pub payload: Vec<Val>,
    pub(crate) object: *mut u8,
    /// The store whose heap holds `object`.
    pub(crate) store: crate::StoreId,
}

// SAFETY: `object` is dereferenced only by its store, after checking that the store's heap
// holds it.
unsafe impl Send for Exception {}
unsafe impl Sync for Exception {}

/// A tag: its identity (the `VmTag`'s address) and its parameter types.
pub(crate) struct TagData {
    pub vm: VmTag,
    pub params: Vec<ValType>,
}

impl StoreData {
    /// Defines a tag with parameters `params` (a host-made tag, to import into instances).
    pub fn tag_new(&mut self, params: &[ValType]) -> Tag {
        let sig = runtime_support::types::Signature::new(params, &[]);
        self.tag_of_type(params, crate::vm::signatures::intern(&sig))
    }

    /// A new tag of canonical type `type_id` (a module's tag: its type may be in a
    /// recursion group).
    pub(crate) fn tag_of_type(&mut self, params: &[ValType], type_id: u64) -> Tag {
        self.tags.push(Box::new(TagData {
            vm: VmTag { type_id },
            params: params.to_vec(),
        }));
        Tag::new(self.id, self.tags.len() - 1)
    }

    /// Whether `e` was thrown in this store (its tag and references are this store's): a
    /// host function may pass on another store's trap as its own.
    pub fn owns_exception(&self, e: &Exception) -> bool {
        e.store == self.id
    }

    /// Exception objects the store holds: those the host has seen, and those guest code may
    /// still reach or that no collection has freed yet (see `collect_exceptions`).
    pub fn live_exceptions(&self) -> usize {
        self.exn_heap.borrow().len()
    }

    /// Frees every exception object nothing can reach any more. The store collects by itself
    /// as objects accumulate; this is for hosts (and tests) that want it now.
    pub fn collect_exceptions(&mut self) {
        let roots = self.exception_roots();
        // Outside guest code no frame can hold an object the host has not seen (and pinned).
        let stack = crate::vm::traps::in_guest().then(crate::vm::traps::stack_bounds);
        self.exn_heap.get_mut().collect(&roots, stack);
    }

    /// How many collections of exception objects the store has run.
    pub fn exception_collections(&self) -> u64 {
        self.exn_heap.borrow().collections()
    }

    /// Words that may hold exception references: the cells of `exnref` globals and the
    /// elements of `exnref` tables.
    fn exception_roots(&self) -> Vec<usize> {
        let mut roots = Vec::new();
        for g in &self.globals {
            if let ValType::Ref(r) = g.ty.content_type {
                if crate::api::values::is_exn(r) {
                    // SAFETY: a live 16-byte global cell of this store.
                    roots.push(unsafe { *(g.cell as *const usize) });
                }
            }
        }
        for t in &self.tables {
            if crate::api::values::is_exn(t.element_type) {
                roots.extend_from_slice(&t.elements);
            }
        }
        roots
    }

    /// Keeps an exception object the host is about to see for the store's lifetime.
    pub(crate) fn pin_exception(&self, exn: *const u8) -> bool {
        self.exn_heap.borrow_mut().pin(exn)
    }

    pub fn tag_params(&self, tag: Tag) -> crate::Result<&[ValType]> {
        self.owns(tag.store, "tag")?;
        Ok(&self.tags[tag.index].params)
    }

    pub(crate) fn tag_identity(&self, tag: Tag) -> *const VmTag {
        &self.tags[tag.index].vm
    }

    /// A new exception object of `tag` with a zeroed payload, collecting unreachable ones
    /// first when enough have accumulated.
    pub(crate) fn alloc_exception(&mut self, tag: Tag) -> *mut u8 {
        if self.exn_heap.get_mut().wants_collection() {
            self.collect_exceptions();
        }
        let n = self.tags[tag.index].params.len() as u32;
        let ptr = self.exn_heap.get_mut().alloc(object_size(n));
        // SAFETY: the object is large enough for its header.
        unsafe {
            *(ptr.add(layout::OFFSET_TAG as usize) as *mut *const VmTag) = self.tag_identity(tag);
            *(ptr.add(layout::OFFSET_LEN as usize) as *mut u32) = n;
        }
        ptr
    }

    /// An error that, returned by a host function, throws a new exception of `tag` with
    /// `payload` into the calling wasm code. The store keeps the exception until it is thrown,
    /// then as long as something reaches it (once thrown, the same error, or a clone of it,
    /// cannot be thrown again: make another).
    pub fn exception_new(&mut self, tag: Tag, payload: &[Val]) -> crate::Result<Trap> {
        self.owns(tag.store, "tag")?;
        let params = self.tags[tag.index].params.clone();
        self.check_vals(&params, payload, "exception payload")?;
        let object = self.alloc_exception(tag);
        for (i, v) in payload.iter().enumerate() {
            // SAFETY: one slot per parameter.
            let slot = unsafe { &mut *(object.add(payload_offset(i as u32) as usize) as *mut _) };
            v.write_slot(slot).map_err(crate::Error::Usage)?;
        }
        self.exn_heap.get_mut().lend(object);
        let mut trap = Trap::uncaught(object);
        self.describe_exception(&mut trap);
        if let Some(uncaught) = &mut trap.uncaught {
            uncaught.thrown = Some(Default::default());
        }
        Ok(trap)
    }

    /// Fills in the tag and payload of an exception that escaped to the host, which keeps it.
    pub(crate) fn decode_exception(&self, trap: &mut Trap) {
        if let Some(uncaught) = &trap.uncaught {
            self.pin_exception(uncaught.object);
        }
        self.describe_exception(trap);
    }

    /// Fills in the tag and payload of the exception `trap` carries.
    fn describe_exception(&self, trap: &mut Trap) {
        let Some(uncaught) = &mut trap.uncaught else {
            return;
        };
        let mut exn = Exception {
            tag: None,
            payload: Vec::new(),
            object: uncaught.object,
            store: self.id,
        };
        // SAFETY: the object is alive: just made and lent (`exception_new`) or pinned
        // (`decode_exception`).
        let identity =
            unsafe { *(exn.object.add(layout::OFFSET_TAG as usize) as *const *const VmTag) };
        if let Some(index) = self.tags.iter().position(|t| std::ptr::eq(&t.vm, identity)) {
            exn.tag = Some(Tag::new(self.id, index));
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
                    self.host_val(slot, *t)
                })
                .collect();
            let values: Vec<String> = exn.payload.iter().map(Val::to_string).collect();
            trap.message = format!("uncaught wasm exception (payload: [{}])", values.join(", "));
        }
        uncaught.decoded = Some(std::sync::Arc::new(exn));
    }
}

impl Trap {
    /// The exception that escaped every wasm handler, when that is what stopped the guest.
    pub fn exception(&self) -> Option<&Exception> {
        let decoded = self.uncaught.as_ref()?.decoded.as_ref()?;
        (**decoded).as_any().downcast_ref()
    }
}

/// The `ExnNew` builtin. Every `throw` begins with it: a loop of throws spends its time in the
/// unwinder, where the interrupt's signal finds no guest code to stop, so it stops here.
pub(crate) unsafe extern "C" fn exn_new(vmctx: *mut u8, tag: u32) -> *mut u8 {
    crate::vm::builtins::stop_if_interrupted(vmctx);
    let inst = crate::api::instance::of_vmctx(vmctx);
    let handle = inst.tag_handles[tag as usize];
    (*inst.store).alloc_exception(handle)
}
