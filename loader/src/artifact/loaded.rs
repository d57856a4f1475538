//! Loading native code: everything is checked from the file's bytes (metadata header, target,
//! CPU features, hash of the module's skeleton) before `dlopen`, since `dlopen` runs code. The
//! skeleton (`runtime_support::skeleton`) is what loading reads; the whole module is hashed
//! only when something asks for it (`LoadedModule::wasm`).

use crate::artifact::checks::{check_target, file_name, SymbolLayout};
use crate::artifact::native_library::{self, Library};
use crate::error::{Error, Result};
use crate::vm::code_registry::{self, Registration};
use crate::vm::memory_image::MemoryImage;
use crate::vm::signatures;
use object::{Object, ObjectSection};
use runtime_support::artifact::{self, ArtifactHeader};
use runtime_support::types::Signature;
use runtime_support::ModuleInfo;
use std::path::Path;

/// A loaded, checked artifact: what `Module` handles (`api::module`) share, and instances keep
/// alive.
pub(crate) struct LoadedModule {
    pub name: String,
    pub header: ArtifactHeader,
    /// The module's skeleton, checked at load: `info` was parsed from it, and data segments
    /// are read from it.
    pub skeleton: WasmBytes,
    /// The whole module, checked against the header the first time it is read (`wasm_check`).
    wasm: WasmBytes,
    wasm_check: std::sync::OnceLock<std::result::Result<(), String>>,
    pub info: ModuleInfo,
    pub functions: Vec<*const u8>,
    pub trampolines: Vec<*const u8>,
    pub host_adapters: Vec<*const u8>,
    pub signatures: Vec<Signature>,
    /// Canonical id of each type index, in the process-wide signature registry.
    pub type_ids: Vec<u64>,
    /// Run-time type information of each type index (registered, never freed).
    pub type_infos: Vec<*const runtime_support::gc::VmTypeInfo>,
    /// The artifact's images of defined memories (`runtime_support::memory_image`), mapped
    /// from the artifact file at every instantiation; indexed from the first defined memory.
    artifact_images: Vec<Option<MemoryImage>>,
    /// Images of the other defined memories, built at the second instantiation (a module
    /// instantiated once copies its data, which costs no more).
    images: std::sync::OnceLock<Vec<Option<MemoryImage>>>,
    instantiations: std::sync::atomic::AtomicUsize,
    /// With `--profile-generate`: the counters and body hashes in the library.
    profile: Option<ProfileTables>,
    _registration: Registration,
    _library: Library,
}

/// That every type the loader canonicalizes (`LoadedModule::canonical`) names a type of the
/// module, so that doing so cannot fail later.
fn check_type_indices(info: &ModuleInfo, ids: &[u64]) -> std::result::Result<(), String> {
    use runtime_support::module_info::ImportKind;
    use wasmparser::ValType;
    let tables = info.tables.iter().map(|t| ValType::Ref(t.element_type));
    let globals = info.globals.iter().map(|g| g.content_type);
    let elems = info.elems.iter().map(|e| ValType::Ref(e.ty));
    let imports = info.imports.iter().filter_map(|i| match i.kind {
        ImportKind::Global(g) => Some(g.content_type),
        ImportKind::Table(t) => Some(ValType::Ref(t.element_type)),
        _ => None,
    });
    match tables
        .chain(globals)
        .chain(elems)
        .chain(imports)
        .find(|t| runtime_support::types::canonicalize(*t, ids).is_none())
    {
        Some(t) => Err(format!("a type names no type of the module: {t:?}")),
        None => Ok(()),
    }
}

