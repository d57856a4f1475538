//! `wasm_*_vec_t`: a size and an array the vector owns. Vectors of plain values copy them;
//! vectors of pointers own the objects they point to (copying copies them, deleting deletes
//! them).

use crate::types::wasm_valtype_t;
use crate::{wasm_exporttype_t, wasm_extern_t, wasm_frame_t, wasm_importtype_t, wasm_val_t};

/// A boxed slice as the (size, data) pair C sees; data is null for an empty vector.
pub(crate) fn into_raw<T>(v: Vec<T>) -> (usize, *mut T) {
    if v.is_empty() {
        return (0, std::ptr::null_mut());
    }
    let b = v.into_boxed_slice();
    let n = b.len();
    (n, Box::into_raw(b) as *mut T)
}

/// `size` copies of `value`, or nothing when that much cannot be allocated: wasm.h's
/// constructors have no way to report a failure, and an empty vector, which the host can see,
/// is better than aborting it (a size from a host's miscalculation, say).
pub(crate) fn filled<T: Clone>(size: usize, value: T) -> Vec<T> {
    let mut v = Vec::new();
    if v.try_reserve_exact(size).is_ok() {
        v.resize(size, value);
    }
    v
}

/// `size` elements of zero bytes, or nothing when that much cannot be allocated (as `filled`),
/// from a zeroed allocation: a large vector costs no page until it is written.
///
/// # Safety
/// Zero bytes must be a valid `T`.
pub(crate) unsafe fn zeroed<T>(size: usize) -> Vec<T> {
    let Ok(layout) = std::alloc::Layout::array::<T>(size) else {
        return Vec::new();
    };
    if layout.size() == 0 {
        return Vec::new();
    }
    let data = std::alloc::alloc_zeroed(layout) as *mut T;
    if data.is_null() {
        return Vec::new();
    }
    // SAFETY: allocated by the global allocator with `size` elements' layout, all zero.
    Vec::from_raw_parts(data, size, size)
}

/// A copy of `elements`, or nothing when that much cannot be allocated (as `filled`).
pub(crate) fn copied<T: Clone>(elements: &[T]) -> Vec<T> {
    let mut v = Vec::new();
    if v.try_reserve_exact(elements.len()).is_ok() {
        v.extend_from_slice(elements);
    }
    v
}

/// The elements of a vector made by `into_raw`, taken back.
///
/// # Safety
/// `(size, data)` must come from `into_raw` (or be empty with a null or dangling pointer).
pub(crate) unsafe fn from_raw<T>(size: usize, data: *mut T) -> Vec<T> {
    if data.is_null() || size == 0 {
        return Vec::new();
    }
    Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, size)).into_vec()
}

/// The elements of a borrowed vector.
///
/// # Safety
/// `data` must point to `size` initialized elements, or be null with `size` 0.
pub(crate) unsafe fn as_slice<'a, T>(size: usize, data: *const T) -> &'a [T] {
    if data.is_null() || size == 0 {
        return &[];
    }
    std::slice::from_raw_parts(data, size)
}

/// An element of a vector of values: copying a value copies what it owns (a `wasm_val_t`'s
/// reference), deleting it deletes that.
pub(crate) trait Element: Sized {
    fn duplicate(&self) -> Self;
    fn release(&mut self) {}
    /// The elements of a new vector of `size` the host will fill (`filled` or `zeroed`).
    fn uninitialized(size: usize) -> Vec<Self>;
}

impl Element for u8 {
    fn duplicate(&self) -> Self {
        *self
    }

    fn uninitialized(size: usize) -> Vec<Self> {
        // SAFETY: any byte is a valid u8.
        unsafe { zeroed(size) }
    }
}

macro_rules! plain_vec {
    ($vec:ident, $elem:ty, $new_empty:ident, $new_uninit:ident, $new:ident, $copy:ident, $delete:ident) => {
        #[repr(C)]
        pub struct $vec {
            pub size: usize,
            pub data: *mut $elem,
        }

        impl $vec {
            pub(crate) fn from_vec(v: Vec<$elem>) -> Self {
                let (size, data) = into_raw(v);
                $vec { size, data }
            }

            pub(crate) fn as_slice(&self) -> &[$elem] {
                // SAFETY: a vector's data holds its size of elements.
                unsafe { as_slice(self.size, self.data) }
            }
        }

        #[no_mangle]
        pub unsafe extern "C" fn $new_empty(out: *mut $vec) {
            out.write($vec::from_vec(Vec::new()));
        }

        #[no_mangle]
        pub unsafe extern "C" fn $new_uninit(out: *mut $vec, size: usize) {
            out.write($vec::from_vec(<$elem>::uninitialized(size)));
        }

        #[no_mangle]
        pub unsafe extern "C" fn $new(out: *mut $vec, size: usize, data: *const $elem) {
            out.write($vec::from_vec(copied(as_slice(size, data))));
        }

        #[no_mangle]
        pub unsafe extern "C" fn $copy(out: *mut $vec, src: *const $vec) {
            let copies = (*src).as_slice().iter().map(Element::duplicate).collect();
            out.write($vec::from_vec(copies));
        }

        #[no_mangle]
        pub unsafe extern "C" fn $delete(v: *mut $vec) {
            if let Some(v) = v.as_mut() {
                for mut e in from_raw(v.size, v.data) {
                    e.release();
                }
                v.size = 0;
                v.data = std::ptr::null_mut();
            }
        }
    };
}

