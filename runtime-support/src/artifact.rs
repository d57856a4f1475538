//! The self-description every artifact carries: a versioned metadata header and the original
//! wasm bytes, each in its own section, plus the symbols through which the loader finds code.

use sha2::{Digest, Sha256};

/// ELF section holding the encoded `ArtifactHeader`.
pub const META_SECTION: &str = ".waot.meta";
/// ELF section holding the original wasm module, byte for byte (empty in a universal file's
/// native code, where the module is the file).
pub const WASM_SECTION: &str = ".waot.wasm";
/// The symbol of the embedded module's bytes.
pub const SYM_WASM: &str = "waot_wasm";
/// ELF section holding the module's skeleton (`crate::skeleton`): what loading reads.
pub const SKELETON_SECTION: &str = ".waot.skeleton";
/// The symbol of the skeleton's bytes.
pub const SYM_SKELETON: &str = "waot_skeleton";
/// ELF section holding the module's `name` section as a module of its own
/// (`crate::skeleton::names`): read for backtraces only.
pub const NAMES_SECTION: &str = ".waot.names";
/// The symbol of the names' bytes.
pub const SYM_NAMES: &str = "waot_names";
/// ELF section holding the memory images (`crate::memory_image`), each at a multiple of
/// `memory_image::IMAGE_ALIGN` from the section's start, which is aligned as much: the loader
/// maps them from the artifact file into linear memory.
pub const IMAGES_SECTION: &str = ".waot.images";
/// The symbol of the images' bytes (copied from there where they cannot be mapped).
pub const SYM_IMAGES: &str = "waot_images";
/// `[i64; defined functions]`: code of every defined function, wasm-call ABI. This table and
/// the next two hold each address as its distance from the table's own address, so the
/// dynamic loader relocates none of their entries.
pub const SYM_FUNCTIONS: &str = "waot_functions";
/// `[i64; types]` (offsets, as above): per type index, `fn(code, vmctx, values: *mut ValueSlot)`, which calls
/// `code` with arguments read from `values` and writes the results back over them.
pub const SYM_TRAMPOLINES: &str = "waot_trampolines";
/// `[i64; types]` (offsets, as above): per type index, a wasm-call ABI function whose first argument is a
/// `HostFuncContext`; it spills its arguments to a value array and calls the host callback.
pub const SYM_HOST_ADAPTERS: &str = "waot_host_adapters";

/// The section of code the compiler adds that runs as host code, apart from `.text`, which the
/// loader registers as guest code: the fuel's cold slow path (which only calls builtins), so
/// that a backtrace never names a wasm function for its frames, and a signal there is not
/// taken for one that stopped guest code.
pub const HOST_CODE_SECTION: &str = ".waot.host";
/// Prefix of the symbol of defined function N: `waot_func_N`, kept for backtraces.
pub const FUNC_SYMBOL_PREFIX: &str = "waot_func_";

const MAGIC: &[u8; 8] = b"WAOTMETA";

/// How compiled code keeps memory accesses in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundsStrategy {
    /// 4 GiB reservation plus guard: no checks in code; faults are trapped. Base never moves.
    GuardPages,
    /// An explicit compare before every access; the base is reloaded after every call.
    Explicit,
}

impl BoundsStrategy {
    pub fn name(self) -> &'static str {
        match self {
            BoundsStrategy::GuardPages => "guard-pages",
            BoundsStrategy::Explicit => "explicit",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "guard-pages" => Some(BoundsStrategy::GuardPages),
            "explicit" => Some(BoundsStrategy::Explicit),
            _ => None,
        }
    }
}

/// What compiled code measures so that the host can limit it. Code without a kind of metering
/// cannot be limited that way: the loader refuses to run it when the host asks for that limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metering {
    /// Basic blocks subtract their cost from `VmRuntimeLimits::fuel` (`waotc --fuel`).
    pub fuel: bool,
    /// Loop headers poll `VmRuntimeLimits::interrupt` (`waotc --interruptible`). Function
    /// entries stop on an interrupt in every artifact (through the stack limit).
    pub interruptible: bool,
    /// Fuel is charged from a cost table (`waotc --fuel-costs`), not one per instruction: an
    /// interpreter cannot count the same way, so it refuses to meter the module.
    pub custom_costs: bool,
    /// Function entries and loop headers count into `profile::SYM_PROFILE_COUNTS`
    /// (`waotc --profile-generate`), for `wrun --profile-out`.
    pub profile: bool,
}

impl Metering {
    const FUEL: u32 = 1;
    const INTERRUPTIBLE: u32 = 2;
    const CUSTOM_COSTS: u32 = 4;
    const PROFILE: u32 = 8;

