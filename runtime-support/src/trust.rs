//! Who may run native code from a universal wasm. Native code inside a wasm file is arbitrary
//! machine code, so waot runs it only when it carries a keyed hash (HMAC-SHA256) made with a
//! key the user trusts:
//!
//! - the user's own key, `$XDG_CONFIG_HOME/waot/key` (or `~/.config/waot/key`), 32 random
//!   bytes in hex, created by `waotc` on first use with mode 0600;
//! - a shared key given as `WAOT_KEY=<64 hex digits>` (for CI pipelines: `waotc` signs with it,
//!   `wrun` trusts it);
//! - keys listed one per line (hex) in `$XDG_CONFIG_HOME/waot/trusted-keys`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::PathBuf;

pub type Key = [u8; 32];

pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d).join("waot")),
        _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/waot")),
    }
}

/// A key written as 64 hex digits (surrounding whitespace ignored); anything else is `None`.
pub fn parse_hex_key(s: &str) -> Option<Key> {
    let digits = s.trim().as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut k = [0u8; 32];
    for (byte, pair) in k.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(k)
}

pub fn key_id(key: &Key) -> [u8; 8] {
    crate::artifact::sha256(key)[..8].try_into().unwrap()
}

pub fn tag(key: &Key, message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Constant-time check of `tag` against `key`.
pub fn verify(key: &Key, message: &[u8], tag: &[u8; 32]) -> bool {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.verify_slice(tag).is_ok()
}

/// The key `waotc` signs with: `WAOT_KEY`, else the user's key, created if missing.
pub fn signing_key() -> Result<Key, String> {
    if let Ok(hex) = std::env::var("WAOT_KEY") {
        return parse_hex_key(&hex).ok_or_else(|| "WAOT_KEY must be 64 hex digits".to_string());
    }
    let dir = config_dir()
        .ok_or("cannot find a configuration directory (set HOME or XDG_CONFIG_HOME)")?;
    let path = dir.join("key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return parse_hex_key(&text)
            .ok_or_else(|| format!("{}: not a key (64 hex digits)", path.display()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut key = [0u8; 32];
    getrandom(&mut key)?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // create_new: if another waotc made the key meanwhile, use theirs.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(format!("{hex}\n").as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(key)
        }
        Err(_) => {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            parse_hex_key(&text).ok_or_else(|| format!("{}: not a key", path.display()))
        }
    }
}

/// Every key `wrun` trusts: `WAOT_KEY`, the user's key, and the trusted-keys list (blank
/// lines and lines starting with `#` skipped). A malformed key is an error naming where it
/// is, never silently dropped: the user meant to trust something.
pub fn trusted_keys() -> Result<Vec<Key>, String> {
    let mut keys = Vec::new();
    if let Ok(hex) = std::env::var("WAOT_KEY") {
        keys.push(parse_hex_key(&hex).ok_or("WAOT_KEY must be 64 hex digits")?);
    }
    if let Some(dir) = config_dir() {
        let own = dir.join("key");
        if let Ok(text) = std::fs::read_to_string(&own) {
            let key = parse_hex_key(&text)
                .ok_or_else(|| format!("{}: not a key (64 hex digits)", own.display()))?;
            keys.push(key);
        }
        let list = dir.join("trusted-keys");
        if let Ok(text) = std::fs::read_to_string(&list) {
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let key = parse_hex_key(line).ok_or_else(|| {
                    format!(
                        "{} line {}: not a key (64 hex digits)",
                        list.display(),
                        n + 1
                    )
                })?;
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

fn getrandom(buf: &mut [u8]) -> Result<(), String> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| format!("cannot read random bytes for a key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_verify_only_with_the_same_key_and_message() {
        let (k1, k2) = ([1u8; 32], [2u8; 32]);
        let t = tag(&k1, b"message");
        assert!(verify(&k1, b"message", &t));
        assert!(!verify(&k2, b"message", &t));
        assert!(!verify(&k1, b"messagf", &t));
        assert_eq!(parse_hex_key(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_hex_key("abc"), None);
        // Multi-byte characters where digits should be: no key, and no panic.
        assert_eq!(parse_hex_key(&format!("é{}", "a".repeat(62))), None);
        assert_eq!(parse_hex_key(&format!("{}a", "€".repeat(21))), None);
        assert_eq!(parse_hex_key(&format!("{}ü", "a".repeat(62))), None);
    }
}
