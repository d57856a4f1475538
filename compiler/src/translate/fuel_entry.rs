//! Which functions check the fuel at their entry (`waotc --fuel`).
//!
//! Fuel is checked at loop headers (or once per strip, `fuel_strips`) and at function
//! entries, so that no guest runs far past zero: without a check at entry, recursion would
//! run unchecked. But only a function that can be part of unbounded work needs one. A
//! function checks at entry when it
//! - lies on a cycle of direct calls (recursion, tail calls included);
//! - calls through a table or a reference, or an imported function (either may lead back
//!   into this module, or into another module's code that does not check either);
//! - is called by a function on a cycle (so that returns up a deep recursion check at each
//!   frame's next call, as a recursion's descent does at each entry);
//! - or is made to, because a caller would otherwise run more than [`UNCHECKED_OPERATORS`]
//!   operators between checks (or its own, if more), counting those of the unchecked
//!   functions it calls, site by site (so that a tree of calls that doubles at each level is
//!   cut). An operator counts its
//!   fuel cost where a cost table makes it more than one.
//!
//! The rest run a bounded number of operators before their caller's next check. Calls from
//! the host are checked by the loader before entering. The decision for a function depends
//! on the whole module's call graph, so the object cache keys each partition with it.

use super::fuel_costs::FuelCosts;
use crate::CompileError;
use runtime_support::ModuleInfo;
use wasmparser::{BinaryReader, FunctionBody, Operator as Op};

/// The most operators (or fuel, if more) a call of an unchecked function may run, its
/// unchecked callees' included, before a check.
pub const UNCHECKED_OPERATORS: u64 = 10_000;

/// One defined function's part of the call graph.
struct Node {
    /// Operators in the body, each weighing its fuel cost if more than one.
    operators: u64,
    /// Defined functions called directly, with the number of call sites.
    callees: Vec<(u32, u64)>,
    /// Calls through a table or reference, or an import.
    calls_out: bool,
}

fn scan(
    wasm: &[u8],
    info: &ModuleInfo,
    costs: Option<&FuelCosts>,
    defined: u32,
    source: &str,
) -> Result<Node, CompileError> {
    let range = info.bodies[defined as usize].clone();
    let body = FunctionBody::new(BinaryReader::new(&wasm[range.clone()], range.start as u64));
    let invalid = |e: wasmparser::BinaryReaderError| {
        CompileError::invalid(source, None, e.offset() as usize, e.message())
    };
    let mut node = Node {
        operators: 0,
        callees: Vec::new(),
        calls_out: false,
    };
    let imported = info.num_imported_funcs;
    let mut ops = body.get_operators_reader().map_err(invalid)?;
    while !ops.eof() {
        let op = ops.read().map_err(invalid)?;
        let cost = costs.map_or(1, |c| c.cost(&op));
        node.operators = node.operators.saturating_add(cost.max(1));
        match op {
            Op::Call { function_index } | Op::ReturnCall { function_index } => {
                match function_index.checked_sub(imported) {
                    Some(callee) => node.callees.push((callee, 1)),
                    None => node.calls_out = true,
                }
            }
            Op::CallIndirect { .. }
            | Op::CallRef { .. }
            | Op::ReturnCallIndirect { .. }
            | Op::ReturnCallRef { .. } => node.calls_out = true,
            _ => {}
        }
    }
    node.callees.sort_unstable();
    node.callees.dedup_by(|b, a| {
        let same = a.0 == b.0;
        if same {
            a.1 += b.1;
        }
        same
    });
    Ok(node)
}

