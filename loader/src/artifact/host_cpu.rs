//! Whether this CPU has the features an artifact was compiled for, checked before any of its
//! code is mapped.

/// Returns the first feature enabled in `features` (LLVM syntax, `+a,-b`) that this CPU lacks.
/// Features that do not name an instruction-set extension are not checked.
pub fn first_missing_feature(features: &str) -> Option<String> {
    features
        .split(',')
        .filter_map(|f| f.strip_prefix('+'))
        .find(|f| has_feature(f) == Some(false))
        .map(str::to_string)
}

#[cfg(target_arch = "x86_64")]
fn has_feature(name: &str) -> Option<bool> {
    use std::arch::is_x86_feature_detected as has;
    Some(match name {
        "sse2" => has!("sse2"),
        "sse3" => has!("sse3"),
        "ssse3" => has!("ssse3"),
        "sse4.1" => has!("sse4.1"),
        "sse4.2" => has!("sse4.2"),
        "sse4a" => has!("sse4a"),
        "popcnt" => has!("popcnt"),
        "avx" => has!("avx"),
        "avx2" => has!("avx2"),
        "bmi" => has!("bmi1"),
        "bmi2" => has!("bmi2"),
        "fma" => has!("fma"),
        "lzcnt" => has!("lzcnt"),
        "f16c" => has!("f16c"),
        "movbe" => has!("movbe"),
        "aes" => has!("aes"),
        "pclmul" => has!("pclmulqdq"),
        "sha" => has!("sha"),
        "adx" => has!("adx"),
        "rdrnd" => has!("rdrand"),
        "rdseed" => has!("rdseed"),
        "cx16" => has!("cmpxchg16b"),
        "xsave" => has!("xsave"),
        "xsaveopt" => has!("xsaveopt"),
        "xsavec" => has!("xsavec"),
        "xsaves" => has!("xsaves"),
        "tbm" => has!("tbm"),
        "avx512f" => has!("avx512f"),
        "avx512bw" => has!("avx512bw"),
        "avx512cd" => has!("avx512cd"),
        "avx512dq" => has!("avx512dq"),
        "avx512vl" => has!("avx512vl"),
        "avx512ifma" => has!("avx512ifma"),
        "avx512vbmi" => has!("avx512vbmi"),
        "avx512vbmi2" => has!("avx512vbmi2"),
        "avx512vnni" => has!("avx512vnni"),
        "avx512bitalg" => has!("avx512bitalg"),
        "avx512vpopcntdq" => has!("avx512vpopcntdq"),
        "avx512bf16" => has!("avx512bf16"),
        "gfni" => has!("gfni"),
        "vaes" => has!("vaes"),
        "vpclmulqdq" => has!("vpclmulqdq"),
        _ => return None,
    })
}

#[cfg(target_arch = "aarch64")]
fn has_feature(name: &str) -> Option<bool> {
    use std::arch::is_aarch64_feature_detected as has;
    Some(match name {
        "neon" => has!("neon"),
        "aes" => has!("aes"),
        "sha2" => has!("sha2"),
        "sha3" => has!("sha3"),
        "crc" => has!("crc"),
        "lse" => has!("lse"),
        "rcpc" => has!("rcpc"),
        "dotprod" => has!("dotprod"),
        "fullfp16" => has!("fp16"),
        "sve" => has!("sve"),
        "sve2" => has!("sve2"),
        "i8mm" => has!("i8mm"),
        "bf16" => has!("bf16"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_features_are_present_and_unknown_ones_ignored() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(first_missing_feature("+sse2,-avx512f,+64bit,+cx8"), None);
        assert_eq!(first_missing_feature(""), None);
    }
}
