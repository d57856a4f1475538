//! The universal format: the original wasm module, unchanged, followed by one custom section
//! that carries the native code. Any runtime ignores the section; waot runs the code when it
//! fits the host and is trusted.
//!
//! ```text
//! custom section "waot.aot", the last bytes of the file:
//!   magic "WAOTUNIV", u32 format version (2)
//!   u32 length, ArtifactHeader           (hash and length are those of the original module:
//!                                         the file's bytes before this section)
//!   u64 length, shared object            (ELF, as waotc writes it, without an embedded wasm)
//!   [u8; 8] key id
//!   [u8; 32] tag                         HMAC-SHA256 of "waot-universal-v2" || every byte of
//!                                         the section's content before the tag
//! ```
//!
//! The tag covers every byte and every length that decides what is mapped and how: the
//! lengths are inside the authenticated bytes, the decoder accepts a section only when its
//! fields fill it exactly, and the header decoder accepts a header only when its fields fill
//! it exactly. So no field can be moved or resized without a key (version 1 authenticated the
//! header and object but not the boundary between them).

use crate::artifact::{ArtifactHeader, HeaderError};

pub const SECTION_NAME: &str = "waot.aot";
const MAGIC: &[u8; 8] = b"WAOTUNIV";
pub const FORMAT_VERSION: u32 = 2;
pub const TAG_DOMAIN: &[u8] = b"waot-universal-v2";
const TAG_LEN: usize = 32;

/// The decoded native section.
#[derive(Clone, Debug)]
pub struct NativeSection {
    pub header: ArtifactHeader,
    pub object: Vec<u8>,
    pub key_id: [u8; 8],
    pub tag: [u8; 32],
    /// What the tag authenticates: `TAG_DOMAIN` and the section's content before the tag.
    pub signed: Vec<u8>,
}

/// The section's content up to the key id: everything the tag covers after the domain.
fn unsigned_content(header: &ArtifactHeader, object: &[u8], key_id: [u8; 8]) -> Vec<u8> {
    let header_bytes = header.encode();
    let mut c = Vec::with_capacity(8 + 4 + 4 + header_bytes.len() + 8 + object.len() + 8);
    c.extend_from_slice(MAGIC);
    c.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    c.extend_from_slice(&(header_bytes.len() as u32).to_le_bytes());
    c.extend_from_slice(&header_bytes);
    c.extend_from_slice(&(object.len() as u64).to_le_bytes());
    c.extend_from_slice(object);
    c.extend_from_slice(&key_id);
    c
}

fn with_domain(content: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(TAG_DOMAIN.len() + content.len());
    m.extend_from_slice(TAG_DOMAIN);
    m.extend_from_slice(content);
    m
}

/// The bytes that the tag of a section with these fields authenticates.
pub fn signed_message(header: &ArtifactHeader, object: &[u8], key_id: [u8; 8]) -> Vec<u8> {
    with_domain(&unsigned_content(header, object, key_id))
}

/// Appends `v` as unsigned LEB128.
pub(crate) fn leb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// `module` with the native section appended; `sign` makes the tag of the message it is given.
pub fn append_section(
    module: &[u8],
    header: &ArtifactHeader,
    object: &[u8],
    key_id: [u8; 8],
    sign: impl FnOnce(&[u8]) -> [u8; 32],
) -> Vec<u8> {
    let mut payload = unsigned_content(header, object, key_id);
    let tag = sign(&with_domain(&payload));
    payload.extend_from_slice(&tag);
    let mut content = Vec::new();
    leb128(SECTION_NAME.len() as u64, &mut content);
    content.extend_from_slice(SECTION_NAME.as_bytes());
    content.extend_from_slice(&payload);
    let mut out = module.to_vec();
    out.push(0); // custom section id
    leb128(content.len() as u64, &mut out);
    out.extend_from_slice(&content);
    out
}

/// Splits a wasm file into the original module and its native section, if it has one. A
/// `waot.aot` section anywhere but at the very end of the file, or one whose fields do not
/// fill it exactly, is an error; the module may still be used.
pub fn split(wasm: &[u8]) -> (&[u8], Option<Result<NativeSection, HeaderError>>) {
    let mut found = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CustomSection(c)) if c.name() == SECTION_NAME => {
                if found.is_some() {
                    return (
                        wasm,
                        Some(Err(HeaderError(
                            "native section: more than one `waot.aot` section".into(),
                        ))),
                    );
                }
                let range = c.range();
                let start = section_start(wasm, range.start as usize);
                found = Some((start, range.end as usize, c.data()));
            }
            Ok(_) => {}
            Err(_) => return (wasm, None),
        }
    }
    match found {
        None => (wasm, None),
        Some((start, end, _)) if end != wasm.len() => (
            &wasm[..start],
            Some(Err(HeaderError(
                "native section: it is not the last section of the file".into(),
            ))),
        ),
        Some((start, _, data)) => (&wasm[..start], Some(decode(data))),
    }
}