/// That each of the header's memory images fits what the loader will do with it: it fills a
/// defined memory (once) inside its initial size, lies inside the images section, everything
/// aligned; and the skeleton's segments for that memory are empty (the image holds them).
fn check_images(header: &ArtifactHeader, info: &ModuleInfo) -> std::result::Result<(), String> {
    use runtime_support::memory_image::IMAGE_ALIGN;
    use runtime_support::module_info::SegmentMode;
    let altered = |what: &str| Err(format!("memory image {what} (the artifact was altered)"));
    if !header.images.is_empty() && !runtime_support::memory_image::images_allowed(info) {
        return altered("in a module whose element segments write an imported table");
    }
    let mut seen = std::collections::HashSet::new();
    for image in &header.images {
        let memory = image.memory;
        if memory < info.num_imported_memories || !seen.insert(memory) {
            return altered(&format!("for memory {memory}, which it may not fill"));
        }
        let Some(ty) = info.memories.get(memory as usize) else {
            return altered(&format!("for memory {memory}, which the module lacks"));
        };
        let aligned =
            (image.memory_offset | image.section_offset | image.len).is_multiple_of(IMAGE_ALIGN);
        let in_memory = ty
            .initial
            .checked_mul(65536)
            .zip(image.memory_offset.checked_add(image.len))
            .is_some_and(|(size, end)| end <= size);
        let in_section = image
            .section_offset
            .checked_add(image.len)
            .is_some_and(|end| end <= header.images_len);
        let pages_fit = !ty.shared && ty.page_size_log2.is_none_or(|l| l == 16);
        if !aligned || !in_memory || !in_section || !pages_fit || image.len == 0 {
            return altered(&format!("for memory {memory} does not fit it"));
        }
        let has_data = info.datas.iter().any(|d| {
            matches!(d.mode, SegmentMode::Active { index, .. } if index == memory)
                && !d.bytes.is_empty()
        });
        if has_data {
            return altered(&format!("for memory {memory} beside its data segments"));
        }
    }
    Ok(())
}

/// The checked images (`check_images`), per defined memory: mapped from `file`, the file the
/// library was loaded from, where the images section starts at `file_offset`.
fn artifact_images(
    header: &ArtifactHeader,
    info: &ModuleInfo,
    library: &Library,
    file: std::fs::File,
    file_offset: Option<u64>,
) -> std::result::Result<Vec<Option<MemoryImage>>, String> {
    let defined = (info.memories.len() as u32).saturating_sub(info.num_imported_memories);
    let mut images: Vec<Option<MemoryImage>> = (0..defined).map(|_| None).collect();
    if header.images.is_empty() {
        return Ok(images);
    }
    // SAFETY: a symbol of the library naming the start of the images section's data.
    let bytes = unsafe { library.get::<*const u8>(artifact::SYM_IMAGES.as_bytes()) }
        .map_err(|e| format!("missing symbol `{}`: {e}", artifact::SYM_IMAGES))?;
    let file = std::sync::Arc::new(std::os::fd::OwnedFd::from(file));
    for image in &header.images {
        let len = usize::try_from(image.len).map_err(|e| e.to_string())?;
        // An offset that is not a page's makes the mapping fail, and the image is copied.
        let file_offset = file_offset.unwrap_or(1) + image.section_offset;
        // SAFETY: `check_images` put the image inside the section, which the library maps for
        // as long as the module (which owns the image) holds it.
        images[(image.memory - info.num_imported_memories) as usize] = Some(unsafe {
            MemoryImage::in_artifact(
                file.clone(),
                file_offset,
                image.memory_offset,
                len,
                (*bytes).add(image.section_offset as usize),
            )
        });
    }
    Ok(images)
}

impl LoadedModule {
    /// The image of defined memory `defined` (counted from the first defined memory): the
    /// artifact's, or one built once this module has been instantiated before.
    pub fn memory_image(&self, defined: usize) -> Option<&MemoryImage> {
        if let Some(Some(image)) = self.artifact_images.get(defined) {
            return Some(image);
        }
        self.images.get()?.get(defined)?.as_ref()
    }

    /// Counts an instantiation; from the second on, builds the images first.
    pub fn note_instantiation(&self) {
        use std::sync::atomic::Ordering;
        let all_in_artifact = self.artifact_images.iter().all(Option::is_some);
        if self.instantiations.fetch_add(1, Ordering::Relaxed) >= 1 && !all_in_artifact {
            self.images
                .get_or_init(|| crate::vm::memory_image::build(&self.info, &self.skeleton));
        }
    }

    /// `t` as the store sees it: concrete types named by canonical ids, comparable across
    /// modules (every index of a valid module has an id that fits, `intern_module_types`).
    pub fn canonical(&self, t: wasmparser::ValType) -> wasmparser::ValType {
        runtime_support::types::canonicalize(t, &self.type_ids).expect("canonical id")
    }

    pub fn canonical_ref(&self, r: wasmparser::RefType) -> wasmparser::RefType {
        match self.canonical(wasmparser::ValType::Ref(r)) {
            wasmparser::ValType::Ref(r) => r,
            _ => unreachable!(),
        }
    }
}

