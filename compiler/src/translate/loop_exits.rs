//! Whether a loop leaves (or goes round) on a value read from memory, decided before its body
//! is translated (`waotc --fuel`). Such a loop has no trip count LLVM can compute, so running
//! it in fuel strips (`fuel_strips`) buys no vectorization, while every entry pays a strip's
//! set-up and exit: quicksort's partition scans run one or two iterations each, and strips
//! made them 25% slower than a check at every header.
//!
//! The body is interpreted over origins instead of values: each operand is "from memory"
//! (a load, a global) or not, and an operator's result is from memory when an operand is.
//! Locals carry an origin from one iteration to the next, so the body is read again until the
//! set of locals from memory stops growing (at most [`MAX_READS`] times). Operators
//! this does not model (those whose arity depends on the module: calls, block parameters,
//! exceptions, GC casts and branches) end the analysis with "no": the loop keeps its strips, as
//! before this analysis existed. Loads the model does not know (atomic, lane and splat
//! loads, `struct.get`, `table.get`) count as not from memory, which also keeps strips.

use super::fuel_strips::breaks_strip;
use std::collections::HashSet;
use wasmparser::{
    BlockType, ContType, FrameKind, FuncType, ModuleArity, Operator as Op, OperatorsReader,
    RefType, SubType,
};

/// The most readings of one loop body: a chain of copies between locals longer than this
/// (which would need more readings to carry a load's origin to the exit) keeps the strips.
const MAX_READS: usize = 4;

/// Whether a conditional branch or `br_table` in the loop whose body `body` reads (positioned
/// just after the `loop` operator) targets the loop itself or something outside it, with a
/// condition or index from memory. `locals` counts parameters and declared locals.
pub fn exits_on_memory(body: &OperatorsReader<'_>, locals: usize) -> bool {
    // Sparse: a function may have tens of thousands of locals and many small loops.
    let mut from_memory = HashSet::new();
    for _ in 0..MAX_READS {
        let known = from_memory.len();
        match scan(body.clone(), locals, &mut from_memory) {
            Some(true) => return true,
            Some(false) if from_memory.len() == known => return false,
            Some(false) => {}
            None => return false,
        }
    }
    false
}

/// A construct open inside the loop (the loop itself first).
struct Frame {
    /// Operand stack height at its start.
    height: usize,
    results: usize,
    /// The rest of it is unreachable (after a `br`, `return`, ...).
    dead: bool,
    /// Opened in unreachable code: all of it is.
    all_dead: bool,
}

