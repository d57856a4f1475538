//! Command-line values: parsing arguments by an export's signature, and printing results.

use waot::{Val, ValType};

pub fn parse_args(params: &[ValType], args: &[String]) -> Result<Vec<Val>, String> {
    if params.len() != args.len() {
        return Err(format!(
            "expects {} arguments, got {}",
            params.len(),
            args.len()
        ));
    }
    params
        .iter()
        .zip(args)
        .map(|(t, a)| parse_value(*t, a))
        .collect()
}

fn parse_int(s: &str) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn parse_value(t: ValType, s: &str) -> Result<Val, String> {
    let bad = || format!("`{s}` is not a valid {t:?}");
    Ok(match t {
        ValType::I32 => {
            let v = parse_int(s)
                .filter(|v| *v >= i32::MIN as i128 && *v <= u32::MAX as i128)
                .ok_or_else(bad)?;
            Val::I32(v as i32)
        }
        ValType::I64 => {
            let v = parse_int(s)
                .filter(|v| *v >= i64::MIN as i128 && *v <= u64::MAX as i128)
                .ok_or_else(bad)?;
            Val::I64(v as i64)
        }
        ValType::F32 => Val::f32(s.parse::<f32>().map_err(|_| bad())?),
        ValType::F64 => Val::f64(s.parse::<f64>().map_err(|_| bad())?),
        _ => {
            return Err(format!(
                "parameters of type {t:?} cannot be given on the command line"
            ))
        }
    })
}

pub fn show(v: &Val) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_numbers_and_special_floats_parse() {
        let params = [ValType::I32, ValType::I64, ValType::F32, ValType::F64];
        let args: Vec<String> = ["-1", "0xff", "inf", "-2.5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let v = parse_args(&params, &args).unwrap();
        assert_eq!(
            v,
            vec![
                Val::I32(-1),
                Val::I64(255),
                Val::f32(f32::INFINITY),
                Val::f64(-2.5)
            ]
        );
        assert!(parse_value(ValType::F64, "nan").is_ok());
        assert!(parse_value(ValType::I32, "4294967296").is_err());
        assert!(parse_value(ValType::I32, "x").is_err());
    }
}
