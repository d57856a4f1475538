//! The universal format: the original wasm module, unchanged, followed by one custom section
//! that carries the native code. Any runtime ignores the section; waot runs the code when it
//! fits the host and is trusted.
//!
//! ```text
//! custom section "waot.aot":
//!   magic "WAOTUNIV", u32 format version (1)
//!   u32 length, ArtifactHeader           (hash and length are those of the original module:
//!                                         the file's bytes before this section)
//!   u64 length, shared object            (ELF, as waotc writes it, without an embedded wasm)
//!   [u8; 8] key id, [u8; 32] tag         HMAC-SHA256 of "waot-universal-v1" || header || object
//! ```

use crate::artifact::{ArtifactHeader, HeaderError};

pub const SECTION_NAME: &str = "waot.aot";
const MAGIC: &[u8; 8] = b"WAOTUNIV";
pub const FORMAT_VERSION: u32 = 1;
pub const TAG_DOMAIN: &[u8] = b"waot-universal-v1";

/// The decoded native section.
#[derive(Clone, Debug)]
pub struct NativeSection {
    pub header: ArtifactHeader,
    pub header_bytes: Vec<u8>,
    pub object: Vec<u8>,
    pub key_id: [u8; 8],
    pub tag: [u8; 32],
}

/// The bytes that the tag authenticates.
pub fn signed_message(header_bytes: &[u8], object: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(TAG_DOMAIN.len() + header_bytes.len() + object.len());
    m.extend_from_slice(TAG_DOMAIN);
    m.extend_from_slice(header_bytes);
    m.extend_from_slice(object);
    m
}

fn leb128(mut v: u64, out: &mut Vec<u8>) {
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

/// `module` with the native section appended.
pub fn append_section(
    module: &[u8],
    header: &ArtifactHeader,
    object: &[u8],
    key_id: [u8; 8],
    tag: [u8; 32],
) -> Vec<u8> {
    let header_bytes = header.encode();
    let mut payload = Vec::new();
    payload.extend_from_slice(MAGIC);
    payload.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    payload.extend_from_slice(&(header_bytes.len() as u32).to_le_bytes());
    payload.extend_from_slice(&header_bytes);
    payload.extend_from_slice(&(object.len() as u64).to_le_bytes());
    payload.extend_from_slice(object);
    payload.extend_from_slice(&key_id);
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

/// Splits a wasm file into the original module and its native section, if it has one (as its
/// last section). A malformed native section is an error; the module may still be used.
pub fn split(wasm: &[u8]) -> (&[u8], Option<Result<NativeSection, HeaderError>>) {
    let mut last = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CustomSection(c)) if c.name() == SECTION_NAME => {
                let range = c.range();
                let start = section_start(wasm, range.start as usize);
                last = Some((start, c.data().to_vec()));
            }
            Ok(_) => {}
            Err(_) => return (wasm, None),
        }
    }
    match last {
        None => (wasm, None),
        Some((start, data)) => (&wasm[..start], Some(decode(&data))),
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
    let header_bytes = take(header_len)?.to_vec();
    let header = ArtifactHeader::decode(&header_bytes)?;
    let object_len = u64::from_le_bytes(take(8)?.try_into().unwrap()) as usize;
    let object = take(object_len)?.to_vec();
    let key_id = take(8)?.try_into().unwrap();
    let tag = take(32)?.try_into().unwrap();
    Ok(NativeSection {
        header,
        header_bytes,
        object,
        key_id,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::{sha256, BoundsStrategy};

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
            wasm_len: module.len() as u64,
            wasm_sha256: sha256(&module),
        };
        let object = vec![7u8; 300]; // a size whose LEB128 takes two bytes
        let file = append_section(&module, &header, &object, [1; 8], [2; 32]);
        let mut v = wasmparser::Validator::new();
        v.validate_all(&file).expect("still a valid module");
        let (original, native) = split(&file);
        assert_eq!(original, &module[..]);
        let native = native.unwrap().unwrap();
        assert_eq!(
            (native.header, native.object, native.key_id, native.tag),
            (header, object, [1; 8], [2; 32])
        );
        assert!(split(&module).1.is_none());
    }
}
