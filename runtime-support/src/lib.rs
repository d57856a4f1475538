//! The contract shared by the waot compiler (`waotc`) and loader (`wrun`, the embedding API).
//!
//! Everything both sides must agree on lives here and only here: the layout of the
//! per-instance context (`vmctx`), the builtin functions compiled code calls into the
//! runtime, trap codes, the artifact metadata header and the module description that both
//! sides derive from the same wasm bytes.

pub mod artifact;
pub mod builtins;
pub mod exception;
pub mod gc;
pub mod memory_image;
pub mod module_info;
pub mod profile;
pub mod skeleton;
pub mod trap;
pub mod trust;
pub mod types;
pub mod universal;
pub mod validate;
pub mod vmctx;

pub use artifact::{ArtifactHeader, BoundsStrategy};
pub use builtins::Builtin;
pub use module_info::ModuleInfo;
pub use trap::TrapCode;
pub use vmctx::VmctxLayout;

/// Version of the ABI between compiled code and the loader. Bump on any change to the vmctx
/// layout, the builtin table, trampolines or the artifact format, or of what compiled code
/// promises the runtime (15: an inline GC allocation advances the cursor last, so that code
/// stopped by a signal anywhere leaves a heap the runtime can repair; 16: the personality stub
/// lies outside `.text`; 17: with fuel, only the functions the call graph needs check it at
/// entry, the loader does before each call from the host; 18: the header's content hashes are
/// BLAKE3, `artifact::content_hash`; 19: memory images, `memory_image`, and the skeleton's
/// segments for imaged memories are empty).
pub const ABI_VERSION: u32 = 19;

/// A name a module chose (a function's in the name section, an import's) as it may be
/// printed: control characters are escaped (`\u{1b}`, `\n`), so that a module can neither
/// send escape sequences to a terminal nor break a one-line message into lines of its own.
pub fn printable(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return name.into();
    }
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Folds a command-line parser's error message into one line: its text before the usage
/// summary. Both command lines report usage errors this way, with exit status 1.
pub fn one_line_usage_error(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    lines.join(" ").trim_start_matches("error: ").to_string()
}