/// The section's first byte (its id), given where its content starts: walk back over the
/// size's LEB128 bytes.
fn section_start(wasm: &[u8], content_start: usize) -> usize {
    let mut i = content_start - 1; // last byte of the size (no continuation bit)
    while i > 0 && wasm[i - 1] & 0x80 != 0 {
        i -= 1;
    }
    i - 1
}

fn decode(data: &[u8]) -> Result<NativeSection, HeaderError> {
    let err = |m: &str| HeaderError(format!("native section: {m}"));
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], HeaderError> {
        let end = at
            .checked_add(n)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| err("truncated"))?;
        let s = &data[at..end];
        at = end;
        Ok(s)
    };
    if take(8)? != MAGIC {
        return Err(err("wrong magic number"));
    }
    let version = u32::from_le_bytes(take(4)?.try_into().unwrap());
    if version != FORMAT_VERSION {
        return Err(err(&format!(
            "format version {version}, this runtime reads {FORMAT_VERSION}"
        )));
    }
    let header_len = u32::from_le_bytes(take(4)?.try_into().unwrap()) as usize;
    let header = ArtifactHeader::decode(take(header_len)?)?;
    let object_len = usize::try_from(u64::from_le_bytes(take(8)?.try_into().unwrap()))
        .map_err(|_| err("object length out of range"))?;
    let object = take(object_len)?.to_vec();
    let key_id = take(8)?.try_into().unwrap();
    let tag = take(TAG_LEN)?.try_into().unwrap();
    if at != data.len() {
        return Err(err("bytes after the tag"));
    }
    Ok(NativeSection {
        header,
        object,
        key_id,
        tag,
        signed: with_domain(&data[..data.len() - TAG_LEN]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::{content_hash, BoundsStrategy};

    #[test]
    fn append_then_split_round_trips_and_keeps_the_module() {
        let module = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0".to_vec();
        let header = ArtifactHeader {
            abi_version: crate::ABI_VERSION,
            compiler_version: "0".into(),
            target_triple: "x86_64-unknown-linux-gnu".into(),
            cpu: "generic".into(),
            cpu_features: String::new(),
            opt_level: "O2".into(),
            bounds: BoundsStrategy::GuardPages,
            metering: Default::default(),
            wasm_len: module.len() as u64,
            wasm_hash: content_hash(&module),
            skeleton_len: module.len() as u64,
            skeleton_hash: content_hash(&module),
            names_len: 8,
            names_hash: content_hash(b"\0asm\x01\0\0\0"),
            images_len: 0,
            images_hash: content_hash(&[]),
            images: Vec::new(),
        };
        let object = vec![7u8; 300]; // a size whose LEB128 takes two bytes
        let file = append_section(&module, &header, &object, [1; 8], |_| [2; 32]);
        let mut v = wasmparser::Validator::new();
        v.validate_all(&file).expect("still a valid module");
        let (original, native) = split(&file);
        assert_eq!(original, &module[..]);
        let native = native.unwrap().unwrap();
        assert_eq!(native.signed, signed_message(&header, &object, [1; 8]));
        assert_eq!(
            (native.header, native.object, native.key_id, native.tag),
            (header, object, [1; 8], [2; 32])
        );
        assert!(split(&module).1.is_none());
    }

    /// A signed file with a realistic header and an object of varied bytes.
    fn signed_file(key: &crate::trust::Key) -> (Vec<u8>, ArtifactHeader, Vec<u8>, Vec<u8>) {
        let module = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0".to_vec();
        let header = ArtifactHeader {
            abi_version: crate::ABI_VERSION,
            compiler_version: "0.1.0".into(),
            target_triple: "x86_64-unknown-linux-gnu".into(),
            cpu: "x86-64-v3".into(),
            cpu_features: "+avx2".into(),
            opt_level: "O2".into(),
            bounds: BoundsStrategy::GuardPages,
            metering: Default::default(),
            wasm_len: module.len() as u64,
            wasm_hash: content_hash(&module),
            skeleton_len: module.len() as u64,
            skeleton_hash: content_hash(&module),
            names_len: 8,
            names_hash: content_hash(b"\0asm\x01\0\0\0"),
            images_len: 0,
            images_hash: content_hash(&[]),
            images: Vec::new(),
        };
        let object: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let file = append_section(&module, &header, &object, crate::trust::key_id(key), |m| {
            crate::trust::tag(key, m)
        });
        (file, header, object, module)
    }

    /// A native section with these raw fields, placed after `module` with a correct size.
    fn reencoded(module: &[u8], fields: &[&[u8]]) -> Vec<u8> {
        let mut content = Vec::new();
        leb128(SECTION_NAME.len() as u64, &mut content);
        content.extend_from_slice(SECTION_NAME.as_bytes());
        for f in fields {
            content.extend_from_slice(f);
        }
        let mut out = module.to_vec();
        out.push(0);
        leb128(content.len() as u64, &mut out);
        out.extend_from_slice(&content);
        out
    }

    /// Every edit of the lengths that place the header and the object — in place by small and
    /// large amounts, or with the section re-encoded so that the header swallows the start of
    /// the object (or gives up its end) while the bytes in between stay the same — leaves a
    /// file that either does not decode or whose tag no longer verifies, unless it decodes to
    /// exactly what was signed. Format version 1 authenticated `header || object` without the
    /// boundary: moving it let an attacker map a code blob hidden inside the object.
    #[test]
    fn no_field_can_be_moved_or_resized_without_the_key() {
        let key = [9u8; 32];
        let (file, header, object, module) = signed_file(&key);
        let header_bytes = header.encode();
        let header_len = header_bytes.len();
        let payload = 8 + 4 + 4 + header_len + 8 + object.len() + 8 + 32;
        let content = file.len() - payload; // where the section's payload starts
        let header_len_at = content + 12;
        let object_len_at = content + 16 + header_len;
        let key_id_and_tag = &file[file.len() - 40..];
        let set_u32 = |f: &mut Vec<u8>, at: usize, v: i64| {
            f[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes())
        };
        let set_u64 = |f: &mut Vec<u8>, at: usize, v: i64| {
            f[at..at + 8].copy_from_slice(&(v as u64).to_le_bytes())
        };
        let (h, o) = (header_len as i64, object.len() as i64);
        let mut edits: Vec<Vec<u8>> = Vec::new();
        let joined: Vec<u8> = [header_bytes.as_slice(), &object].concat();
        for d in [-4096, -64, -8, -1, 1, 8, 64, 4096, 1 << 32] {
            let mut f = file.clone();
            set_u32(&mut f, header_len_at, h + d);
            edits.push(f);
            let mut f = file.clone();
            set_u64(&mut f, object_len_at, o + d);
            edits.push(f);
            let mut f = file.clone();
            set_u32(&mut f, header_len_at, h + d);
            set_u64(&mut f, object_len_at, o - d);
            edits.push(f);
            if h + d > 0 && d < o {
                let split_at = (h + d) as usize;
                edits.push(reencoded(
                    &module,
                    &[
                        &file[content..content + 12],
                        &((h + d) as u32).to_le_bytes(),
                        &joined[..split_at],
                        &((o - d) as u64).to_le_bytes(),
                        &joined[split_at..],
                        key_id_and_tag,
                    ],
                ));
            }
        }
        let mut swapped = file.clone();
        set_u32(&mut swapped, header_len_at, o);
        set_u64(&mut swapped, object_len_at, h);
        edits.push(swapped);
        // One more byte inside the section, and one after it.
        let mut longer = file[content..].to_vec();
        longer.insert(longer.len() - 40, 0);
        edits.push(reencoded(&module, &[&longer]));
        let mut trailing = file.clone();
        trailing.push(0);
        edits.push(trailing);
        for (i, edited) in edits.iter().enumerate() {
            let (original, native) = split(edited);
            let Some(Ok(section)) = native else { continue };
            let verifies = crate::trust::verify(&key, &section.signed, &section.tag);
            let unchanged =
                section.header == header && section.object == object && original == &module[..];
            assert!(!verifies || unchanged, "edit {i} still verifies");
        }
        let (_, native) = split(&file);
        let section = native.unwrap().unwrap();
        assert!(crate::trust::verify(&key, &section.signed, &section.tag));
    }
}