    pub fn bits(self) -> u32 {
        (self.fuel as u32 * Self::FUEL)
            | (self.interruptible as u32 * Self::INTERRUPTIBLE)
            | (self.custom_costs as u32 * Self::CUSTOM_COSTS)
            | (self.profile as u32 * Self::PROFILE)
    }

    pub fn from_bits(bits: u32) -> Result<Self, HeaderError> {
        if bits & !(Self::FUEL | Self::INTERRUPTIBLE | Self::CUSTOM_COSTS | Self::PROFILE) != 0 {
            return Err(HeaderError(format!("unknown metering flags {bits:#x}")));
        }
        if bits & Self::CUSTOM_COSTS != 0 && bits & Self::FUEL == 0 {
            return Err(HeaderError("fuel costs without fuel metering".into()));
        }
        Ok(Metering {
            fuel: bits & Self::FUEL != 0,
            interruptible: bits & Self::INTERRUPTIBLE != 0,
            custom_costs: bits & Self::CUSTOM_COSTS != 0,
            profile: bits & Self::PROFILE != 0,
        })
    }
}

/// Host-side layout of a host function's context: the first field is what a host adapter
/// calls, `callback(ctx, values) -> exn`. It returns null, or an exception for the adapter to
/// throw with the second field, `throw(ctx, exn)` (the `Throw` builtin). Traps leave through
/// the runtime.
pub const HOST_CONTEXT_OFFSET_CALLBACK: u32 = 0;
pub const HOST_CONTEXT_OFFSET_THROW: u32 = 8;