/// One reading of the body; `None` when it meets an operator it does not model.
fn scan(
    mut ops: OperatorsReader<'_>,
    locals: usize,
    from_memory: &mut HashSet<u32>,
) -> Option<bool> {
    let mut stack: Vec<bool> = Vec::new();
    let mut frames = vec![Frame {
        height: 0,
        results: 0,
        dead: false,
        all_dead: false,
    }];
    let mut found = false;
    loop {
        let op = ops.read().ok()?;
        let frame = frames.last_mut().expect("the loop's frame is open");
        if frame.dead {
            match op {
                Op::Block { .. }
                | Op::If { .. }
                | Op::Loop { .. }
                | Op::TryTable { .. }
                | Op::Try { .. } => {
                    frames.push(Frame {
                        height: stack.len(),
                        results: 0,
                        dead: true,
                        all_dead: true,
                    });
                    continue;
                }
                // Only a `try` opened in dead code ends with a `delegate` here.
                Op::Delegate { .. } => {
                    frames.pop();
                    continue;
                }
                Op::Else | Op::End => {}
                _ => continue,
            }
        }
        // Relative depth `d` leaves the loop or goes round it.
        let leaves = |frames: &Vec<Frame>, d: u32| d as usize + 1 >= frames.len();
        match op {
            Op::LocalGet { local_index } if (local_index as usize) < locals => {
                stack.push(from_memory.contains(&local_index))
            }
            Op::LocalSet { local_index } | Op::LocalTee { local_index }
                if (local_index as usize) < locals =>
            {
                let v = match op {
                    Op::LocalSet { .. } => stack.pop()?,
                    _ => *stack.last()?,
                };
                if v {
                    from_memory.insert(local_index);
                }
            }
            Op::LocalGet { .. } | Op::LocalSet { .. } | Op::LocalTee { .. } => return None,
            Op::GlobalGet { .. } => stack.push(true),
            Op::I32Load { .. }
            | Op::I64Load { .. }
            | Op::F32Load { .. }
            | Op::F64Load { .. }
            | Op::I32Load8S { .. }
            | Op::I32Load8U { .. }
            | Op::I32Load16S { .. }
            | Op::I32Load16U { .. }
            | Op::I64Load8S { .. }
            | Op::I64Load8U { .. }
            | Op::I64Load16S { .. }
            | Op::I64Load16U { .. }
            | Op::I64Load32S { .. }
            | Op::I64Load32U { .. }
            | Op::V128Load { .. } => {
                stack.pop()?;
                stack.push(true);
            }
            Op::Block { blockty } | Op::If { blockty } => {
                if matches!(op, Op::If { .. }) {
                    stack.pop()?;
                }
                let results = match blockty {
                    BlockType::Empty => 0,
                    BlockType::Type(_) => 1,
                    // Block parameters: not modelled.
                    BlockType::FuncType(_) => return None,
                };
                frames.push(Frame {
                    height: stack.len(),
                    results,
                    dead: false,
                    all_dead: false,
                });
            }
            Op::Else => {
                let frame = frames.last_mut()?;
                if !frame.all_dead {
                    stack.truncate(frame.height);
                    frame.dead = false;
                }
            }
            Op::End => {
                let frame = frames.pop()?;
                if frames.is_empty() {
                    return Some(found);
                }
                if frame.all_dead {
                    continue;
                }
                // Only an operator the model gets wrong could pop below the frame's start.
                if stack.len() < frame.height {
                    return None;
                }
                // A result is from memory if the value falling through the end is; one that
                // only a branch brings is taken not to be.
                let top = stack.len().saturating_sub(frame.results).max(frame.height);
                let mut results: Vec<bool> = stack[top..].to_vec();
                if frame.dead || results.len() != frame.results {
                    results = vec![false; frame.results];
                }
                stack.truncate(frame.height);
                stack.extend(results);
            }
            Op::Br { .. } | Op::Return | Op::Unreachable => frames.last_mut()?.dead = true,
            Op::BrIf { relative_depth } => {
                let condition = stack.pop()?;
                found |= condition && leaves(&frames, relative_depth);
            }
            Op::BrTable { targets } => {
                let index = stack.pop()?;
                for depth in targets.targets().chain([Ok(targets.default())]) {
                    found |= index && leaves(&frames, depth.ok()?);
                }
                frames.last_mut()?.dead = true;
            }
            // What keeps a loop out of strips never reaches here (`plan_fuel_strips` asks only
            // for eligible loops); refused all the same, with the GC branches.
            ref op
                if breaks_strip(op)
                    || matches!(
                        op,
                        Op::BrOnNull { .. }
                            | Op::BrOnNonNull { .. }
                            | Op::BrOnCast { .. }
                            | Op::BrOnCastFail { .. }
                    ) =>
            {
                return None
            }
            other => {
                // Fixed-arity operators: numbers, stores, selects, SIMD. Anything whose arity
                // depends on the module (calls, references) is not modelled.
                let (pops, pushes) = other.operator_arity(&NoModule)?;
                let mut origin = false;
                for _ in 0..pops {
                    origin |= stack.pop()?;
                }
                stack.extend(std::iter::repeat_n(origin, pushes as usize));
            }
        }
    }
}

/// No module: `operator_arity` answers only for operators whose arity is fixed.
struct NoModule;