/// `runtime_support::profile`'s arrays in a library, one entry per defined function.
struct ProfileTables {
    hashes: *const u64,
    counts: *const u64,
}

impl LoadedModule {
    /// Whether the library was compiled with `--profile-generate`.
    pub fn has_profile(&self) -> bool {
        self.profile.is_some()
    }

    /// The counts of every run of this library's code in the process so far, when it was
    /// compiled with `--profile-generate`.
    pub fn profile(&self) -> Option<runtime_support::profile::Profile> {
        let tables = self.profile.as_ref()?;
        let n = self.info.num_defined_funcs();
        let imported = self.info.num_imported_funcs;
        Some(runtime_support::profile::Profile::from_counts((0..n).map(
            |i| {
                let i = i as usize;
                // SAFETY: both arrays have an entry per defined function, inside the
                // sections they were checked to lie in (`check_profile_symbols`), in the
                // library this module keeps loaded. Guest code adds to the counts as they are
                // read: whole words, read atomically (its plain stores are word-sized too).
                let (hash, count) = unsafe {
                    (
                        *tables.hashes.add(i),
                        std::sync::atomic::AtomicU64::from_ptr(tables.counts.add(i) as *mut u64)
                            .load(std::sync::atomic::Ordering::Relaxed),
                    )
                };
                (imported + i as u32, hash, count)
            },
        )))
    }
}

/// Where an artifact compiled with `--profile-generate` (the header says so, and the header
/// is checked) has the profile's arrays: linked addresses of the hashes and the counters.
/// Each must be a defined dynamic symbol of 8 bytes per defined function, 8-byte aligned,
/// lying wholly inside one data section, so that `LoadedModule::profile`'s reads stay there.
fn check_profile_symbols(
    header: &ArtifactHeader,
    info: &ModuleInfo,
    file: &object::File<'_>,
) -> std::result::Result<Option<[u64; 2]>, String> {
    use object::{ObjectSymbol, SectionKind};
    use runtime_support::profile::{SYM_PROFILE_COUNTS, SYM_PROFILE_HASHES};
    if !header.metering.profile {
        return Ok(None);
    }
    let len = 8 * u64::from(info.num_defined_funcs());
    let mut addresses = [0; 2];
    for (slot, name) in addresses
        .iter_mut()
        .zip([SYM_PROFILE_HASHES, SYM_PROFILE_COUNTS])
    {
        let bad = || {
            format!("the profile symbol `{name}` is missing, not {len} bytes long or not in a data section (the artifact was altered)")
        };
        let symbol = file
            .dynamic_symbols()
            .find(|s| s.name() == Ok(name) && !s.is_undefined())
            .filter(|s| s.size() == len)
            .ok_or_else(bad)?;
        let at = symbol.address();
        let inside = file.sections().any(|section| {
            let data = matches!(
                section.kind(),
                SectionKind::Data | SectionKind::UninitializedData | SectionKind::ReadOnlyData
            );
            let section_end = section.address().checked_add(section.size());
            data && section.address() <= at
                && at
                    .checked_add(len)
                    .zip(section_end)
                    .is_some_and(|(end, section_end)| end <= section_end)
        });
        // Read as whole aligned words (`LoadedModule::profile`); the load bias keeps
        // alignment, being a multiple of the page size.
        if !inside || at % 8 != 0 {
            return Err(bad());
        }
        *slot = at;
    }
    Ok(Some(addresses))
}

/// The profile's arrays in `library`, at the linked `addresses` that `check_profile_symbols`
/// returned moved by the load `bias`: the dynamic linker must have found the artifact's own.
fn profile_tables(
    addresses: Option<[u64; 2]>,
    library: &Library,
    bias: usize,
) -> std::result::Result<Option<ProfileTables>, String> {
    use runtime_support::profile::{SYM_PROFILE_COUNTS, SYM_PROFILE_HASHES};
    let Some([hashes, counts]) = addresses else {
        return Ok(None);
    };
    let find = |name: &str, linked: u64| -> std::result::Result<*const u64, String> {
        // SAFETY: looking up a data symbol's address.
        let sym = unsafe { library.get::<*const u64>(name.as_bytes()) }
            .map_err(|e| format!("missing symbol `{name}`: {e}"))?;
        if *sym as usize != (linked as usize).wrapping_add(bias) {
            return Err(format!("symbol `{name}` resolved outside the artifact"));
        }
        Ok(*sym)
    };
    Ok(Some(ProfileTables {
        hashes: find(SYM_PROFILE_HASHES, hashes)?,
        counts: find(SYM_PROFILE_COUNTS, counts)?,
    }))
}

