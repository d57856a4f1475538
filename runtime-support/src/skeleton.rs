//! The skeleton: what the loader needs of a module to run its native code, as a valid wasm
//! module — every section but the code, whose bodies become `unreachable`, and none of the
//! custom sections. Types, imports, exports, tables, memories, globals, element and data
//! segments are there byte for byte, so `ModuleInfo::parse` reads it as it reads the module
//! and data segments are copied out of it; but the active segments of a memory whose image
//! the artifact carries (`crate::memory_image`) are empty there, their bytes in the image.
//!
//! The `name` section goes apart (`names`), a module of its own with its own length and hash
//! in the header: only a backtrace reads it, and it can be most of what is left (yosys: 16 MB
//! of names against 5 MB of data), so loading neither hashes nor parses it.
//!
//! An artifact carries it beside the original module, with its own length and hash in the
//! header: the loader hashes and parses the skeleton (the module's declarations and data, a
//! small part of a large program) instead of the whole module, whose code it never needs; the
//! module is hashed only when something reads it (the interpreter, the compile cache).

const CODE: u8 = 10;
const DATA: u8 = 11;
const CUSTOM: u8 = 0;

/// The function body `unreachable; end` with no locals, size-prefixed.
const STUB_BODY: [u8; 4] = [3, 0, 0x00, 0x0b];

/// The skeleton of `wasm`, a module that has been validated. The active data segments that
/// target one of `imaged` (memories whose contents the artifact holds as images,
/// `crate::memory_image`) keep their offsets and lose their bytes: the image has them, and
/// loading hashes each byte once.
pub fn skeleton(wasm: &[u8], imaged: &[u32]) -> Result<Vec<u8>, String> {
    rebuild(wasm, |out, id, section, content| {
        match id {
            DATA if !imaged.is_empty() => {
                let at = content.as_ptr() as usize - wasm.as_ptr() as usize;
                push_section(out, DATA, &strip_data(wasm, at, content, imaged)?);
            }
            CODE => {
                let (count, count_len) =
                    leb_u32(content).ok_or("the code section's count is malformed")?;
                let mut stubs = content[..count_len].to_vec();
                for _ in 0..count {
                    stubs.extend_from_slice(&STUB_BODY);
                }
                push_section(out, CODE, &stubs);
            }
            CUSTOM => {}
            _ => out.extend_from_slice(section),
        }
        Ok(())
    })
}

/// The `name` section of `wasm`, a module that has been validated, as a module of its own (the
/// wasm header and that section; just the header if there is none).
pub fn names(wasm: &[u8]) -> Result<Vec<u8>, String> {
    rebuild(wasm, |out, id, section, content| {
        if id == CUSTOM && custom_name(content) == Some(b"name".as_slice()) {
            out.extend_from_slice(section);
        }
        Ok(())
    })
}

/// A module made from `wasm`'s header and what `keep` appends for each of its sections, given
/// the section's id, its bytes and its content's.
fn rebuild(
    wasm: &[u8],
    mut keep: impl FnMut(&mut Vec<u8>, u8, &[u8], &[u8]) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    let header = wasm.get(..8).ok_or("a wasm module is at least 8 bytes")?;
    let mut out = header.to_vec();
    let mut pos = 8;
    while pos < wasm.len() {
        let id = wasm[pos];
        let (size, size_len) = leb_u32(&wasm[pos + 1..]).ok_or("a section size is malformed")?;
        let start = pos + 1 + size_len;
        let end = start
            .checked_add(size as usize)
            .filter(|&e| e <= wasm.len())
            .ok_or("a section runs past the module's end")?;
        keep(&mut out, id, &wasm[pos..end], &wasm[start..end])?;
        pos = end;
    }
    Ok(out)
}

/// The data section `content` (at offset `at` in `wasm`) with the bytes of the active segments
/// that target one of `imaged` removed: each keeps its flags, memory and offset, and becomes
/// empty.
fn strip_data(wasm: &[u8], at: usize, content: &[u8], imaged: &[u32]) -> Result<Vec<u8>, String> {
    let reader = wasmparser::BinaryReader::new(content, at as u64);
    let reader = wasmparser::DataSectionReader::new(reader).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(content.len());
    crate::universal::leb128(reader.count() as u64, &mut out);
    for data in reader {
        let data = data.map_err(|e| e.to_string())?;
        let range = data.range.start as usize..data.range.end as usize;
        match data.kind {
            wasmparser::DataKind::Active {
                memory_index,
                offset_expr,
            } if imaged.contains(&memory_index) => {
                let expr = offset_expr.get_binary_reader();
                let expr_end = expr.original_position() as usize + expr.bytes_remaining();
                out.extend_from_slice(&wasm[range.start..expr_end]);
                out.push(0);
            }
            _ => out.extend_from_slice(&wasm[range]),
        }
    }
    Ok(out)
}

fn custom_name(content: &[u8]) -> Option<&[u8]> {
    let (len, len_len) = leb_u32(content)?;
    content.get(len_len..len_len.checked_add(len as usize)?)
}

