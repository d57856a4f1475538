//! Active segments out of bounds, found before wasmi instantiates.
//!
//! When an active segment is out of bounds, instantiation traps after the segments before it
//! were written (WebAssembly 2.0). wasmi 2.0.0 writes them, but then leaves the functions of
//! the failed instance in the imported tables those segments wrote without a usable
//! instance: calling one that touches its instance's globals or memory crashes the process
//! (docs/upstream/wasmi-failed-instance.md). So the bounds are checked here first, and a
//! module that would fail is instantiated with the failing segment and every later one made
//! passive: the tables and memories receive exactly what the failed instantiation writes,
//! from a complete instance, and the caller reports the trap.

use super::instrument::PassiveFrom;
use crate::TrapCode;
use runtime_support::module_info::{ConstOp, ImportKind, ModuleInfo, SegmentMode};
use wasmi::{Extern, Linker, Store};

/// The segments to make passive and the trap, if instantiating the module `info` describes
/// with `linker`'s definitions would fail on a segment; `None` when none would (or when that
/// cannot be told: wasmi then instantiates as usual).
pub fn first_out_of_bounds<T>(
    info: &ModuleInfo,
    linker: &Linker<T>,
    store: &Store<T>,
) -> Option<(PassiveFrom, TrapCode)> {
    // Sizes of tables (elements) and memories (bytes), values of integer globals, in index
    // order: imports first, as the linker defines them.
    let (mut tables, mut memories, mut globals) = (Vec::new(), Vec::new(), Vec::new());
    for import in &info.imports {
        let item = || linker.get(store, &import.module, &import.name);
        match (&import.kind, item()) {
            (ImportKind::Table(_), Some(Extern::Table(t))) => tables.push(t.size(store)),
            (ImportKind::Memory(ty), Some(Extern::Memory(m))) => {
                memories.push(m.size(store) << ty.page_size_log2.unwrap_or(16))
            }
            (ImportKind::Global(_), Some(Extern::Global(g))) => globals.push(match g.get(store) {
                wasmi::Val::I32(v) => Some(v as i64),
                wasmi::Val::I64(v) => Some(v),
                _ => None,
            }),
            (ImportKind::Func(_) | ImportKind::Tag(_), _) => {}
            _ => return None,
        }
    }
    let defined_tables = &info.tables[info.num_imported_tables as usize..];
    tables.extend(defined_tables.iter().map(|t| t.initial));
    let defined_memories = &info.memories[info.num_imported_memories as usize..];
    memories.extend(
        defined_memories
            .iter()
            .map(|m| m.initial << m.page_size_log2.unwrap_or(16)),
    );
    for init in &info.global_inits {
        let value = evaluate(init, &globals);
        globals.push(value);
    }
    for (i, segment) in info.elems.iter().enumerate() {
        if let SegmentMode::Active { index, offset } = &segment.mode {
            let size = *tables.get(*index as usize)?;
            let offset = offset_value(
                evaluate(offset, &globals)?,
                info.tables[*index as usize].table64,
            );
            if offset
                .checked_add(segment.items.len() as u64)
                .is_none_or(|end| end > size)
            {
                let passive = PassiveFrom {
                    elements: i as u32,
                    data: 0,
                };
                return Some((passive, TrapCode::TableOutOfBounds));
            }
        }
    }
    for (i, segment) in info.datas.iter().enumerate() {
        if let SegmentMode::Active { index, offset } = &segment.mode {
            let size = *memories.get(*index as usize)?;
            let wide = info.memories[*index as usize].memory64;
            let offset = offset_value(evaluate(offset, &globals)?, wide);
            if offset
                .checked_add(segment.bytes.len() as u64)
                .is_none_or(|end| end > size)
            {
                let passive = PassiveFrom {
                    elements: u32::MAX,
                    data: i as u32,
                };
                return Some((passive, TrapCode::MemoryOutOfBounds));
            }
        }
    }
    None
}

/// A segment offset: an `i32`, zero-extended, or into a 64-bit table or memory an `i64`.
fn offset_value(v: i64, wide: bool) -> u64 {
    if wide {
        v as u64
    } else {
        v as u32 as u64
    }
}

/// The value of a constant expression of integers, or `None` for any other.
fn evaluate(expr: &[ConstOp], globals: &[Option<i64>]) -> Option<i64> {
    let mut stack: Vec<i64> = Vec::new();
    for op in expr {
        let value = match *op {
            ConstOp::I32(v) => v as i64,
            ConstOp::I64(v) => v,
            ConstOp::GlobalGet(g) => (*globals.get(g as usize)?)?,
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (stack.pop()? as i32, stack.pop()? as i32);
                let value = match *op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                };
                value as i64
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                match *op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
            _ => return None,
        };
        stack.push(value);
    }
    stack.pop()
}
