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
use wasmi::{Extern, Linker, Store};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// The segments to make passive and the trap, if instantiating `wasm` with `linker`'s
/// definitions would fail on a segment; `None` when none would (or when that cannot be told:
/// wasmi then instantiates as usual).
pub fn first_out_of_bounds<T>(
    wasm: &[u8],
    linker: &Linker<T>,
    store: &Store<T>,
) -> Option<(PassiveFrom, TrapCode)> {
    let mut tables: Vec<u64> = Vec::new();
    let mut memories: Vec<u64> = Vec::new();
    let mut globals: Vec<Option<i64>> = Vec::new();
    let (mut element, mut data) = (0u32, 0u32);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.ok()?;
                    let item = || linker.get(store, import.module, import.name);
                    match import.ty {
                        TypeRef::Table(_) => match item()? {
                            Extern::Table(t) => tables.push(t.size(store)),
                            _ => return None,
                        },
                        TypeRef::Memory(_) => match item()? {
                            Extern::Memory(m) => memories.push(m.size(store) << 16),
                            _ => return None,
                        },
                        TypeRef::Global(_) => match item()? {
                            Extern::Global(g) => globals.push(match g.get(store) {
                                wasmi::Val::I32(v) => Some(v as i64),
                                wasmi::Val::I64(v) => Some(v),
                                _ => None,
                            }),
                            _ => return None,
                        },
                        _ => {}
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    tables.push(table.ok()?.ty.initial);
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    memories.push(memory.ok()?.initial << 16);
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let value = evaluate(&global.ok()?.init_expr, &globals);
                    globals.push(value);
                }
            }
            Payload::ElementSection(reader) => {
                for segment in reader {
                    let segment = segment.ok()?;
                    if let wasmparser::ElementKind::Active {
                        table_index,
                        offset_expr,
                    } = segment.kind
                    {
                        let size = *tables.get(table_index.unwrap_or(0) as usize)?;
                        let offset = evaluate(&offset_expr, &globals)? as u32 as u64;
                        let count = match &segment.items {
                            wasmparser::ElementItems::Functions(r) => r.count(),
                            wasmparser::ElementItems::Expressions(_, r) => r.count(),
                        };
                        if offset + count as u64 > size {
                            let passive = PassiveFrom {
                                elements: element,
                                data: 0,
                            };
                            return Some((passive, TrapCode::TableOutOfBounds));
                        }
                    }
                    element += 1;
                }
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    let segment = segment.ok()?;
                    if let wasmparser::DataKind::Active {
                        memory_index,
                        offset_expr,
                    } = segment.kind
                    {
                        let size = *memories.get(memory_index as usize)?;
                        let offset = evaluate(&offset_expr, &globals)? as u32 as u64;
                        if offset + segment.data.len() as u64 > size {
                            let passive = PassiveFrom {
                                elements: u32::MAX,
                                data,
                            };
                            return Some((passive, TrapCode::MemoryOutOfBounds));
                        }
                    }
                    data += 1;
                }
            }
            _ => {}
        }
    }
    None
}

/// The value of a constant expression of integers, or `None` for any other.
fn evaluate(expr: &wasmparser::ConstExpr<'_>, globals: &[Option<i64>]) -> Option<i64> {
    let mut stack: Vec<i64> = Vec::new();
    let mut ops = expr.get_operators_reader();
    while !ops.eof() {
        let op = ops.read().ok()?;
        let mut binary = |f: fn(i64, i64) -> i64| -> Option<()> {
            let (b, a) = (stack.pop()?, stack.pop()?);
            stack.push(f(a, b));
            Some(())
        };
        match op {
            Operator::I32Const { value } => stack.push(value as i64),
            Operator::I64Const { value } => stack.push(value),
            Operator::GlobalGet { global_index } => {
                stack.push((*globals.get(global_index as usize)?)?)
            }
            Operator::I32Add => binary(|a, b| (a as i32).wrapping_add(b as i32) as i64)?,
            Operator::I32Sub => binary(|a, b| (a as i32).wrapping_sub(b as i32) as i64)?,
            Operator::I32Mul => binary(|a, b| (a as i32).wrapping_mul(b as i32) as i64)?,
            Operator::I64Add => binary(i64::wrapping_add)?,
            Operator::I64Sub => binary(i64::wrapping_sub)?,
            Operator::I64Mul => binary(i64::wrapping_mul)?,
            Operator::End => {}
            _ => return None,
        }
    }
    stack.pop()
}
