//! The GC proposal's objects as compiled code and the loader see them: the reference encoding,
//! object headers, field layouts and the run-time type information a cast reads.
//!
//! ```text
//! anyref / eqref / externref word:
//!   0                 null
//!   ...xxx1           i31: the value in bits 1..32 (sign- or zero-extended by i31.get_s/u)
//!   ...xx10           a host externref: (value << 2) | 2
//!   ...x000           a GC object (16-byte aligned)
//! object:
//!   0   *const VmTypeInfo    its exact type
//!   8   u32                  array length (arrays), unused (structs)
//!   12  u32                  unused
//!   16  fields / elements    each at its natural alignment (see `struct_layout`)
//! ```
//!
//! `externref` and `anyref` share one encoding, so `any.convert_extern` and
//! `extern.convert_any` are no-ops.

use wasmparser::{FieldType, StorageType, StructType, ValType};

pub const OFFSET_TYPE_INFO: u32 = 0;
pub const OFFSET_ARRAY_LENGTH: u32 = 8;
pub const HEADER_SIZE: u32 = 16;

/// Tag bits of a non-null reference word.
pub const I31_TAG: u64 = 1;
pub const HOST_TAG: u64 = 2;

/// The largest array a program may allocate, in bytes of elements: keeps every size
/// computation in 32 bits and every allocation below what the heap maps.
pub const MAX_ARRAY_BYTES: u64 = 1 << 30;

/// The largest object compiled code allocates inline, by bumping the store's
/// `VmRuntimeLimits::gc_cursor` up to `gc_limit`; larger ones always go through `GcAlloc`.
pub const MAX_SMALL_OBJECT: u32 = 8 << 10;

/// The heap's chunks: `CHUNK_SIZE` bytes aligned to their size, beginning with a bitmap of
/// where objects start (one bit per 16 bytes of the chunk, `STARTS_WORDS` u64s), which
/// compiled code sets for each object it allocates; the collector's own bitmaps follow, and
/// objects lie at `CHUNK_OBJECTS` and past.
pub const CHUNK_SIZE: u64 = 256 << 10;
pub const STARTS_WORDS: u64 = CHUNK_SIZE / 16 / 64;
pub const CHUNK_OBJECTS: u64 = 3 * STARTS_WORDS * 8;

/// What kind of type a `VmTypeInfo` describes.
pub const KIND_FUNC: u32 = 0;
pub const KIND_STRUCT: u32 = 1;
pub const KIND_ARRAY: u32 = 2;

/// Run-time information of one canonical type, shared by every module that has it and never
/// freed. A cast to a type with `depth` supertypes compares `display[depth]` with its id.
#[repr(C)]
#[derive(Debug)]
pub struct VmTypeInfo {
    /// Canonical id (the registry's).
    pub id: u64,
    /// Number of declared supertypes above this type.
    pub depth: u32,
    pub kind: u32,
    /// The ids of the supertype chain, root first, this type last (`depth + 1` entries).
    pub display: *const u64,
    /// Structs: the object's size in bytes. Arrays: one element's size.
    pub size: u32,
    /// Structs: the number of reference fields. Arrays: 1 when elements are GC references.
    pub num_refs: u32,
    /// Structs: the offsets of the fields that hold GC references (anyref or externref
    /// words), which the collector traces.
    pub ref_offsets: *const u32,
}

// SAFETY: a `VmTypeInfo` and what it points to are immutable once registered.
unsafe impl Send for VmTypeInfo {}
unsafe impl Sync for VmTypeInfo {}

impl VmTypeInfo {
    pub const OFFSET_ID: u32 = 0;
    pub const OFFSET_DEPTH: u32 = 8;
    pub const OFFSET_KIND: u32 = 12;
    pub const OFFSET_DISPLAY: u32 = 16;
    pub const OFFSET_SIZE: u32 = 24;
}

/// The size in bytes of an array of `length` elements of `element_size` bytes: the header
/// and the elements, rounded to 16 so objects stay 16-aligned.
pub fn array_size(length: u64, element_size: u32) -> u64 {
    (u64::from(HEADER_SIZE) + length * u64::from(element_size)).next_multiple_of(16)
}

/// Bytes one field or element of `t` takes.
pub fn storage_size(t: StorageType) -> u32 {
    match t {
        StorageType::I8 => 1,
        StorageType::I16 => 2,
        StorageType::Val(ValType::I32 | ValType::F32) => 4,
        StorageType::Val(ValType::I64 | ValType::F64 | ValType::Ref(_)) => 8,
        StorageType::Val(ValType::V128) => 16,
    }
}

/// Whether a field of `t` holds a word the collector must trace (a reference of the any or
/// extern hierarchy; function references point into instances, exception references into
/// the store's exception heap). `is_gc_type` says whether a concrete type index names a
/// struct or array type.
pub fn is_traced(t: StorageType, is_gc_type: impl Fn(u32) -> bool) -> bool {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    let StorageType::Val(ValType::Ref(r)) = t else {
        return false;
    };
    match r.heap_type() {
        H::Abstract { ty, .. } => matches!(
            ty,
            A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None | A::Extern | A::NoExtern
        ),
        H::Concrete(i) => i.as_module_index().is_some_and(is_gc_type),
        _ => false,
    }
}

/// Where each field of a struct lives, and the object's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructLayout {
    pub offsets: Vec<u32>,
    pub size: u32,
}

/// Fields in declaration order, each at its natural alignment after the header; the size is
/// rounded to 16 so objects stay 16-aligned.
pub fn struct_layout(ty: &StructType) -> StructLayout {
    let mut offset = HEADER_SIZE;
    let offsets = ty
        .fields
        .iter()
        .map(|f: &FieldType| {
            let size = storage_size(f.element_type);
            offset = offset.next_multiple_of(size);
            let at = offset;
            offset += size;
            at
        })
        .collect();
    StructLayout {
        offsets,
        size: offset.next_multiple_of(16),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_aligned_and_objects_16_byte_multiples() {
        let f = |t| FieldType {
            element_type: t,
            mutable: true,
        };
        let ty = StructType {
            fields: vec![
                f(StorageType::I8),
                f(StorageType::Val(ValType::I64)),
                f(StorageType::I16),
                f(StorageType::Val(ValType::V128)),
            ]
            .into(),
        };
        let l = struct_layout(&ty);
        assert_eq!(l.offsets, vec![16, 24, 32, 48]);
        assert_eq!(l.size, 64);
        assert_eq!(struct_layout(&StructType { fields: [].into() }).size, 16);
    }
}