impl ModuleArity for NoModule {
    fn sub_type_at(&self, _: u32) -> Option<&SubType> {
        None
    }
    fn tag_type_arity(&self, _: u32) -> Option<(u32, u32)> {
        None
    }
    fn type_index_of_function(&self, _: u32) -> Option<u32> {
        None
    }
    fn func_type_of_cont_type(&self, _: &ContType) -> Option<&FuncType> {
        None
    }
    fn sub_type_of_ref_type(&self, _: &RefType) -> Option<&SubType> {
        None
    }
    fn control_stack_height(&self) -> u32 {
        0
    }
    fn label_block(&self, _: u32) -> Option<(BlockType, FrameKind)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::exits_on_memory;

    /// The body of the first `loop` of `wat`'s first function, and its count of locals.
    fn first_loop(wat: &str) -> bool {
        let bytes = wat::parse_str(wat).unwrap();
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let mut locals = 1; // every test function takes one parameter
                for l in body.get_locals_reader().unwrap() {
                    locals += l.unwrap().0 as usize;
                }
                let mut ops = body.get_operators_reader().unwrap();
                while !matches!(ops.read().unwrap(), wasmparser::Operator::Loop { .. }) {}
                return exits_on_memory(&ops, locals);
            }
        }
        unreachable!("no function")
    }

    #[test]
    fn a_counted_loop_does_not_exit_on_memory() {
        assert!(!first_loop(
            r#"(module (memory 1) (func (param i32) (local i32)
              (loop $l
                (i32.store (local.get 1) (i32.load (local.get 1)))
                (local.set 1 (i32.add (local.get 1) (i32.const 4)))
                (br_if $l (i32.lt_u (local.get 1) (local.get 0))))))"#
        ));
    }

    #[test]
    fn a_scan_for_a_value_exits_on_memory() {
        assert!(first_loop(
            r#"(module (memory 1) (func (param i32)
              (loop $l
                (local.set 0 (i32.add (local.get 0) (i32.const 4)))
                (br_if $l (i32.lt_s (i32.load (local.get 0)) (i32.const 7))))))"#
        ));
    }

    #[test]
    fn a_loaded_value_reaches_the_exit_through_a_local_and_the_back_edge() {
        // The exit tests `x` before the load that sets it, in the next iteration.
        assert!(first_loop(
            r#"(module (memory 1) (func (param i32) (local i32)
              (block $out
                (loop $l
                  (br_if $out (i32.eqz (local.get 1)))
                  (local.set 1 (i32.load (local.get 0)))
                  (local.set 0 (i32.add (local.get 0) (i32.const 4)))
                  (br $l)))))"#
        ));
    }

    #[test]
    fn an_origin_travels_a_chain_of_copies_across_iterations() {
        // The exit tests `b`; `b = a` comes before `a = load`: three readings carry it.
        assert!(first_loop(
            r#"(module (memory 1) (func (param i32) (local i32 i32)
              (block $out
                (loop $l
                  (br_if $out (i32.eqz (local.get 2)))
                  (local.set 2 (local.get 1))
                  (local.set 1 (i32.load (local.get 0)))
                  (local.set 0 (i32.add (local.get 0) (i32.const 4)))
                  (br $l)))))"#
        ));
    }

    #[test]
    fn a_branch_inside_the_loop_on_memory_is_not_an_exit() {
        assert!(!first_loop(
            r#"(module (memory 1) (func (param i32) (local i32)
              (loop $l
                (block $skip
                  (br_if $skip (i32.load (local.get 1)))
                  (i32.store (local.get 1) (i32.const 0)))
                (local.set 1 (i32.add (local.get 1) (i32.const 4)))
                (br_if $l (i32.lt_u (local.get 1) (local.get 0))))))"#
        ));
    }

    #[test]
    fn a_block_result_from_memory_keeps_its_origin() {
        assert!(first_loop(
            r#"(module (memory 1) (func (param i32)
              (loop $l
                (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                (br_if $l (block (result i32) (i32.load8_u (local.get 0)))))))"#
        ));
    }
}