// SAFETY: the raw pointers are code addresses in the library, immutable while it is loaded;
// the profile's counters, which guest code writes, are only read atomically.
unsafe impl Send for LoadedModule {}
unsafe impl Sync for LoadedModule {}

/// The module's wasm bytes: the shared object's own `.waot.wasm` section, used where the
/// library maps it (a 69 MB module is not copied at every start), or owned bytes (a universal
/// file's module).
pub(crate) enum WasmBytes {
    Owned(Vec<u8>),
    /// The first `len` bytes of a universal file, not read yet: `LoadedModule::wasm` reads them.
    Unread {
        file: std::fs::File,
        len: usize,
        bytes: std::sync::OnceLock<Vec<u8>>,
    },
    /// Inside the loaded library, which the module keeps alive.
    InLibrary {
        ptr: *const u8,
        len: usize,
    },
}

impl std::ops::Deref for WasmBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            WasmBytes::Owned(v) => v,
            // Empty until `LoadedModule::wasm`, the only reader, has read them.
            WasmBytes::Unread { bytes, .. } => bytes.get().map_or(&[], |b| b),
            // SAFETY: read-only data of the library that `LoadedModule` holds.
            WasmBytes::InLibrary { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

/// The wasm a module is loaded with: the shared object's embedded section (used from the
/// library once it is loaded), or a universal file's module; either is checked against the
/// header when first read.
enum WasmInput {
    Embedded,
    Owned(Vec<u8>),
    /// At the start of this universal file.
    Unread(std::fs::File),
}

/// Where `dlopen` finds the shared object.
enum ObjectSource<'a> {
    /// The open file whose bytes were checked.
    File(&'a std::fs::File),
    /// Bytes held in memory (from a universal wasm): loaded from a sealed memory file.
    Memory,
}

impl LoadedModule {
    /// A `.so` file's bytes, already read from `path`.
    pub(crate) fn from_shared_object(
        bytes: &crate::artifact::file_bytes::FileBytes,
        path: &Path,
    ) -> Result<LoadedModule> {
        let shown = path.display().to_string();
        let err = |m: String| Error::Load(format!("{shown}: {m}"));
        let data: &[u8] = bytes;
        let file = object::File::parse(data).map_err(|e| {
            err(format!(
                "not a shared object ({e}); is it a waotc artifact?"
            ))
        })?;
        let section = |name: &str| -> Result<&[u8]> {
            let s = file
                .section_by_name(name)
                .ok_or_else(|| err(format!("not a waot artifact: no `{name}` section")))?;
            s.data()
                .map_err(|e| err(format!("section `{name}` is unreadable: {e}")))
        };
        let header = ArtifactHeader::decode(section(artifact::META_SECTION)?)
            .map_err(|e| err(e.to_string()))?;
        check_target(&header).map_err(err)?;
        drop(file);
        let name = file_name(path);
        Self::load_native(
            data,
            header,
            WasmInput::Embedded,
            &name,
            ObjectSource::File(bytes.file()),
        )
        .map_err(err)
    }

    /// The native code of a universal file from its entry in the cache of checked code; the
    /// caller has checked the target and the key. The module is read from `file` when asked for.
    pub(crate) fn from_cached_native(
        hit: &crate::artifact::native_cache::Hit,
        file: std::fs::File,
        name: &str,
    ) -> std::result::Result<LoadedModule, String> {
        Self::load_native(
            &hit.object,
            hit.header.clone(),
            WasmInput::Unread(file),
            name,
            ObjectSource::File(hit.object.file()),
        )
    }

    /// The native code of a universal file, whose module bytes are `wasm`; the caller has
    /// checked the target and the signature.
    pub(crate) fn from_native_section(
        object: &[u8],
        header: ArtifactHeader,
        wasm: Vec<u8>,
        name: &str,
    ) -> std::result::Result<LoadedModule, String> {
        Self::load_native(
            object,
            header,
            WasmInput::Owned(wasm),
            name,
            ObjectSource::Memory,
        )
    }

    fn load_native(
        object_bytes: &[u8],
        header: ArtifactHeader,
        input: WasmInput,
        name: &str,
        source: ObjectSource<'_>,
    ) -> std::result::Result<LoadedModule, String> {
        let file = object::File::parse(object_bytes)
            .map_err(|e| format!("native code is not a shared object: {e}"))?;
        let skeleton = file
            .section_by_name(artifact::SKELETON_SECTION)
            .ok_or("not a waot artifact: no skeleton section")?
            .data()
            .map_err(|e| format!("the skeleton section is unreadable: {e}"))?;
        if skeleton.len() as u64 != header.skeleton_len
            || artifact::content_hash(skeleton) != header.skeleton_hash
        {
            return Err("the module's skeleton does not match the hash in the metadata header (the artifact was altered)".into());
        }
        // Checked as the skeleton is: the images hold the data its segments for those memories
        // lack. Where the section lies in the file decides what is mapped from there.
        let images_section = file
            .section_by_name(artifact::IMAGES_SECTION)
            .ok_or("not a waot artifact: no memory images section")?;
        let images = images_section
            .data()
            .map_err(|e| format!("the memory images section is unreadable: {e}"))?;
        if images.len() as u64 != header.images_len
            || artifact::content_hash(images) != header.images_hash
        {
            return Err("the memory images do not match the hash in the metadata header (the artifact was altered)".into());
        }
        let images_file_offset = images_section.file_range().map(|(offset, _)| offset);
        // The embedded module is hashed only when read, but its length decides how many bytes
        // are read then: it must be the section's.
        if matches!(input, WasmInput::Embedded) {
            let section = file
                .section_by_name(artifact::WASM_SECTION)
                .ok_or("not a waot artifact: no embedded wasm section")?;
            if section.size() != header.wasm_len {
                return Err("the embedded wasm section is not the length the metadata header records (the artifact was altered)".into());
            }
        }
        // The names are not read at load; their length decides how many bytes a backtrace will
        // hash and parse, so it must be the section's.
        let names_section_len = file
            .section_by_name(artifact::NAMES_SECTION)
            .map(|s| s.size());
        if names_section_len != Some(header.names_len) {
            return Err("the names section is not the length the metadata header records (the artifact was altered)".into());
        }
        let info = ModuleInfo::parse_declarations(skeleton)
            .map_err(|e| format!("the module's skeleton: {e}"))?;
        check_images(&header, &info)?;
        let layout = SymbolLayout::read(&file)?;
        let profile_addresses = check_profile_symbols(&header, &info, &file)?;
        let owned_skeleton = matches!(source, ObjectSource::Memory).then(|| skeleton.to_vec());
        drop(file);
        let (library, library_file) = match source {
            ObjectSource::File(file) => native_library::load_file(file, object_bytes)?,
            ObjectSource::Memory => native_library::load_bytes(object_bytes)?,
        };
        // SAFETY: the symbols are arrays of code pointers of the lengths the module implies.
        // Each entry is an address's distance from the table (`artifact::SYM_FUNCTIONS`).
        let table = |sym_name: &str, len: usize| -> std::result::Result<Vec<*const u8>, String> {
            let sym = unsafe { library.get::<*const i64>(sym_name.as_bytes()) }
                .map_err(|e| format!("missing symbol `{sym_name}`: {e}"))?;
            let base = *sym;
            Ok((0..len)
                .map(|i| unsafe { (base as *const u8).wrapping_offset(*base.add(i) as isize) })
                .collect())
        };
        // SAFETY: the symbol is a pointer-sized global that compiled code only reads.
        unsafe {
            let name = runtime_support::exception::SYM_PERSONALITY_TARGET;
            let target = library
                .get::<*mut *const std::ffi::c_void>(name.as_bytes())
                .map_err(|e| format!("missing symbol `{name}`: {e}"))?;
            **target = crate::vm::exceptions::waot_personality_routine();
        }
        // In the library: the sections' data, which it maps for as long as it is loaded;
        // `dlopen` mapped the file whose bytes were just checked, from the same descriptor.
        let in_library = |symbol: &str, len: u64| -> std::result::Result<WasmBytes, String> {
            // SAFETY: a symbol of the library naming the start of a section's data.
            let sym = unsafe { library.get::<*const u8>(symbol.as_bytes()) }
                .map_err(|e| format!("missing symbol `{symbol}`: {e}"))?;
            Ok(WasmBytes::InLibrary {
                ptr: *sym,
                len: len as usize,
            })
        };
        let wasm = match input {
            WasmInput::Owned(w) => WasmBytes::Owned(w),
            WasmInput::Unread(file) => WasmBytes::Unread {
                file,
                len: usize::try_from(header.wasm_len).map_err(|e| e.to_string())?,
                bytes: std::sync::OnceLock::new(),
            },
            WasmInput::Embedded => in_library(artifact::SYM_WASM, header.wasm_len)?,
        };
        let wasm_check = std::sync::OnceLock::new();
        let skeleton = match owned_skeleton {
            Some(bytes) => WasmBytes::Owned(bytes),
            None => in_library(artifact::SYM_SKELETON, header.skeleton_len)?,
        };
        let artifact_images =
            artifact_images(&header, &info, &library, library_file, images_file_offset)?;
        let functions = table(artifact::SYM_FUNCTIONS, info.num_defined_funcs() as usize)?;
        let trampolines = table(artifact::SYM_TRAMPOLINES, info.types.len())?;
        let host_adapters = table(artifact::SYM_HOST_ADAPTERS, info.types.len())?;
        // SAFETY: looking up an exported symbol's address.
        let trampoline_table =
            unsafe { library.get::<*const u8>(artifact::SYM_TRAMPOLINES.as_bytes()) }
                .map_err(|e| format!("missing symbol `{}`: {e}", artifact::SYM_TRAMPOLINES))?;
        let profile = profile_tables(
            profile_addresses,
            &library,
            layout.bias(*trampoline_table as usize),
        )?;
        // SAFETY: a symbol of the library naming the start of a section's data.
        let names = unsafe { library.get::<*const u8>(artifact::SYM_NAMES.as_bytes()) }
            .map_err(|e| format!("missing symbol `{}`: {e}", artifact::SYM_NAMES))?;
        // SAFETY: the section's data, `names_len` bytes (checked above), in `library`.
        let names = unsafe {
            code_registry::FunctionNames::new(
                library.clone(),
                *names,
                usize::try_from(header.names_len).map_err(|e| e.to_string())?,
                header.names_hash,
            )
        };
        let registration = code_registry::register(layout.symbols(
            *trampoline_table as usize,
            name,
            &info,
            &functions,
            &[&trampolines, &host_adapters],
            names,
        ));
        let types = signatures::intern_module_types(&info.sub_types, &info.rec_groups)?;
        check_type_indices(&info, &types.ids)?;
        Ok(LoadedModule {
            name: name.to_string(),
            header,
            skeleton,
            wasm,
            wasm_check,
            info,
            functions,
            trampolines,
            host_adapters,
            signatures: types.signatures,
            type_ids: types.ids,
            type_infos: types.infos,
            artifact_images,
            images: Default::default(),
            instantiations: Default::default(),
            profile,
            _registration: registration,
            _library: library,
        })
    }

    /// The original wasm bytes embedded in the artifact, checked against the header's hash
    /// the first time they are read (loading reads only the skeleton).
    pub fn wasm(&self) -> Result<&[u8]> {
        let inner = self;
        // Read before the check, which is kept: a failed read is not, and the next call tries
        // again.
        if let WasmBytes::Unread { file, len, bytes } = &inner.wasm {
            if bytes.get().is_none() {
                use std::os::unix::fs::FileExt;
                let cannot =
                    |e: String| Error::Load(format!("{}: cannot read the module: {e}", inner.name));
                let mut read = Vec::new();
                read.try_reserve_exact(*len)
                    .map_err(|e| cannot(e.to_string()))?;
                read.resize(*len, 0);
                file.read_exact_at(&mut read, 0)
                    .map_err(|e| cannot(e.to_string()))?;
                let _ = bytes.set(read);
            }
        }
        let check = inner.wasm_check.get_or_init(|| {
            let w: &[u8] = &inner.wasm;
            match w.len() as u64 == inner.header.wasm_len
                && artifact::content_hash(w) == inner.header.wasm_hash
            {
                true => Ok(()),
                false => Err(format!(
                    "{}: the wasm does not match the hash in the metadata header (the artifact was altered)",
                    inner.name
                )),
            }
        });
        match check {
            Ok(()) => Ok(&inner.wasm),
            Err(e) => Err(Error::Load(e.clone())),
        }
    }
}