fn push_section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    crate::universal::leb128(content.len() as u64, out);
    out.extend_from_slice(content);
}

/// An unsigned LEB128 `u32` and its length in bytes.
fn leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_info::ModuleInfo;

    /// (module (memory 1) (data (i32.const 8) "hi") (func (export "f") (result i32)
    ///   i32.const 42) (func (param i32)) + a `name` and a `producers` custom section.
    fn module() -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        push_section(&mut m, 1, &[2, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 0]);
        push_section(&mut m, 3, &[2, 0, 1]);
        push_section(&mut m, 5, &[1, 0, 1]);
        push_section(&mut m, 7, &[1, 1, b'f', 0, 0]);
        push_section(&mut m, 10, &[2, 4, 0, 0x41, 42, 0x0b, 2, 0, 0x0b]);
        push_section(&mut m, 11, &[1, 0, 0x41, 8, 0x0b, 2, b'h', b'i']);
        push_section(&mut m, 0, b"\x04name\x01\x04\x01\x00\x01g");
        push_section(&mut m, 0, b"\x09producersXYZ");
        m
    }

    #[test]
    fn keeps_declarations_and_data_stubs_the_code_and_puts_names_apart() {
        let wasm = module();
        let skel = skeleton(&wasm, &[]).unwrap();
        let full = ModuleInfo::parse(&wasm).unwrap();
        let info = ModuleInfo::parse(&skel).unwrap();
        assert_eq!(info.types, full.types);
        assert_eq!(info.funcs, full.funcs);
        assert_eq!(info.exports.len(), 1);
        assert_eq!(info.func_name(0), None);
        assert!(!skel.windows(4).any(|w| w == b"name"));
        let names = names(&wasm).unwrap();
        assert_eq!(ModuleInfo::parse(&names).unwrap().func_name(0), Some("g"));
        assert!(!names.windows(9).any(|w| w == b"producers"));
        crate::validate::validate(&names, &[]).unwrap();
        assert_eq!(&skel[info.datas[0].bytes.clone()], b"hi");
        assert_eq!(info.bodies.len(), 2);
        for body in &info.bodies {
            assert_eq!(&skel[body.clone()], &STUB_BODY[1..]);
        }
        assert!(!skel.windows(9).any(|w| w == b"producers"));
        crate::validate::validate(&skel, &[]).unwrap();
        // What a loader reads: the same declarations, sections and data, no bodies; a
        // truncated skeleton parses exactly when `parse` takes it (at a section's end), and
        // never panics.
        let decl = ModuleInfo::parse_declarations(&skel).unwrap();
        assert!(decl.bodies.is_empty());
        assert_eq!(decl.sections, info.sections);
        assert_eq!(decl.funcs, info.funcs);
        assert_eq!(decl.datas[0].bytes, info.datas[0].bytes);
        for n in 0..skel.len() {
            let (decl, full) = (
                ModuleInfo::parse_declarations(&skel[..n]),
                ModuleInfo::parse(&skel[..n]),
            );
            assert_eq!(decl.is_ok(), full.is_ok(), "{n} bytes");
        }
    }

    #[test]
    fn segments_of_imaged_memories_keep_their_offsets_and_lose_their_bytes() {
        // (memory 1) (data (i32.const 8) "hi") (data "xyz"): the passive segment stays whole
        // (`memory.init` reads it).
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        push_section(&mut wasm, 5, &[1, 0, 1]);
        push_section(&mut wasm, 12, &[2]);
        push_section(
            &mut wasm,
            11,
            &[2, 0, 0x41, 8, 0x0b, 2, b'h', b'i', 1, 3, b'x', b'y', b'z'],
        );
        crate::validate::validate(&wasm, &[]).unwrap();
        let full = ModuleInfo::parse(&wasm).unwrap();
        assert_eq!(full.datas.len(), 2);
        let skel = skeleton(&wasm, &[0]).unwrap();
        crate::validate::validate(&skel, &[]).unwrap();
        let info = ModuleInfo::parse(&skel).unwrap();
        assert!(info.datas[0].bytes.is_empty());
        assert!(matches!(
            &info.datas[0].mode,
            crate::module_info::SegmentMode::Active { index: 0, offset } if offset[..] == [crate::module_info::ConstOp::I32(8)]
        ));
        assert_eq!(&skel[info.datas[1].bytes.clone()], b"xyz");
        // Other memories' segments are untouched.
        assert_eq!(
            skeleton(&wasm, &[1]).unwrap(),
            skeleton(&wasm, &[]).unwrap()
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let wasm = module();
        for cut in 0..wasm.len() {
            let _ = skeleton(&wasm[..cut], &[]);
            let _ = skeleton(&wasm[..cut], &[0]);
            let _ = names(&wasm[..cut]);
        }
        assert!(skeleton(b"\0asm", &[]).is_err());
        assert!(names(b"\0asm").is_err());
    }
}
