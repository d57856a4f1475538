//! A rewrite of modules before wasmi translates them, around a bug of wasmi 2.0.0 (the latest
//! release): it fuses a comparison with zero (`i32.eqz`, or `eq`/`ne` with 0) into a following
//! `select` by swapping the selected values and taking the comparison's input as the
//! condition, but when that input is a local (or another value in a stack slot) the fused
//! `select` reads its condition from wasmi's register, which still holds an older value — the
//! result of a `memory.size` or `global.get` whose value was dropped, say. Then
//! `(drop (memory.size)) (select (i32.const 1) (local.get $a) (i32.eqz (local.get $a)))`
//! gives 0 for `a = 0` (docs/upstream/wasmi-select-fusion.md has the report).
//!
//! After every such comparison the rewrite inserts `i32.const 0; drop`, which makes wasmi
//! commit the comparison before anything can fuse with it. The module means the same; the
//! interpreter loses a fusion that saved one instruction.

use wasmparser::{Operator, Parser, Payload};

/// `i32.const 0; drop`.
const COMMIT: [u8; 3] = [0x41, 0x00, 0x1a];

/// Whether wasmi may fuse `op` into a following instruction by negating it.
fn fusable_comparison(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::I32Eqz
            | Operator::I64Eqz
            | Operator::I32Eq
            | Operator::I32Ne
            | Operator::I64Eq
            | Operator::I64Ne
    )
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

/// The byte where a section starts (its id), given where its contents start.
fn section_start(wasm: &[u8], contents: usize) -> usize {
    let mut i = contents - 1; // the size's last byte
    while i > 0 && wasm[i - 1] & 0x80 != 0 {
        i -= 1;
    }
    i - 1
}

/// `wasm` (already validated) with `i32.const 0; drop` after every fusable comparison; `wasm`
/// itself when it has no code or cannot be read.
pub fn commit_comparisons(wasm: &[u8]) -> Vec<u8> {
    try_commit_comparisons(wasm).unwrap_or_else(|| wasm.to_vec())
}

fn try_commit_comparisons(wasm: &[u8]) -> Option<Vec<u8>> {
    let mut code: Option<(usize, usize)> = None;
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => {
                let contents = unchecked_range.start as usize;
                code = Some((section_start(wasm, contents), unchecked_range.end as usize));
            }
            Payload::CodeSectionEntry(body) => {
                let start = body.range().start as usize;
                let mut out = Vec::new();
                let mut ops = body.get_operators_reader().ok()?;
                out.extend_from_slice(&wasm[start..ops.original_position() as usize]);
                while !ops.eof() {
                    let from = ops.original_position() as usize;
                    let op = ops.read().ok()?;
                    out.extend_from_slice(&wasm[from..ops.original_position() as usize]);
                    if fusable_comparison(&op) {
                        out.extend_from_slice(&COMMIT);
                    }
                }
                bodies.push(out);
            }
            _ => {}
        }
    }
    let (start, end) = code?;
    let mut contents = Vec::new();
    leb128(bodies.len() as u64, &mut contents);
    for body in &bodies {
        leb128(body.len() as u64, &mut contents);
        contents.extend_from_slice(body);
    }
    let mut out = wasm[..start].to_vec();
    out.push(10); // the code section's id
    leb128(contents.len() as u64, &mut out);
    out.extend_from_slice(&contents);
    out.extend_from_slice(&wasm[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_are_followed_by_a_commit_and_the_module_stays_valid() {
        let wasm = wat::parse_str(
            r#"(module (memory 1)
              (func (param $a i32) (result i32)
                (drop (memory.size))
                (select (i32.const 1) (local.get $a) (i32.eqz (local.get $a))))
              (func (param i64) (result i32) (i64.ne (local.get 0) (i64.const 0)))
              (data (i32.const 0) "after the code"))"#,
        )
        .unwrap();
        let rewritten = commit_comparisons(&wasm);
        assert_eq!(rewritten.len(), wasm.len() + 2 * COMMIT.len());
        wasmparser::Validator::new()
            .validate_all(&rewritten)
            .unwrap();
        assert!(rewritten.windows(14).any(|w| w == b"after the code"));
    }
}
