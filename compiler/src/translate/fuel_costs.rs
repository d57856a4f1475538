//! Fuel cost tables (`waotc --fuel --fuel-costs FILE`, `CompileOptions::fuel_costs`): what
//! each operator charges, instead of one per instruction. The costs are compiled into the
//! code, so a table is chosen when compiling; the artifact records that its fuel is not the
//! default's (`Metering::custom_costs`), and the interpreter, which cannot count that way,
//! refuses to meter such a module rather than count differently.
//!
//! A table is text, one entry per line: `OPERATOR COST`, or `default COST` for every operator
//! not listed that costs fuel by default (the markers of structure — `block`, `loop`, `end`,
//! `else`, `nop`, `try_table` — cost 0 unless listed). `#` starts a comment. An operator is
//! named as in the text format (`i32.div_s`, `call_indirect`, `memory.grow`) or as wasmparser's
//! `Operator` variant (`I32DivS`): case, dots and underscores are ignored.

use std::collections::HashMap;
use std::sync::Arc;
use wasmparser::Operator;

/// The largest cost of one operator: a block of a million of them still cannot overflow.
const MAX_COST: u64 = 1 << 32;

macro_rules! define_operator_names {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
        /// Every operator's variant name.
        const OPERATOR_NAMES: &[&str] = &[$(stringify!($op)),*];

        /// The operator's variant name.
        fn operator_name(op: &Operator<'_>) -> &'static str {
            match op {
                $( Operator::$op { .. } => stringify!($op), )*
                #[allow(unreachable_patterns)]
                _ => "",
            }
        }
    };
}
wasmparser::for_each_operator!(define_operator_names);

/// `I32DivS`, `i32.div_s` and `i32_div_s` all become `i32divs`.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '.' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuelCosts {
    /// By variant name.
    costs: HashMap<&'static str, u64>,
    default: Option<u64>,
}

impl FuelCosts {
    /// Parses a table; the error names the line.
    pub fn parse(text: &str) -> Result<Arc<FuelCosts>, String> {
        let by_normal: HashMap<String, &'static str> =
            OPERATOR_NAMES.iter().map(|n| (normalize(n), *n)).collect();
        let mut table = FuelCosts {
            costs: HashMap::new(),
            default: None,
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |m: String| format!("line {}: {m}", i + 1);
            let mut words = line.split_whitespace();
            let (Some(name), Some(cost), None) = (words.next(), words.next(), words.next()) else {
                return Err(at(format!("`{line}` is not `OPERATOR COST`")));
            };
            let cost: u64 = cost
                .parse()
                .ok()
                .filter(|c| *c <= MAX_COST)
                .ok_or_else(|| at(format!("cost `{cost}` is not a number up to {MAX_COST}")))?;
            if name == "default" {
                table.default = Some(cost);
                continue;
            }
            let op = by_normal
                .get(&normalize(name))
                .ok_or_else(|| at(format!("no operator is named `{name}`")))?;
            if table.costs.insert(op, cost).is_some() {
                return Err(at(format!("`{name}` is listed twice")));
            }
        }
        Ok(Arc::new(table))
    }

    /// The table as text that does not depend on the map's order (for cache keys).
    pub fn fingerprint(&self) -> String {
        let mut entries: Vec<_> = self.costs.iter().collect();
        entries.sort();
        format!("{entries:?} default {:?}", self.default)
    }

    pub fn cost(&self, op: &Operator<'_>) -> u64 {
        match self.costs.get(operator_name(op)) {
            Some(c) => *c,
            None => match super::metering::fuel_cost(op) {
                0 => 0,
                one => self.default.unwrap_or(one),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_either_spelling_and_the_default() {
        let t =
            FuelCosts::parse("# costs\ni32.div_s 10\nCallIndirect 7\ndefault 2\nloop 1\n").unwrap();
        assert_eq!(t.cost(&Operator::I32DivS), 10);
        assert_eq!(t.cost(&Operator::I32Add), 2);
        assert_eq!(t.cost(&Operator::End), 0);
        assert_eq!(
            t.cost(&Operator::Loop {
                blockty: wasmparser::BlockType::Empty
            }),
            1
        );
        assert_eq!(
            t.cost(&Operator::CallIndirect {
                type_index: 0,
                table_index: 0
            }),
            7
        );
    }

    #[test]
    fn bad_tables_name_the_line() {
        for (text, error) in [
            (
                "i32.add 1\ni32.frobnicate 3",
                "line 2: no operator is named `i32.frobnicate`",
            ),
            ("i32.add", "line 1: `i32.add` is not `OPERATOR COST`"),
            ("i32.add -1", "line 1: cost `-1`"),
            ("i32.add 99999999999", "line 1: cost"),
            ("i32.add 1\nI32Add 2", "line 2: `I32Add` is listed twice"),
        ] {
            let e = FuelCosts::parse(text).unwrap_err();
            assert!(e.starts_with(error), "{e}");
        }
    }

    #[test]
    fn every_operator_has_a_distinct_name() {
        let normal: std::collections::HashSet<String> =
            OPERATOR_NAMES.iter().map(|n| normalize(n)).collect();
        assert_eq!(normal.len(), OPERATOR_NAMES.len());
    }
}