macro_rules! owning_vec {
    ($vec:ident, $elem:ty, $new_empty:ident, $new_uninit:ident, $new:ident, $copy:ident, $delete:ident) => {
        #[repr(C)]
        pub struct $vec {
            pub size: usize,
            pub data: *mut *mut $elem,
        }

        impl $vec {
            pub(crate) fn from_boxes(v: Vec<Box<$elem>>) -> Self {
                let (size, data) = into_raw(v.into_iter().map(Box::into_raw).collect());
                $vec { size, data }
            }

            pub(crate) fn as_slice(&self) -> &[*mut $elem] {
                // SAFETY: a vector's data holds its size of pointers.
                unsafe { as_slice(self.size, self.data) }
            }
        }

        #[no_mangle]
        pub unsafe extern "C" fn $new_empty(out: *mut $vec) {
            out.write($vec::from_boxes(Vec::new()));
        }

        #[no_mangle]
        pub unsafe extern "C" fn $new_uninit(out: *mut $vec, size: usize) {
            // SAFETY: zero bytes are a null pointer.
            let (size, data) = into_raw(unsafe { zeroed::<*mut $elem>(size) });
            out.write($vec { size, data });
        }

        /// Takes ownership of the objects `data` points to (not of the array).
        #[no_mangle]
        pub unsafe extern "C" fn $new(out: *mut $vec, size: usize, data: *const *mut $elem) {
            let given = as_slice(size, data);
            let elements = copied(given);
            if elements.len() < given.len() {
                // No vector to hand them to: they were given, so they are deleted.
                for &p in given.iter().filter(|p| !p.is_null()) {
                    drop(Box::from_raw(p));
                }
            }
            let (size, data) = into_raw(elements);
            out.write($vec { size, data });
        }

        #[no_mangle]
        pub unsafe extern "C" fn $copy(out: *mut $vec, src: *const $vec) {
            let copies = (*src)
                .as_slice()
                .iter()
                .map(|p| {
                    p.as_ref()
                        .map_or(std::ptr::null_mut(), |e| Box::into_raw(Box::new(e.clone())))
                })
                .collect();
            let (size, data) = into_raw(copies);
            out.write($vec { size, data });
        }

        #[no_mangle]
        pub unsafe extern "C" fn $delete(v: *mut $vec) {
            if let Some(v) = v.as_mut() {
                for p in from_raw(v.size, v.data) {
                    if !p.is_null() {
                        drop(Box::from_raw(p));
                    }
                }
                v.size = 0;
                v.data = std::ptr::null_mut();
            }
        }
    };
}

pub type wasm_byte_t = u8;
plain_vec!(
    wasm_byte_vec_t,
    u8,
    wasm_byte_vec_new_empty,
    wasm_byte_vec_new_uninitialized,
    wasm_byte_vec_new,
    wasm_byte_vec_copy,
    wasm_byte_vec_delete
);
plain_vec!(
    wasm_val_vec_t,
    wasm_val_t,
    wasm_val_vec_new_empty,
    wasm_val_vec_new_uninitialized,
    wasm_val_vec_new,
    wasm_val_vec_copy,
    wasm_val_vec_delete
);
owning_vec!(
    wasm_valtype_vec_t,
    wasm_valtype_t,
    wasm_valtype_vec_new_empty,
    wasm_valtype_vec_new_uninitialized,
    wasm_valtype_vec_new,
    wasm_valtype_vec_copy,
    wasm_valtype_vec_delete
);
owning_vec!(
    wasm_extern_vec_t,
    wasm_extern_t,
    wasm_extern_vec_new_empty,
    wasm_extern_vec_new_uninitialized,
    wasm_extern_vec_new,
    wasm_extern_vec_copy,
    wasm_extern_vec_delete
);
owning_vec!(
    wasm_frame_vec_t,
    wasm_frame_t,
    wasm_frame_vec_new_empty,
    wasm_frame_vec_new_uninitialized,
    wasm_frame_vec_new,
    wasm_frame_vec_copy,
    wasm_frame_vec_delete
);

owning_vec!(
    wasm_importtype_vec_t,
    wasm_importtype_t,
    wasm_importtype_vec_new_empty,
    wasm_importtype_vec_new_uninitialized,
    wasm_importtype_vec_new,
    wasm_importtype_vec_copy,
    wasm_importtype_vec_delete
);
owning_vec!(
    wasm_exporttype_vec_t,
    wasm_exporttype_t,
    wasm_exporttype_vec_new_empty,
    wasm_exporttype_vec_new_uninitialized,
    wasm_exporttype_vec_new,
    wasm_exporttype_vec_copy,
    wasm_exporttype_vec_delete
);

pub type wasm_message_t = wasm_byte_vec_t;

/// A message for C: the text's bytes and a NUL, which the size counts.
pub(crate) fn message(text: &str) -> wasm_byte_vec_t {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    wasm_byte_vec_t::from_vec(bytes)
}

/// Fills `out`, when not null, with `text` as a message.
///
/// # Safety
/// `out` must be null or point to writable memory for a vector.
pub(crate) unsafe fn report(out: *mut wasm_message_t, text: &str) {
    if !out.is_null() {
        out.write(message(text));
    }
}