/// One memory image in the images section: `len` bytes at `section_offset` there are the
/// initial contents of memory `memory` from `memory_offset` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageEntry {
    pub memory: u32,
    pub memory_offset: u64,
    pub section_offset: u64,
    pub len: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactHeader {
    pub abi_version: u32,
    pub compiler_version: String,
    pub target_triple: String,
    pub cpu: String,
    /// LLVM feature string the code was compiled for, e.g. `+sse4.2,+avx2,-avx512f`.
    pub cpu_features: String,
    /// Optimization level as given on the command line: `O0`..`O3`, `Os`, `Oz`.
    pub opt_level: String,
    pub bounds: BoundsStrategy,
    /// What the code measures for the host's limits (`--fuel`, `--interruptible`).
    pub metering: Metering,
    pub wasm_len: u64,
    pub wasm_hash: [u8; 32],
    /// The skeleton of the module (`crate::skeleton`), which the loader checks and reads
    /// instead of the module.
    pub skeleton_len: u64,
    pub skeleton_hash: [u8; 32],
    /// The module's function names (`crate::skeleton::names`), checked when first read.
    pub names_len: u64,
    pub names_hash: [u8; 32],
    /// The memory images section, checked at load like the skeleton (whose segments for these
    /// memories are empty: each byte of data is hashed once).
    pub images_len: u64,
    pub images_hash: [u8; 32],
    pub images: Vec<ImageEntry>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct HeaderError(pub String);

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The hash of a section the header describes (the module, its skeleton, its names): BLAKE3,
/// which the loader computes at every start over the skeleton (5.4 MB for yosys: 0.7 ms,
/// against 2.9 ms for SHA-256 with the CPU's SHA instructions).
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    blake3::hash(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ArtifactHeader {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.abi_version.to_le_bytes());
        for s in [
            &self.compiler_version,
            &self.target_triple,
            &self.cpu,
            &self.cpu_features,
            &self.opt_level,
            &self.bounds.name().to_string(),
        ] {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(&self.metering.bits().to_le_bytes());
        out.extend_from_slice(&self.wasm_len.to_le_bytes());
        out.extend_from_slice(&self.wasm_hash);
        out.extend_from_slice(&self.skeleton_len.to_le_bytes());
        out.extend_from_slice(&self.skeleton_hash);
        out.extend_from_slice(&self.names_len.to_le_bytes());
        out.extend_from_slice(&self.names_hash);
        out.extend_from_slice(&self.images_len.to_le_bytes());
        out.extend_from_slice(&self.images_hash);
        out.extend_from_slice(&(self.images.len() as u32).to_le_bytes());
        for image in &self.images {
            out.extend_from_slice(&image.memory.to_le_bytes());
            out.extend_from_slice(&image.memory_offset.to_le_bytes());
            out.extend_from_slice(&image.section_offset.to_le_bytes());
            out.extend_from_slice(&image.len.to_le_bytes());
        }
        out
    }

    /// Decodes a header. The ABI version is read before anything else so that a header from
    /// another version is reported as such rather than as garbage.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(8)? != MAGIC {
            return Err(HeaderError(
                "metadata header has a wrong magic number".into(),
            ));
        }
        let abi_version = u32::from_le_bytes(r.take(4)?.try_into().unwrap());
        if abi_version != crate::ABI_VERSION {
            return Err(HeaderError(format!(
                "artifact ABI version {abi_version}, this runtime supports {}",
                crate::ABI_VERSION
            )));
        }
        let compiler_version = r.string()?;
        let target_triple = r.string()?;
        let cpu = r.string()?;
        let cpu_features = r.string()?;
        let opt_level = r.string()?;
        let bounds_name = r.string()?;
        let bounds = BoundsStrategy::from_name(&bounds_name)
            .ok_or_else(|| HeaderError(format!("unknown bounds strategy `{bounds_name}`")))?;
        let metering = Metering::from_bits(u32::from_le_bytes(r.take(4)?.try_into().unwrap()))?;
        let wasm_len = u64::from_le_bytes(r.take(8)?.try_into().unwrap());
        let wasm_hash = r.take(32)?.try_into().unwrap();
        let skeleton_len = u64::from_le_bytes(r.take(8)?.try_into().unwrap());
        let skeleton_hash = r.take(32)?.try_into().unwrap();
        let names_len = u64::from_le_bytes(r.take(8)?.try_into().unwrap());
        let names_hash = r.take(32)?.try_into().unwrap();
        let images_len = r.u64()?;
        let images_hash = r.take(32)?.try_into().unwrap();
        let count = u32::from_le_bytes(r.take(4)?.try_into().unwrap());
        let mut images = Vec::new();
        for _ in 0..count {
            images.push(ImageEntry {
                memory: u32::from_le_bytes(r.take(4)?.try_into().unwrap()),
                memory_offset: r.u64()?,
                section_offset: r.u64()?,
                len: r.u64()?,
            });
        }
        if r.pos != bytes.len() {
            return Err(HeaderError(
                "metadata header has bytes after its last field".into(),
            ));
        }
        Ok(ArtifactHeader {
            abi_version,
            compiler_version,
            target_triple,
            cpu,
            cpu_features,
            opt_level,
            bounds,
            metering,
            wasm_len,
            wasm_hash,
            skeleton_len,
            skeleton_hash,
            names_len,
            names_hash,
            images_len,
            images_hash,
            images,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HeaderError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| HeaderError("metadata header is truncated".into()))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u64(&mut self) -> Result<u64, HeaderError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    fn string(&mut self) -> Result<String, HeaderError> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().unwrap()) as usize;
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| HeaderError("metadata header holds invalid UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ArtifactHeader {
        ArtifactHeader {
            abi_version: crate::ABI_VERSION,
            compiler_version: "0.1.0".into(),
            target_triple: "x86_64-unknown-linux-gnu".into(),
            cpu: "znver3".into(),
            cpu_features: "+avx2,+sse4.2".into(),
            opt_level: "O2".into(),
            bounds: BoundsStrategy::GuardPages,
            metering: Metering {
                fuel: true,
                interruptible: false,
                custom_costs: false,
                profile: false,
            },
            wasm_len: 8,
            wasm_hash: content_hash(b"\0asm\x01\0\0\0"),
            skeleton_len: 8,
            skeleton_hash: content_hash(b"\0asm\x01\0\0\0"),
            names_len: 8,
            names_hash: content_hash(b"\0asm\x01\0\0\0"),
            images_len: 65536,
            images_hash: content_hash(&[0; 65536]),
            images: vec![ImageEntry {
                memory: 0,
                memory_offset: 1 << 20,
                section_offset: 0,
                len: 65536,
            }],
        }
    }

    #[test]
    fn unknown_metering_flags_are_refused() {
        let mut bytes = sample().encode();
        // The flags sit before the wasm's, the skeleton's, the names' and the images' lengths
        // and hashes (4 × (8 + 32)) and the one image entry (4 + 4 + 3 × 8).
        let at = bytes.len() - 160 - 32 - 4;
        assert_eq!(bytes[at..at + 4], 1u32.to_le_bytes());
        bytes[at..at + 4].copy_from_slice(&16u32.to_le_bytes());
        let e = ArtifactHeader::decode(&bytes).unwrap_err();
        assert!(e.0.contains("unknown metering flags"), "{e}");
        // A cost table without fuel means nothing: refused too.
        bytes[at..at + 4].copy_from_slice(&4u32.to_le_bytes());
        let e = ArtifactHeader::decode(&bytes).unwrap_err();
        assert!(e.0.contains("fuel costs without fuel"), "{e}");
    }

    #[test]
    fn header_round_trips() {
        let h = sample();
        assert_eq!(ArtifactHeader::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn truncated_and_foreign_headers_are_rejected() {
        let bytes = sample().encode();
        for cut in [0, 7, 12, bytes.len() - 1] {
            assert!(
                ArtifactHeader::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ArtifactHeader::decode(&longer).is_err(), "trailing byte");
        let mut other = sample();
        other.abi_version += 1;
        let err = ArtifactHeader::decode(&other.encode()).unwrap_err();
        assert!(err.0.contains("ABI version"), "{err}");
    }
}