/// The strongly connected components of the direct-call graph, callees' before callers'
/// (Tarjan's algorithm, without recursion: call chains may be long).
fn components(nodes: &[Node]) -> Vec<Vec<u32>> {
    const NONE: u32 = u32::MAX;
    let n = nodes.len();
    let (mut index, mut low) = (vec![NONE; n], vec![0u32; n]);
    let mut on_stack = vec![false; n];
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0u32);
    for root in 0..n as u32 {
        if index[root as usize] != NONE {
            continue;
        }
        // (node, next callee to visit)
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut edge)) = work.last_mut() {
            let vi = v as usize;
            if *edge == 0 && index[vi] == NONE {
                (index[vi], low[vi]) = (next, next);
                next += 1;
                stack.push(v);
                on_stack[vi] = true;
            }
            if let Some(&(w, _)) = nodes[vi].callees.get(*edge) {
                *edge += 1;
                let wi = w as usize;
                if index[wi] == NONE {
                    work.push((w, 0));
                } else if on_stack[wi] {
                    low[vi] = low[vi].min(index[wi]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                let pi = parent as usize;
                low[pi] = low[pi].min(low[vi]);
            }
            if low[vi] == index[vi] {
                let mut component = Vec::new();
                loop {
                    let w = stack.pop().expect("v is on the stack");
                    on_stack[w as usize] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(component);
            }
        }
    }
    out
}

/// For each defined function, whether it checks the fuel at entry; `costs` is the module's
/// cost table, if it has one.
pub fn plan_entry_checks(
    wasm: &[u8],
    info: &ModuleInfo,
    costs: Option<&FuelCosts>,
    source: &str,
) -> Result<Vec<bool>, CompileError> {
    let nodes = (0..info.bodies.len() as u32)
        .map(|f| scan(wasm, info, costs, f, source))
        .collect::<Result<Vec<_>, _>>()?;
    let mut checked = vec![false; nodes.len()];
    let mut component_of = vec![u32::MAX; nodes.len()];
    // Operators a call of each unchecked function may run before a check.
    let mut weight = vec![0u64; nodes.len()];
    for (id, component) in components(&nodes).into_iter().enumerate() {
        for &f in &component {
            component_of[f as usize] = id as u32;
        }
        let cyclic = component.len() > 1 || {
            let f = component[0];
            nodes[f as usize].callees.iter().any(|&(g, _)| g == f)
        };
        for &f in &component {
            let node = &nodes[f as usize];
            let outside = |&&(g, _): &&(u32, u64)| component_of[g as usize] != id as u32;
            if cyclic {
                for &(g, _) in node.callees.iter().filter(outside) {
                    checked[g as usize] = true;
                }
            }
            let mut sites: Vec<(u64, u32)> = node
                .callees
                .iter()
                .filter(outside)
                .filter(|&&(g, _)| !checked[g as usize])
                .map(|&(g, count)| (count.saturating_mul(weight[g as usize]), g))
                .collect();
            let mut total = sites
                .iter()
                .fold(node.operators, |sum, &(w, _)| sum.saturating_add(w));
            // Heaviest first: each callee made to check takes its share off.
            sites.sort_unstable_by(|a, b| b.cmp(a));
            for (w, g) in sites {
                if total <= UNCHECKED_OPERATORS {
                    break;
                }
                checked[g as usize] = true;
                total = total.saturating_sub(w);
            }
            weight[f as usize] = total;
            checked[f as usize] |= cyclic || node.calls_out;
        }
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::{components, Node};

    fn graph(edges: &[&[u32]]) -> Vec<Node> {
        edges
            .iter()
            .map(|callees| Node {
                operators: 1,
                callees: callees.iter().map(|&g| (g, 1)).collect(),
                calls_out: false,
            })
            .collect()
    }

    /// Tarjan's components, callees' before callers', on a graph with a two-function cycle, a
    /// self-loop, a chain into the cycle, and a long chain (no recursion to overflow).
    #[test]
    fn components_come_callees_first() {
        let g = graph(&[&[1], &[2], &[1], &[3], &[0]]);
        let mut found = components(&g);
        for c in &mut found {
            c.sort_unstable();
        }
        let at = |c: &[u32]| found.iter().position(|x| x == c).unwrap();
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(at(&[1, 2]) < at(&[0]) && at(&[0]) < at(&[4]), "{found:?}");
        assert!(found.contains(&vec![3]));

        let n = 200_000u32;
        let chain: Vec<Vec<u32>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![0] })
            .collect();
        let refs: Vec<&[u32]> = chain.iter().map(|v| v.as_slice()).collect();
        let found = components(&graph(&refs));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].len(), n as usize);
    }
}
